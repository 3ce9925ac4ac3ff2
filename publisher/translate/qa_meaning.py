"""Checks that catch meaning errors (issue 11): negation polarity, numbers/dates/percentages
and amounts in the target language's format, Latin-script names kept, and the share of
romanised (untranslated) words. Pure functions; each failed check names its offending spans.

A span is a dict: ``side`` ("source" or "target"), ``text`` (index of the text: 0 is the
title, then the paragraphs), ``start``/``end`` (character offsets in that text) and
``words`` (the words themselves)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from .segment import split_sentences
from .translit import transliterate_mk

Span = dict[str, object]
Pair = tuple[int, int, str, int, str]  # (text index, source offset, source, target offset, target)

# ---------------------------------------------------------------------- negation
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*['’]?")
NEGATION = {
    "mk": frozenset("""не нема ниту никој никоја никое никои никого никому ништо ничиј никогаш никаде никако
        никаков никаква никакво никакви ниеден ниедна ниедно ниедни без немаше немаат немам немаме немате
        немаш немало немал немала немале""".split()),
    "en": frozenset("""not no never nothing none nobody noone nowhere neither nor without cannot unless lack lacks
        lacked lacking absence absent fail fails failed failing failure unable hardly barely refuse refused refuses
        deny denies denied regardless whatever instead rather non avoid avoided prevent prevented impossible insufficient
        inadequate invalid illegal irregular incapable""".split()),
    "sq": frozenset("""nuk mos asnjë asnje kurrë kurre askush asgjë asgje askund asnjëherë asnjëri as pa jo""".split()),
}
_EN_NT = ("n't", "n’t")
# English negation inside a word: un-, non-, dis-agree, -less (the words that start so but do not negate are listed)
_EN_PREFIXED = re.compile(r"^(?:un[a-z]{3,}|non-?[a-z]{3,}|dis(?:agree|regard|like|approv|satisf|continu|allow|miss)[a-z]*|"
                          r"[a-z]{3,}less(?:ly|ness)?)$")
_EN_NOT_NEGATIVE = frozenset("""under understand understanding understood undertake undertaken undertaking undertook
    united union unions unit units unity universe universal university universities unique uniform unify unified
    unanimous unanimously unicef unesco unhcr unless until unto nonetheless nevertheless bless unleash""".split())
# Macedonian negation words that do not negate in these phrases: "без разлика/оглед" (regardless),
# "додека не" (until: the "не" is expletive)
_MK_NOT_NEGATIVE = re.compile(r"\b(?:без\s+(?:разлика|оглед)|додека\s+не)\b", re.IGNORECASE)
_SQ_S = ("s'", "s’")


def negations(text: str, lang: str) -> list[tuple[int, int, str]]:
    """(start, end, word) of every negation marker in ``text`` (per language word lists;
    English "n't", Albanian "s'" are clitics on the next/previous word)."""
    words = NEGATION.get(lang)
    if words is None:
        return []
    skip = [(m.start(), m.end()) for m in _MK_NOT_NEGATIVE.finditer(text)] if lang == "mk" else []
    found = []
    for m in _WORD.finditer(text):
        token = m.group(0).lower()
        if any(a <= m.start() < b for a, b in skip):
            continue
        if (token in words or (lang == "sq" and token.startswith(_SQ_S))
                or (lang == "en" and (token.endswith(_EN_NT) or (
                    token not in _EN_NOT_NEGATIVE and _EN_PREFIXED.match(token.replace("’", "'")) is not None)))):
            found.append((m.start(), m.end(), m.group(0)))
    return found


def pairs_of(source: Sequence[str], output: Sequence[str]) -> list[Pair]:
    """Aligned (text, offset, source segment, offset, target segment): sentence by sentence
    when both sides of a text split into as many sentences, else the whole text."""
    pairs: list[Pair] = []
    for i, (src, out) in enumerate(zip(source, output)):
        a, b = split_sentences(src), split_sentences(out)
        if len(a) > 1 and len(a) == len(b):
            pos_a = pos_b = 0
            for s, t in zip(a, b):
                pos_a, pos_b = max(0, src.find(s, pos_a)), max(0, out.find(t, pos_b))
                pairs.append((i, pos_a, s, pos_b, t))
                pos_a, pos_b = pos_a + len(s), pos_b + len(t)
        else:
            pairs.append((i, 0, src, 0, out))
    return pairs


def negation_lost(src_text: str, out_text: str, src: str, tgt: str) -> list[tuple[int, int, str]]:
    """The source's negation markers when the segment negates and its translation does not."""
    if src not in NEGATION or tgt not in NEGATION:
        return []
    found = negations(src_text, src)
    return found if found and not negations(out_text, tgt) else []


