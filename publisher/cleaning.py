"""Text cleaning shared by every source: pure functions, no I/O.

- Unicode NFC; non-breaking and odd spaces become plain spaces; runs of spaces collapse.
- XML-illegal control characters and zero-width marks are dropped.
- Boilerplate lines (exact, after normalising spaces and case) and patterns (regexes) are
  removed at the start and at the end of the text, never in the middle.
- Paragraphs are kept: blank-line separated blocks; single newlines inside a paragraph are
  joined with a space.
- The title is never repeated as the first paragraph of the body.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff\u00ad]")
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]")
_BLANK_LINES = re.compile(r"\n\s*\n")


@dataclass(frozen=True)
class Boilerplate:
    """Lines to strip at the ends of a release."""

    lines: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "_exact", frozenset(_line_key(line) for line in self.lines))
        object.__setattr__(
            self, "_regexes", tuple(re.compile(p, re.IGNORECASE) for p in self.patterns)
        )

    @classmethod
    def combine(cls, *parts: tuple[Iterable[str], Iterable[str]]) -> Boilerplate:
        lines: list[str] = []
        patterns: list[str] = []
        for part_lines, part_patterns in parts:
            lines.extend(part_lines)
            patterns.extend(part_patterns)
        return cls(tuple(lines), tuple(patterns))

    def matches(self, line: str) -> bool:
        key = _line_key(line)
        if not key:
            return False
        if key in self._exact:  # type: ignore[attr-defined]
            return True
        stripped = normalise_line(line)
        return any(r.search(stripped) for r in self._regexes)  # type: ignore[attr-defined]


def _line_key(line: str) -> str:
    return normalise_line(line).casefold().rstrip(":.")


def normalise_line(line: str) -> str:
    line = _INVISIBLE.sub("", line)
    line = _ILLEGAL.sub("", line)
    # NFC after the removals: dropping a mark between a letter and its accent can make a pair
    line = unicodedata.normalize("NFC", line)
    return _SPACES.sub(" ", line).strip()


def normalise_text(text: str) -> str:
    """Line endings to \\n, every line normalised; blank lines kept as they are."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u2028", "\n").replace("\u2029", "\n\n")
    return "\n".join(normalise_line(line) for line in text.split("\n"))


def strip_boilerplate_lines(lines: Sequence[str], boilerplate: Boilerplate) -> list[str]:
    """Drop boilerplate (and blank) lines from the start and the end."""
    start, end = 0, len(lines)
    while start < end and (not lines[start].strip() or boilerplate.matches(lines[start])):
        start += 1
    while end > start and (not lines[end - 1].strip() or boilerplate.matches(lines[end - 1])):
        end -= 1
    return list(lines[start:end])


def split_paragraphs(text: str) -> list[str]:
    """Blank-line separated blocks; lines inside a block joined by one space."""
    blocks = _BLANK_LINES.split(text)
    paragraphs = []
    for block in blocks:
        joined = " ".join(line.strip() for line in block.split("\n") if line.strip())
        joined = _SPACES.sub(" ", joined).strip()
        if joined:
            paragraphs.append(joined)
    return paragraphs


def same_text(a: str, b: str) -> bool:
    return _compare_key(a) == _compare_key(b)


def _compare_key(text: str) -> str:
    return re.sub(r"[\W_]+", " ", normalise_line(text).casefold()).strip()


def clean_paragraphs(
    title: str, paragraphs: Iterable[str], boilerplate: Boilerplate
) -> tuple[str, list[str]]:
    """Clean a title and its body paragraphs. Returns (title, paragraphs)."""
    # every kind of line break (\r, \u2028, ...) in a title becomes a space
    title = normalise_line(" ".join(normalise_text(title).split("\n")))
    text = normalise_text("\n\n".join(paragraphs))
    lines = strip_boilerplate_lines(text.split("\n"), boilerplate)
    body = split_paragraphs("\n".join(lines))
    # a paragraph that was only boilerplate after joining (e.g. a nav block at the end)
    while body and boilerplate.matches(body[-1]):
        body.pop()
    # boilerplate and repeats of the title, in any order, until the body starts with text
    while body and (boilerplate.matches(body[0]) or (title and same_text(body[0], title))):
        body.pop(0)
    return title, body


def split_title(text: str, boilerplate: Boilerplate) -> tuple[str, list[str]]:
    """Plain text: the first non-empty, non-boilerplate line is the title, the rest the body."""
    lines = strip_boilerplate_lines(normalise_text(text).split("\n"), boilerplate)
    if not lines:
        return "", []
    title, rest = lines[0], lines[1:]
    return clean_paragraphs(title, ["\n".join(rest)], boilerplate)


def content_hash(title: str, paragraphs: Sequence[str]) -> str:
    """sha256 of the normalised title and body: the same words give the same hash."""
    key = "\n".join([_compare_key(title), *(_compare_key(p) for p in paragraphs)])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()
