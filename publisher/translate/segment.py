"""Sentence segmentation for Macedonian (and Latin-script) news text, and splitting of long
sentences under an engine's per-request cap. Pure functions."""

from __future__ import annotations

import hashlib
import re

from ..cleaning import normalise_line

# abbreviations after which a full stop does not end a sentence (lower-case, without the dot)
ABBREVIATIONS = frozenset(
    """
    г год бр ул д-р м-р проф доц акад св т.е итн сл стр мил млрд ден чл ст ал тел факс пр
    вкл околу јан фев мар апр јун јул авг сеп септ окт ное дек ср м.р н.е п.н.е
    mr mrs ms dr prof st no nr vs etc e.g i.e approx jan feb mar apr jun jul aug sep sept oct nov dec
    """.split()
)
_BOUNDARY = re.compile(r"([.!?…]+)([\"'”“»)\]]*)(\s+)(?=[\"'„“«(\[]?[A-ZА-ЯЀ-ЏЃЌЅЈЉЊЏ0-9])")
_LAST_WORD = re.compile(r"([\w.-]+)$")


def split_sentences(text: str) -> list[str]:
    """Split a paragraph into sentences; the pieces joined with one space give the text back
    (modulo the spaces between sentences)."""
    text = text.strip()
    if not text:
        return []
    sentences: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        before = text[start : match.start(1)]
        word = _LAST_WORD.search(before)
        last = word.group(1).lower() if word else ""
        if match.group(1) == "." and (last in ABBREVIATIONS or (len(last) == 1 and last.isalpha())):
            continue  # "д-р Петров", "Н. Груевски"
        end = match.end(2)
        sentences.append(text[start:end].strip())
        start = match.end(3)
    tail = text[start:].strip()
    if tail:
        sentences.append(tail)
    return sentences


def split_long(sentence: str, max_chars: int) -> list[str]:
    """Pieces of at most ``max_chars``, cut after ; : , or at spaces, never inside a word
    unless a single word is longer than the cap."""
    if len(sentence) <= max_chars:
        return [sentence]
    pieces: list[str] = []
    rest = sentence
    while len(rest) > max_chars:
        window = rest[:max_chars]
        cut = max(window.rfind("; "), window.rfind(": "), window.rfind(", "))
        if cut > max_chars // 3:
            cut += 1
        else:
            cut = window.rfind(" ")
            if cut <= 0:
                cut = max_chars
        pieces.append(rest[:cut].strip())
        rest = rest[cut:].strip()
    if rest:
        pieces.append(rest)
    return pieces


BATCHED_ENGINES = frozenset({"apertium"})  # local: one call for many segments


def segment_key(text: str) -> str:
    """The translation memory's key of one segment: its normalised text, hashed."""
    return hashlib.sha256(normalise_line(text).encode("utf-8")).hexdigest()