def check_negation(pairs: Sequence[Pair], src: str, tgt: str) -> tuple[bool, str, list[Span]]:
    spans: list[Span] = []
    lines = []
    for text, s_off, s_seg, t_off, t_seg in pairs:
        lost = negation_lost(s_seg, t_seg, src, tgt)
        if not lost:
            continue
        words = [w for _, _, w in lost]
        spans.extend({"side": "source", "text": text, "start": s_off + a, "end": s_off + b, "words": [w]}
                     for a, b, w in lost)
        spans.append({"side": "target", "text": text, "start": t_off, "end": t_off + len(t_seg), "words": [t_seg]})
        lines.append(f"“{_short(s_seg)}” negates ({', '.join(words)}) but “{_short(t_seg)}” does not")
    return not lines, "; ".join(lines[:3]), spans


# ---------------------------------------------------------------------- numbers in target format
# thousands and decimal separators: mk/sq write 1.500,5; en writes 1,500.5
_GROUP = {"mk": ".", "sq": ".", "en": ","}
_MONTH_NAMES = {
    "mk": ["јануари", "февруари", "март", "април", "мај", "јуни", "јули", "август", "септември", "октомври",
           "ноември", "декември"],
    "en": ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
           "november", "december"],
    "sq": ["janar", "shkurt", "mars", "prill", "maj", "qershor", "korrik", "gusht", "shtator", "tetor", "nëntor",
           "dhjetor"],
}
_PERCENT = {"mk": r"%|\s?(?:отсто|процент[иа]?)\b", "en": r"%|\s?(?:per ?cent|percent)\b",
            "sq": r"%|\s?(?:për ?qind|perqind)\b"}
_MULTIPLIERS = {  # word → value, per language
    "mk": {"илјада": 3, "илјади": 3, "милион": 6, "милиони": 6, "милијарда": 9, "милијарди": 9},
    "en": {"thousand": 3, "thousands": 3, "million": 6, "millions": 6, "billion": 9, "billions": 9,
           "k": 3, "m": 6, "mn": 6, "bn": 9},  # £2.8bn, €125m
    "sq": {"mijë": 3, "mije": 3, "milion": 6, "milionë": 6, "miliona": 6, "miliard": 9, "miliardë": 9},
}
_FORMATTED = re.compile(r"(?<![\d.,])\d{1,3}(?:([.,])\d{3})+(?:([.,])\d+)?(?![\d])|(?<![\d.,])\d+([.,])\d{1,2}(?![\d.,])")
_ORDINAL = {"mk": re.compile(r"\b(\d{1,4})\s?-?(?:ти|ви|ри|ми)\b"), "en": re.compile(r"\b(\d{1,4})(?:st|nd|rd|th)\b"),
            "sq": re.compile(r"\b(\d{1,4})-(?:të|ta|ti)\b")}


def _value(token: str, lang: str) -> float | None:
    """The value of a formatted number written in ``lang``'s convention (None if it is not)."""
    group = _GROUP.get(lang)
    if group is None:
        return None
    decimal = "," if group == "." else "."
    parts = token.split(decimal)
    if len(parts) > 2:
        return None
    whole = parts[0].split(group)
    if len(whole) > 1 and not all(len(g) == 3 for g in whole[1:]):
        return None
    try:
        return float("".join(whole) + ("." + parts[1] if len(parts) == 2 else ""))
    except ValueError:
        return None


