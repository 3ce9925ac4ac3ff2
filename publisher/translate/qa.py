"""Quality checks a translation must pass before it is accepted. Pure functions.

Each check returns a Check(name, ok, detail); a failed check says which and why.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

from ..langid import detect_language

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

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


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
) -> list[Check]:
    """``source`` and ``output``: the same number of texts (title and paragraphs)."""
    checks: list[Check] = []
    empty = [i for i, text in enumerate(output) if not text.strip()]
    ok = len(output) == len(source) and not empty
    checks.append(Check("not-empty", ok, "" if ok else f"empty output for text(s) {empty or 'count mismatch'}"))
    source_text, output_text = "\n".join(source), "\n".join(output)

    if tgt not in CYRILLIC_LANGS:
        allowed = {w for term in protected for w in _CYRILLIC_WORD.findall(term)}
        left = [w for w in _CYRILLIC_WORD.findall(output_text) if w not in allowed]
        checks.append(Check("no-cyrillic", not left, f"Cyrillic left in the output: {', '.join(left[:5])}" if left else ""))

    if len(output_text) >= 40:
        candidates = set(language_candidates) | {src, tgt}
        found = detect_language(output_text, candidates)
        checks.append(Check("language", found == tgt, "" if found == tgt else f"output reads as {found!r}, not {tgt!r}"))

    missing_numbers = sorted(_numbers(source_text) - _numbers(output_text))
    if missing_numbers and _MONTHS.search(output_text):
        missing_numbers = [n for n in missing_numbers if not 1 <= n <= 12]  # a month written as a word
    if missing_numbers and _WORD_NUMBERS.search(output_text):
        missing_numbers = [n for n in missing_numbers if n > 10]  # small numbers spelt out
    checks.append(Check("numbers", not missing_numbers,
                        f"numbers missing from the output: {missing_numbers[:8]}" if missing_numbers else ""))

    lost = [u for u in _URL.findall(source_text) + _EMAIL.findall(source_text) if u not in output_text]
    checks.append(Check("urls-emails", not lost, f"not kept verbatim: {', '.join(lost[:5])}" if lost else ""))

    latin_quotes = [q.strip() for q in _QUOTED.findall(source_text) if q.strip() and not _CYRILLIC_WORD.search(q)]
    lost_quotes = [q for q in latin_quotes if q not in output_text]
    checks.append(Check("quoted-names", not lost_quotes,
                        f"quoted names not kept: {', '.join(lost_quotes[:5])}" if lost_quotes else ""))

    ratio = len(output_text) / max(1, len(source_text))
    ok = min_ratio <= ratio <= max_ratio
    checks.append(Check("length-ratio", ok, "" if ok else f"output/source length {ratio:.2f} outside {min_ratio}–{max_ratio}"))
    return checks


def failures(checks: Iterable[Check]) -> list[Check]:
    return [c for c in checks if not c.ok]


def describe(checks: Iterable[Check]) -> str:
    return "; ".join(f"{c.name}: {c.detail}" for c in failures(checks))
