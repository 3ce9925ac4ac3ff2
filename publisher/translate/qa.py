"""Quality checks a translation must pass before it is accepted. Pure functions.

Each check returns a Check(name, ok, detail, spans, blocking); a failed check says which and
why, and ``spans`` points at the offending words (qa_meaning.py describes a span). A failed
*blocking* check rejects the output (the next engine in the chain is tried); a failed
meaning check (negation, number-format, names, untranslated) does not: the output is kept
with the failure recorded, and under ``publish = "checked"`` it waits for staff review.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from ..langid import detect_language
from . import qa_meaning
from .qa_meaning import Pair, Span

CYRILLIC_LANGS = frozenset({"mk", "bg", "sr", "ru", "uk", "be"})
_CYRILLIC_WORD = re.compile(r"[\u0400-\u04FF]+(?:[-'][\u0400-\u04FF]+)*")
_URL = re.compile(r"\b(?:https?://|www\.)[^\s<>„“”\"')]+[^\s<>„“”\"').,;:!?]")
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
_QUOTED = re.compile(r"[„“\"«]([^„“”\"«»]{2,80})[“”\"»]")
_MONTHS = re.compile(
    r"\b(jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|janar|shkurt|mars|prill|maj|qershor|korrik|gusht|"
    r"shtator|tetor|nëntor|dhjetor)\w*", re.IGNORECASE,
)
_WORD_NUMBERS = re.compile(r"\b(one|two|three|four|five|six|seven|eight|nine|ten|një|dy|tre|katër|pesë)\b", re.I)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""
    spans: tuple[Span, ...] = ()
    blocking: bool = True  # a failure rejects the output; False: recorded, held under "checked"

    def as_dict(self) -> dict[str, object]:
        found = asdict(self)
        found["spans"] = [dict(s) for s in self.spans]
        return found


def _spans_of(words: Iterable[str], texts: Sequence[str], side: str) -> tuple[Span, ...]:
    """Spans for words found verbatim in ``texts`` (first occurrence of each); a word not
    found is still named, without offsets."""
    spans: list[Span] = []
    for word in dict.fromkeys(words):
        for i, text in enumerate(texts):
            at = text.find(word)
            if at >= 0:
                spans.append({"side": side, "text": i, "start": at, "end": at + len(word), "words": [word]})
                break
        else:
            spans.append({"side": side, "words": [word]})
    return tuple(spans)


def _numbers(text: str) -> set[int]:
    values = set()
    for token in _NUMBER.findall(text):
        parts = re.split(r"[.,]", token)
        # 1.000 / 1,000 / 1 000 → one number; 12.03.2024 → its parts
        if len(parts) > 1 and all(len(p) == 3 for p in parts[1:]) and len(parts[0]) <= 3:
            values.add(int("".join(parts)))
        else:
            values.update(int(p) for p in parts if p)
    return values


def check_translation(
    source: Sequence[str],
    output: Sequence[str],
    src: str,
    tgt: str,
    protected: Iterable[str] = (),
    min_ratio: float = 0.4,
    max_ratio: float = 2.5,
    language_candidates: Iterable[str] = (),
    segments: Sequence[Pair] | None = None,
    max_untranslated_share: float = 0.10,
) -> list[Check]:
    """``source`` and ``output``: the same number of texts (title and paragraphs).
    ``segments``: the aligned (text index, source offset, source sentence, target offset,
    target sentence) the engine translated, for the per-sentence checks; by default the
    texts are split into sentences and aligned when both sides have as many."""
    checks: list[Check] = []
    empty = [i for i, text in enumerate(output) if not text.strip()]
    ok = len(output) == len(source) and not empty
    checks.append(Check("not-empty", ok, "" if ok else f"empty output for text(s) {empty or 'count mismatch'}"))
    source_text, output_text = "\n".join(source), "\n".join(output)

    if tgt not in CYRILLIC_LANGS:
        allowed = {w for term in protected for w in _CYRILLIC_WORD.findall(term)}
        left = [w for w in _CYRILLIC_WORD.findall(output_text) if w not in allowed]
        checks.append(Check("no-cyrillic", not left, f"Cyrillic left in the output: {', '.join(left[:5])}" if left else "",
                            _spans_of(left[:20], output, "target")))

    if len(output_text) >= 40:
        candidates = set(language_candidates) | {src, tgt}
        found = detect_language(output_text, candidates)
        if found is None:  # the detector is not sure (a short text, many names): held, not rejected
            checks.append(Check("language", False, f"the output's language could not be told for sure (expected "
                                f"{tgt!r})", blocking=False))
        else:
            checks.append(Check("language", found == tgt,
                                "" if found == tgt else f"output reads as {found!r}, not {tgt!r}"))

    missing_numbers = sorted(_numbers(source_text) - _numbers(output_text))
    if missing_numbers and _MONTHS.search(output_text):
        missing_numbers = [n for n in missing_numbers if not 1 <= n <= 12]  # a month written as a word
    if missing_numbers and _WORD_NUMBERS.search(output_text):
        missing_numbers = [n for n in missing_numbers if n > 10]  # small numbers spelt out
    checks.append(Check("numbers", not missing_numbers,
                        f"numbers missing from the output: {missing_numbers[:8]}" if missing_numbers else "",
                        _number_spans(missing_numbers[:20], source)))

    lost = [u for u in _URL.findall(source_text) + _EMAIL.findall(source_text) if u not in output_text]
    checks.append(Check("urls-emails", not lost, f"not kept verbatim: {', '.join(lost[:5])}" if lost else "",
                        _spans_of(lost[:20], source, "source")))

    latin_quotes = [q.strip() for q in _QUOTED.findall(source_text) if q.strip() and not _CYRILLIC_WORD.search(q)]
    lost_quotes = [q for q in latin_quotes if q not in output_text]
    checks.append(Check("quoted-names", not lost_quotes,
                        f"quoted names not kept: {', '.join(lost_quotes[:5])}" if lost_quotes else "",
                        _spans_of(lost_quotes[:20], source, "source")))

    ratio = len(output_text) / max(1, len(source_text))
    ok = min_ratio <= ratio <= max_ratio
    checks.append(Check("length-ratio", ok, "" if ok else f"output/source length {ratio:.2f} outside {min_ratio}–{max_ratio}"))
    checks.extend(meaning_checks(source, output, src, tgt, segments, max_untranslated_share))
    return checks


def meaning_checks(source: Sequence[str], output: Sequence[str], src: str, tgt: str,
                   segments: Sequence[Pair] | None = None, max_untranslated_share: float = 0.10) -> list[Check]:
    """The checks that catch meaning errors (issue 11); none of them rejects the output."""
    pairs = list(segments) if segments is not None else qa_meaning.pairs_of(source, output)
    found = [
        ("negation", qa_meaning.check_negation(pairs, src, tgt)),
        ("number-format", qa_meaning.check_number_format(source, output, src, tgt)),
        ("names", qa_meaning.check_names(source, output, src)),
        ("untranslated", qa_meaning.check_romanised(pairs, src, max_untranslated_share)),
    ]
    return [Check(name, ok, detail, tuple(spans), blocking=False) for name, (ok, detail, spans) in found]


def _number_spans(numbers: Iterable[int], texts: Sequence[str]) -> tuple[Span, ...]:
    spans: list[Span] = []
    for number in numbers:
        for i, text in enumerate(texts):
            m = re.search(rf"(?<!\d){number}(?!\d)", text) or re.search(
                r"(?<![\d.,])" + r"[.,\s]?".join(str(number)) + r"(?!\d)", text)
            if m:
                spans.append({"side": "source", "text": i, "start": m.start(), "end": m.end(), "words": [m.group(0)]})
                break
        else:
            spans.append({"side": "source", "words": [str(number)]})
    return tuple(spans)


def failures(checks: Iterable[Check]) -> list[Check]:
    """Every failed check (a translation with any of them is held under ``publish = "checked"``)."""
    return [c for c in checks if not c.ok]


def rejections(checks: Iterable[Check]) -> list[Check]:
    """The failed blocking checks: the output is not used."""
    return [c for c in checks if not c.ok and c.blocking]


def describe(checks: Iterable[Check]) -> str:
    return "; ".join(f"{c.name}: {c.detail}" for c in failures(checks))