def check_number_format(source: Sequence[str], output: Sequence[str], src: str, tgt: str
                        ) -> tuple[bool, str, list[Span]]:
    """A separated number (1.500 / 2,5) is written in the target's convention; a date's month
    is named in the target language; a percentage stays a percentage; an amount keeps its
    multiplier (милиони → million); an ordinal (20-ти) stays an ordinal (20th)."""
    if _GROUP.get(src) is None or _GROUP.get(tgt) is None:
        return True, "", []
    spans: list[Span] = []
    problems: list[str] = []

    def flag(i: int, side: str, m: re.Match[str] | tuple[int, int, str], why: str) -> None:
        start, end, text = (m.start(), m.end(), m.group(0)) if isinstance(m, re.Match) else m
        spans.append({"side": side, "text": i, "start": start, "end": end, "words": [text]})
        problems.append(why)

    for i, (s, o) in enumerate(zip(source, output)):
        out_values = {v for m in _FORMATTED.finditer(o) if (v := _value(m.group(0), tgt)) is not None}
        out_plain = {float(d) for d in re.findall(r"\d+", o)}
        for m in _FORMATTED.finditer(s):
            value = _value(m.group(0), src)
            if value is None or value in out_values or value in out_plain:
                continue
            # the source's digits are there but written the source's way (1.500 left in English)
            same = [n for n in _FORMATTED.finditer(o) if n.group(0) == m.group(0)]
            if same and _GROUP[src] != _GROUP[tgt]:
                flag(i, "target", same[0], f"“{m.group(0)}” is left in {src} format in the {tgt} text")
        low_s, low_o = s.lower(), o.lower()
        for month, name in enumerate(_MONTH_NAMES.get(src, [])):
            for m in re.finditer(rf"\b(\d{{1,2}})\.?\s+{name}\b", low_s):
                target_name = _MONTH_NAMES[tgt][month] if tgt in _MONTH_NAMES else ""
                day = m.group(1)
                # "20 November", "November 20th", "Nov. 20"
                if not (re.search(rf"\b{target_name[:3]}", low_o) and re.search(rf"\b{day}(?!\d)", low_o)):
                    flag(i, "source", m, f"date “{s[m.start():m.end()]}” is not “{day} {target_name.title()}” in the translation")
        pct_s, pct_o = _PERCENT.get(src), _PERCENT.get(tgt)
        if pct_s and pct_o:
            for m in re.finditer(rf"(\d+(?:[.,]\d+)?)(?:{pct_s})", s, re.IGNORECASE):
                number = m.group(1)
                wanted = _value(number, src)
                found = [_value(n, tgt) for n in re.findall(rf"(\d+(?:[.,]\d+)?)(?:{pct_o})", o, re.IGNORECASE)]
                if wanted not in found:
                    flag(i, "source", m, f"percentage “{m.group(0)}” is not a percentage in the translation")
        mult_s, mult_o = _MULTIPLIERS.get(src, {}), _MULTIPLIERS.get(tgt, {})
        for m in re.finditer(r"(\d+(?:[.,]\d+)?)\s+([^\W\d_]+)", s):
            power = mult_s.get(m.group(2).lower())
            if power is None:
                continue
            words_o = {w.lower() for w in _WORD.findall(o)}
            value = _value(m.group(1), src) or 0
            if not any(mult_o.get(w) == power for w in words_o) and value * 10**power not in out_plain | out_values:
                flag(i, "source", m, f"amount “{m.group(0)}” lost its multiplier in the translation")
        ord_s, ord_o = _ORDINAL.get(src), _ORDINAL.get(tgt)
        if ord_s and ord_o:
            have = set(ord_o.findall(o))
            for m in ord_s.finditer(s):
                if m.group(1) not in have:
                    flag(i, "source", m, f"ordinal “{m.group(0)}” is not an ordinal in the translation")
    return not problems, "; ".join(problems[:5]), spans


# ---------------------------------------------------------------------- Latin-script names
_LATIN_NAME = re.compile(r"\b[A-Za-z][A-Za-z0-9&.-]*[A-Za-z0-9]\b")
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")


