"""publisher.sources.decode.decode_bytes: every common encoding in, the same text out."""

from __future__ import annotations

import codecs
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publisher.errors import ItemRejected
from publisher.sources.decode import decode_bytes

from .conftest import SAMPLE

TEXT = SAMPLE.read_text(encoding="utf-8")

ALBANIAN = (
    "Organizata Ndërkombëtare për Migracion (IOM) organizoi një takim me shefat e shërbimeve "
    "kufitare të Ballkanit Perëndimor.\n\nÇështjet e migracionit u diskutuan gjerësisht, "
    "përfshirë bashkëpunimin rajonal dhe shkëmbimin e informacionit për çdo vend."
)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(TEXT.encode("utf-8"), id="utf-8"),
        pytest.param(codecs.BOM_UTF8 + TEXT.encode("utf-8"), id="utf-8-bom"),
        pytest.param(TEXT.encode("cp1251"), id="windows-1251"),
        pytest.param(TEXT.encode("utf-16"), id="utf-16-bom"),
        pytest.param(codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), id="utf-16-be-bom"),
        pytest.param(TEXT.encode("utf-16-le"), id="utf-16-le-no-bom"),
        pytest.param(TEXT.encode("utf-16-be"), id="utf-16-be-no-bom"),
        pytest.param(TEXT.encode("utf-32"), id="utf-32-bom"),
        pytest.param(codecs.BOM_UTF32_BE + TEXT.encode("utf-32-be"), id="utf-32-be-bom"),
        pytest.param(TEXT.replace("\n", "\r\n").encode("utf-8"), id="utf-8-crlf"),
    ],
)
def test_sample_decodes_to_the_same_text(data):
    text, encoding = decode_bytes(data)
    assert text.replace("\r\n", "\n") == TEXT
    assert not text.startswith("\ufeff"), "the byte order mark must not stay in the text"
    assert "ИОМ организираше состанок" in text
    codecs.lookup(encoding)  # a real codec name


def test_windows_1251_is_named():
    _, encoding = decode_bytes(TEXT.encode("cp1251"))
    assert codecs.lookup(encoding).name == "cp1251"


def test_utf16_without_bom_names_the_byte_order():
    assert decode_bytes(TEXT.encode("utf-16-le"))[1] == "utf-16-le"
    assert decode_bytes(TEXT.encode("utf-16-be"))[1] == "utf-16-be"


@pytest.mark.parametrize("encoding", ["cp1250", "cp1252", "iso8859_2"])
def test_albanian_in_legacy_latin_encodings(encoding):
    text, _ = decode_bytes(ALBANIAN.encode(encoding))
    assert text == ALBANIAN
    assert "ë" in text and "ç" in text and "Ç" in text


def test_short_albanian_line_in_cp1252():
    line = "Çka është kjo? Takim për çështjet e kufirit."
    assert decode_bytes(line.encode("cp1252"))[0] == line


def test_declared_charset_is_used_and_a_bogus_one_ignored():
    data = TEXT.encode("cp1251")
    assert decode_bytes(data, declared="windows-1251") == (TEXT, "windows-1251")
    assert decode_bytes(TEXT.encode("utf-8"), declared="no-such-charset")[0] == TEXT


def test_bom_beats_a_wrong_declared_charset():
    assert decode_bytes(TEXT.encode("utf-16"), declared="cp1251")[0] == TEXT


# ----------------------------------------------------------------------------- rejections


def _reason(data: bytes) -> str:
    with pytest.raises(ItemRejected) as info:
        decode_bytes(data)
    reason = info.value.reason
    assert reason and str(info.value) == reason
    return reason


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   ",
        b" \n\r\n\t \n",
        b"\x0c\n",
        codecs.BOM_UTF8,
        codecs.BOM_UTF8 + b" \r\n",
        "  \n\n ".encode("utf-16"),
        "   \n\n    ".encode("utf-16-le"),
        " \n".encode("utf-32"),
        "\u00a0\u3000 \n\u2009".encode("utf-8"),
    ],
)
def test_empty_or_whitespace_only_is_rejected(data):
    assert "empty" in _reason(data)


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "PDF"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "PNG"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00word/document.xml", "ZIP"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "JPEG"),
        (b"\x1f\x8b\x08\x00" + bytes(40), "gzip"),
    ],
)
def test_binary_formats_are_rejected_by_their_magic(data, what):
    reason = _reason(data)
    assert "binary" in reason and what in reason


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_are_rejected(seed):
    rng = random.Random(seed)
    data = bytes(rng.randrange(256) for _ in range(3000))
    reason = _reason(data)
    assert "binary" in reason or "undecodable" in reason


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_without_nul_are_undecodable(seed):
    rng = random.Random(1000 + seed)
    data = bytes(rng.randrange(1, 256) for _ in range(2000))
    reason = _reason(data)
    assert "undecodable" in reason and "UTF-8" in reason


@pytest.mark.parametrize(
    "data",
    [
        b"title\x00body\x00\x00more\x00text\x00\x00" * 40,
        b"\x00" * 64 + "Наслов".encode("utf-8"),
        b"abc\x01\x02\x03\x04\x05\x06\x07\x08" * 30,
        "Наслов".encode("cp1251") + b"\x00\x00\xff\xfe\x00\x00\x9c" * 20,
    ],
)
def test_nul_and_control_laden_bytes_are_rejected_as_binary(data):
    assert "binary" in _reason(data)


def test_bad_bytes_after_a_bom_are_rejected():
    reason = _reason(codecs.BOM_UTF8 + b"\xff\xfe\xfd not utf-8 \xc3\x28")
    assert "undecodable" in reason and "utf-8" in reason


# ----------------------------------------------------------------------------- properties

CYRILLIC = "абвгдѓежзѕијклљмнњопрстќуфхцчџшАБВГДЃЕЖЗЅИЈКЛЉМНЊОПРСТЌУФХЦЧЏШ"
LATIN = "abcçdeëfghijklmnopqrstuvwxyzABCÇDEËFGHIJKLMNOPQRSTUVWXYZ"
word = st.text(alphabet=CYRILLIC + LATIN + "0123456789", min_size=1, max_size=12)
punctuation = st.sampled_from(["", ".", ",", "!", "?", ":", " –", "„", "“", "(", ")", "%"])
separator = st.sampled_from([" ", " ", " ", "\n", "\n\n", "\r\n", "\t"])
release_text = st.lists(st.tuples(word, punctuation, separator), min_size=2, max_size=60).map(
    lambda parts: "".join(w + p + s for w, p, s in parts).strip()
).filter(lambda text: len(text) >= 4 and " " in text)


@settings(max_examples=150, deadline=None)
@given(release_text, st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"]))
def test_cyrillic_and_latin_text_round_trips(text, encoding):
    assert decode_bytes(text.encode(encoding))[0] == text


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cc", "Cs", "Co", "Cn"]), min_size=1))
def test_any_printable_utf8_text_round_trips(text):
    expected = text.removeprefix("\ufeff")  # a leading BOM is a byte order mark, not text
    if not expected.replace("\ufeff", "").strip():
        with pytest.raises(ItemRejected, match="empty"):
            decode_bytes(text.encode("utf-8"))
    else:
        assert decode_bytes(text.encode("utf-8"))[0] == expected
