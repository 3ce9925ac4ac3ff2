"""Bytes → text for files and HTTP bodies in any common encoding.

Order: a BOM (UTF-8, UTF-16, UTF-32) decides; else strict UTF-8; else UTF-16 without BOM when
every other byte is NUL; else charset-normalizer's best guess among the encodings a
Macedonian site uses (Windows-1251, ISO-8859-5, KOI8-R/U, MacCyrillic, Windows-1250/1252).
Binary data and bytes no encoding explains raise ItemRejected with the reason.
"""

from __future__ import annotations

import codecs
import re

from charset_normalizer import from_bytes

from ..errors import ItemRejected

_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_CANDIDATES = ["cp1251", "iso8859_5", "koi8_r", "koi8_u", "mac_cyrillic", "cp1250", "cp1252", "iso8859_2"]
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_MAGIC = {
    b"%PDF": "a PDF document",
    b"PK\x03\x04": "a ZIP archive (or .docx/.odt)",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"GIF8": "a GIF image",
    b"\xd0\xcf\x11\xe0": "an old Microsoft Office document",
    b"\x1f\x8b": "a gzip archive",
    b"\x7fELF": "an executable",
}


_UTF16_HIGH = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x20}


def _utf16_without_bom(data: bytes) -> str | None:
    """UTF-16 without a BOM: the high byte of each unit comes from the few blocks news text
    uses (0x00 ASCII/Latin-1, 0x01-0x02 Latin extended, 0x03 Greek, 0x04-0x05 Cyrillic,
    0x20 punctuation such as „ “ –) and the decoded text is printable."""
    if len(data) < 8 or len(data) % 2:
        return None
    for encoding, high in (("utf-16-le", data[1::2]), ("utf-16-be", data[0::2])):
        if not set(high) <= _UTF16_HIGH or 0 not in high:
            continue
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text[:4096])
        if printable >= 0.97 * min(len(text), 4096):
            return encoding
    return None


def _looks_binary(text: str) -> bool:
    sample = text[:4096]
    return bool(sample) and len(_CONTROL.findall(sample)) > max(2, len(sample) // 100)


_EMPTY = "empty file: it has no text; put the release's title and body in it"


def decode_bytes(data: bytes, declared: str | None = None) -> tuple[str, str]:
    """Return (text, encoding). ``declared`` (an HTTP or meta charset) is tried after BOMs."""
    text, encoding = _decode(data, declared)
    # a lone BOM, or UTF-16 / non-ASCII spaces only, is as empty as a zero-byte file
    if not text.replace("\ufeff", "").strip():
        raise ItemRejected(_EMPTY)
    return text, encoding


def _decode(data: bytes, declared: str | None) -> tuple[str, str]:
    if not data.strip():
        raise ItemRejected(_EMPTY)
    for magic, what in _MAGIC.items():
        if data.startswith(magic):
            raise ItemRejected(f"binary file ({what}), not text; save the release as .txt, .md or .html")
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(encoding), encoding
            except UnicodeDecodeError as exc:
                raise ItemRejected(f"undecodable bytes: starts with a {encoding} mark but {exc}") from None
    utf16 = _utf16_without_bom(data)
    if utf16:
        return data.decode(utf16), utf16
    for encoding in ([declared] if declared else []) + ["utf-8"]:
        try:
            text = data.decode(encoding)
        except (UnicodeDecodeError, LookupError):
            continue
        if _looks_binary(text):
            raise ItemRejected("binary file: it is full of control characters, not text")
        return text, encoding
    if b"\x00" in data[:4096]:
        raise ItemRejected("binary file: it contains NUL bytes, not text")
    best = from_bytes(data, cp_isolation=_CANDIDATES).best()
    if best is None or best.chaos > 0.3:
        raise ItemRejected(
            "undecodable bytes: not UTF-8 and no common Cyrillic or Latin encoding fits; "
            "save the file as UTF-8"
        )
    text = str(best)
    if _looks_binary(text):
        raise ItemRejected("binary file: it is full of control characters, not text")
    return text, best.encoding
