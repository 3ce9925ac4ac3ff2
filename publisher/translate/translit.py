"""Macedonian Cyrillic → Latin, by the official romanisation of North Macedonia.

The system used by the Government (and by BGN/PCGN since 2013, and on passports):

    а a   б b   в v   г g   д d   ѓ gj  е e   ж zh  з z   ѕ dz  и i
    ј j   к k   л l   љ lj  м m   н n   њ nj  о o   п p   р r   с s
    т t   ќ kj  у u   ф f   х h   ц c   ч ch  џ dzh ш sh

Capitals: a digraph takes a capital on its first letter only (Ѓорѓи → Gjorgji, Џамија →
Dzhamija) unless the whole word is written in capitals (ДИК → DIK, ЏАМИЈА → DZHAMIJA).
Letters of other Cyrillic alphabets that turn up in Macedonian news (Russian, Serbian,
Bulgarian, Ukrainian names) get a common romanisation, and any other Cyrillic character is
dropped, so that the result never contains Cyrillic. Latin letters, digits and punctuation
pass through unchanged.
"""

from __future__ import annotations

import re

_MK = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "ѓ": "gj", "е": "e", "ж": "zh",
    "з": "z", "ѕ": "dz", "и": "i", "ј": "j", "к": "k", "л": "l", "љ": "lj", "м": "m",
    "н": "n", "њ": "nj", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "ќ": "kj",
    "у": "u", "ф": "f", "х": "h", "ц": "c", "ч": "ch", "џ": "dzh", "ш": "sh",
    # accented forms used in Macedonian to tell homographs apart
    "ѐ": "e", "ѝ": "i",
}  # fmt: skip

_OTHER = {
    # Serbian
    "ђ": "dj", "ћ": "c",
    # Russian / Bulgarian / Ukrainian / Belarusian
    "й": "j", "щ": "sht", "ъ": "a", "ы": "y", "ь": "", "э": "e", "ю": "ju", "я": "ja",
    "ё": "jo", "є": "je", "і": "i", "ї": "ji", "ґ": "g", "ў": "u",
}  # fmt: skip

_TABLE: dict[str, str] = {**_MK, **_OTHER}
_CYRILLIC = re.compile(r"[\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f]+")
_LETTERS = re.compile(r"[^\W\d_]+")


def _char(ch: str, upper_word: bool) -> str:
    low = ch.lower()
    latin = _TABLE.get(low)
    if latin is None:
        return ""  # a Cyrillic character outside every table: drop it rather than leave Cyrillic
    if ch == low:
        return latin
    return latin.upper() if upper_word else latin[:1].upper() + latin[1:]


def _word(match: re.Match[str]) -> str:
    word = match.group(0)
    letters = [c for c in word if c.isalpha()]
    upper_word = len(letters) > 1 and all(c.isupper() for c in letters)
    return "".join(_char(c, upper_word) if _CYRILLIC.match(c) else c for c in word)


def transliterate_mk(text: str) -> str:
    """Romanise every Cyrillic letter in ``text``; everything else is left as it is."""
    if not _CYRILLIC.search(text):
        return text
    return _LETTERS.sub(_word, text)


def has_cyrillic(text: str) -> bool:
    return _CYRILLIC.search(text) is not None