def check_names(source: Sequence[str], output: Sequence[str], src: str) -> tuple[bool, str, list[Span]]:
    """In a Cyrillic source, a word in Latin letters (an organisation, a brand, an acronym:
    IOM, UNICEF, Frontex) is a name: the translation keeps it as it is."""
    if src != "mk":
        return True, "", []
    spans: list[Span] = []
    lost: list[str] = []
    for i, (s, o) in enumerate(zip(source, output)):
        if not _CYRILLIC.search(s):
            continue
        for m in _LATIN_NAME.finditer(s):
            name = m.group(0)
            if not (any(c.isupper() for c in name) or any(c.isdigit() for c in name)):
                continue
            if not re.search(rf"(?<![A-Za-z0-9]){re.escape(name)}(?:s|'s|’s)?(?![A-Za-z0-9])", o):  # MWPs
                spans.append({"side": "source", "text": i, "start": m.start(), "end": m.end(), "words": [name]})
                lost.append(name)
    return not lost, (f"names not kept: {', '.join(dict.fromkeys(lost[:8]))}" if lost else ""), spans


# ---------------------------------------------------------------------- romanised words
_LATIN_WORD = re.compile(r"[A-Za-z]+(?:['’-][A-Za-z]+)*")
_CYR_WORD = re.compile(r"[\u0400-\u04FF]+(?:-[\u0400-\u04FF]+)*")


def romanised_words(pairs: Sequence[Pair], src: str) -> tuple[list[Span], int]:
    """Target words that are the romanisation of a source word (the engine did not know it;
    translit.py), and the number of target words. A source word written with a capital
    inside a sentence is a name, and a name is romanised on purpose: not counted."""
    if src != "mk":
        return [], sum(len(_WORD.findall(t)) for _, _, _, _, t in pairs)
    spans: list[Span] = []
    total = 0
    for text, _s_off, s_seg, t_off, t_seg in pairs:
        romanised: dict[str, str] = {}
        for n, m in enumerate(_CYR_WORD.finditer(s_seg)):
            word = m.group(0)
            first = n == 0 or bool(re.search(r"[.!?:„“\"]\s*$", s_seg[: m.start()]))
            if word[0].isupper() and not first:
                continue  # a name
            latin = transliterate_mk(word).lower()
            if len(latin) >= 3:
                romanised[latin] = word
        words = [m for m in _LATIN_WORD.finditer(t_seg) if not m.group(0).startswith("XTAGX")]
        total += len(words)
        for m in words:
            if m.group(0).lower() in romanised:
                spans.append({"side": "target", "text": text, "start": t_off + m.start(), "end": t_off + m.end(),
                              "words": [m.group(0)]})
    return spans, total


MIN_ROMANISED = 2  # one romanised word in a short title (a loanword, a name) is not "over the share"


def check_romanised(pairs: Sequence[Pair], src: str, max_share: float) -> tuple[bool, str, list[Span]]:
    spans, total = romanised_words(pairs, src)
    share = len(spans) / total if total else 0.0
    ok = share <= max_share or len(spans) < MIN_ROMANISED
    words = ", ".join(dict.fromkeys(str(s["words"][0]) for s in spans[:12]))  # type: ignore[index]
    detail = f"{len(spans)} of {total} words ({share:.0%}) are romanised, not translated: {words}" if spans else ""
    if not ok:
        detail += f" (more than {max_share:.0%}: [translation] max_untranslated_share)"
    return ok, detail, spans


def _short(text: str, n: int = 70) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


_PLACEHOLDER = re.compile(r"\s*XTAGX\d+\s*")


def segment_pairs(sources: Sequence[str], outputs: Sequence[str], source_segments: Sequence[Sequence[str]],
                  output_segments: Sequence[Sequence[str]]) -> list[Pair]:
    """Aligned pairs from the segments an engine translated one by one (the service's
    sentences), with their offsets in the texts (markup placeholders left out)."""
    pairs: list[Pair] = []
    for i, (src, out, segs_a, segs_b) in enumerate(zip(sources, outputs, source_segments, output_segments)):
        pos_a = pos_b = 0
        for a, b in zip(segs_a, segs_b):
            a, b = _PLACEHOLDER.sub(" ", a).strip(), _PLACEHOLDER.sub(" ", b).strip()
            at_a, at_b = src.find(a, pos_a), out.find(b, pos_b)
            at_a, at_b = (at_a if at_a >= 0 else pos_a), (at_b if at_b >= 0 else pos_b)
            pairs.append((i, at_a, a, at_b, b))
            pos_a, pos_b = at_a + (len(a) if src.find(a, at_a) == at_a else 0), at_b + (len(b) if out.find(b, at_b) == at_b else 0)
    return pairs
