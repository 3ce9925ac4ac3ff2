"""publisher.cleaning: unit tests and Hypothesis properties of the pure text cleaners."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from publisher.cleaning import (
    Boilerplate,
    clean_paragraphs,
    content_hash,
    normalise_line,
    same_text,
    split_title,
)
from publisher.settings import CleaningSettings

from .conftest import SAMPLE, SAMPLE_TITLE

_DEFAULTS = CleaningSettings()
BP = Boilerplate(tuple(_DEFAULTS.boilerplate_lines), tuple(_DEFAULTS.boilerplate_patterns))
NAV = ("Треба да знаете", "Последни објави")

# characters that must never survive cleaning
_ODD_SPACES = "\t\u00a0\u1680\u2000\u2005\u2009\u200a\u202f\u205f\u3000"
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u00ad"
_ILLEGAL = "".join(chr(c) for c in [*range(0, 9), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, 0xFFFE, 0xFFFF])
_LINE_BREAKS = "\r\n\u2028\u2029\x0b\x0c"
FORBIDDEN = set(_ODD_SPACES + _INVISIBLE + _ILLEGAL + _LINE_BREAKS)

HYPO = settings(max_examples=150, deadline=None)


def assert_clean(title: str, body: list[str]) -> None:
    for text in (title, *body):
        assert "  " not in text, repr(text)
        assert text == text.strip(), repr(text)
        assert not FORBIDDEN & set(text), repr(text)
        assert unicodedata.is_normalized("NFC", text)
    assert all(body), body
    if body:
        assert not BP.matches(body[0]) and not BP.matches(body[-1]), body
        if title:
            assert not same_text(body[0], title), (title, body)


# ----------------------------------------------------------------------------- the sample


def test_sample_title_and_four_clean_paragraphs():
    title, body = split_title(SAMPLE.read_text(encoding="utf-8"), BP)
    assert title == SAMPLE_TITLE
    assert len(body) == 4
    assert body[0].startswith("Меѓународната организација за миграции (ИОМ) го организираше")
    assert body[-1].endswith("реадмисија согласност со меѓународните стандарди.")
    for paragraph in body:
        assert "  " not in paragraph and "\u00a0" not in paragraph and "\n" not in paragraph
        for nav in NAV:
            assert nav not in paragraph
    assert_clean(title, body)
    assert split_title("\n\n".join([title, *body]), BP) == (title, body)


def test_sample_with_crlf_and_tabs_gives_the_same_result():
    text = SAMPLE.read_text(encoding="utf-8")
    messy = "\ufeff\r\n" + text.replace("\n", "\r\n").replace(" ", " \t", 20)
    assert split_title(messy, BP) == split_title(text, BP)


# ----------------------------------------------------------------------------- unit tests


def test_single_newlines_inside_a_paragraph_are_joined():
    assert split_title("Наслов\n\nпрв ред\nвтор ред\n\n\n  трет  \n", BP) == (
        "Наслов",
        ["прв ред втор ред", "трет"],
    )


@pytest.mark.parametrize(
    "nav",
    ["Треба да знаете", "ТРЕБА ДА ЗНАЕТЕ", "  треба\u00a0 да   знаете:", "Последни објави.", "Сподели",
     "Сподели на:", "Share", "share:", "Печати"],
)
def test_boilerplate_variants_are_stripped_at_both_ends(nav):
    title, body = split_title(f"{nav}\n\nНаслов\n\nТекст на соопштението.\n\n{nav}\n{nav}\n", BP)
    assert (title, body) == ("Наслов", ["Текст на соопштението."])


def test_boilerplate_in_the_middle_is_kept():
    text = "Наслов\n\nПрв пасус.\n\nТреба да знаете\n\nСподели\n\nПоследен пасус.\n\nПоследни објави"
    assert split_title(text, BP)[1] == ["Прв пасус.", "Треба да знаете", "Сподели", "Последен пасус."]


def test_boilerplate_words_inside_a_sentence_are_kept_even_at_the_end():
    text = "Наслов\n\nТекст.\n\nТреба да знаете дека рокот истекува утре."
    assert split_title(text, BP)[1] == ["Текст.", "Треба да знаете дека рокот истекува утре."]


def test_navigation_block_split_over_lines_is_removed():
    # "Треба да / знаете" wrapped over two lines is still the nav line once joined
    assert split_title("Наслов\n\nТекст.\n\nТреба да\nзнаете", BP)[1] == ["Текст."]


def test_title_repeated_as_first_paragraph_is_dropped():
    title, body = clean_paragraphs("ИОМ одржа средба", ["ИОМ одржа средба.", "Текст."], BP)
    assert (title, body) == ("ИОМ одржа средба", ["Текст."])
    # different case, spacing and punctuation still count as the same title
    assert clean_paragraphs("Takim  i IOM-it", ["TAKIM I IOM-IT!", "Tekst."], BP)[1] == ["Tekst."]


def test_title_repeated_then_boilerplate_leaves_no_boilerplate_first():
    # regression: dropping the repeated title used to expose a "Share" line as the first paragraph
    for paragraphs in (["Наслов", "Сподели", "Текст."], ["Сподели", "Наслов", "Сподели", "Наслов", "Текст."]):
        result = clean_paragraphs("Наслов", paragraphs, BP)
        assert result == ("Наслов", ["Текст."])
        assert clean_paragraphs(*result, BP) == result
    assert split_title("Наслов\n\nНаслов\n\nShare\n\nТекст.", BP) == ("Наслов", ["Текст."])


def test_title_line_breaks_and_spaces_are_normalised():
    title, _ = clean_paragraphs("  ИОМ\r\nорганизираше\u2028 состанок\t\u00a0 ", ["Текст."], BP)
    assert title == "ИОМ организираше состанок"


def test_control_and_invisible_characters_are_dropped():
    title, body = clean_paragraphs("На\x00слов\u200b", ["Те\x07кст\x1b со\ufeff\u00ad мек\x0c цртичка\x7f."], BP)
    assert (title, body) == ("Наслов", ["Текст со мек цртичка."])


def test_nfc_is_applied_after_dropping_invisible_characters():
    # regression: "e", zero-width space, combining diaeresis used to stay decomposed
    title, body = clean_paragraphs("Nde\u200b\u0308rkombe\uffff\u0308tare", ["c\u00ad\u0327ështja"], BP)
    assert (title, body) == ("Ndërkombëtare", ["çështja"])


def test_unicode_is_nfc_and_albanian_and_cyrillic_letters_survive():
    title, body = clean_paragraphs("Takimi i Ndërkombëtar", ["Çështja e kufirit: e\u0308 c\u0327 ѓ ќ ѕ џ љ њ ј."], BP)
    assert title == "Takimi i Ndërkombëtar"
    assert body == ["Çështja e kufirit: ë ç ѓ ќ ѕ џ љ њ ј."]


def test_only_boilerplate_gives_nothing():
    assert split_title("\n".join(NAV) + "\n\nСподели\n", BP) == ("", [])
    assert split_title("   \n\t\n", BP) == ("", [])


def test_title_only_gives_an_empty_body():
    assert split_title("Само наслов\n\nТреба да знаете\n", BP) == ("Само наслов", [])


def test_boilerplate_combine_and_patterns():
    bp = Boilerplate.combine((["Footer"], []), ([], [r"^Фото:"]))
    assert bp.matches("  FOOTER. ") and bp.matches("Фото: ИОМ") and bp.matches("фото: ИОМ")
    assert not bp.matches("Footer text") and not bp.matches("") and not bp.matches("Без фото:")
    assert split_title("Наслов\n\nФото: ИОМ\n\nТекст.\n\nFooter", bp) == ("Наслов", ["Текст."])


def test_normalise_line():
    assert normalise_line("\u00a0 a\t\tb\u2009 c \u200b") == "a b c"


# ----------------------------------------------------------------------------- content_hash


def test_content_hash_ignores_whitespace_case_and_unicode_form():
    a = content_hash("ИОМ одржа средба", ["Прв пасус за Ndërkombëtare.", "Втор пасус."])
    b = content_hash("  иом  ОДРЖА\u00a0средба ", ["прв\tпасус за NDËRKOMBËTARE.", " Втор   пасус. "])
    c = content_hash("ИОМ одржа средба", ["Прв пасус за Nde\u0308rkombe\u0308tare.", "Втор пасус."])
    assert a == b == c
    assert re.fullmatch(r"[0-9a-f]{64}", a)


def test_content_hash_changes_with_words():
    base = content_hash("ИОМ одржа средба", ["Прв пасус.", "Втор пасус."])
    assert content_hash("ИОМ одржа состанок", ["Прв пасус.", "Втор пасус."]) != base
    assert content_hash("ИОМ одржа средба", ["Прв пасус.", "Трет пасус."]) != base
    assert content_hash("ИОМ одржа средба", ["Прв пасус."]) != base
    assert content_hash("ИОМ одржа средба", ["Втор пасус.", "Прв пасус."]) != base


# ----------------------------------------------------------------------------- properties

LETTERS = "абвгдѓежзѕијклљмнњопрстќуфхцчџшАБВГЃЌЅЈЉЊЏШ" + "abcçdeëfghijklmnopqrstuvxyzÇËABC"
word = st.text(alphabet=LETTERS + "0123456789", min_size=1, max_size=10)
sentence = st.lists(word, min_size=1, max_size=8).map(" ".join)
spaces = st.sampled_from([" ", "  ", "\t", "\u00a0", "\u2009", "\u202f", " \u3000 "])
gap = st.sampled_from([" ", "  ", "\t", "\u00a0", "\u2009", "\u202f", " \u200b", "\u00ad", "\x07", "\x00 "])
messy_sentence = st.lists(st.tuples(word, gap), min_size=1, max_size=8).map(
    lambda pairs: "".join(w + g for w, g in pairs)
)
nav_line = st.sampled_from(
    ["Треба да знаете", "Последни објави", "ПОСЛЕДНИ ОБЈАВИ:", "Сподели на:", "Share", " Печати ", "Треба\u00a0да знаете."]
)
newline = st.sampled_from(["\n", "\r\n", "\r", "\n\n", "\n \n", "\r\n\r\n", "\u2028", "\u2029", "\n\t\n"])
junk = st.sampled_from(list(FORBIDDEN) + ["\u0301", "e\u0308", "ë", "ç", "!", ".", "„", "“", "–", ":"])

# free-form messy text: words, nav lines, line breaks, spaces and junk in any order
messy_text = st.lists(st.one_of(word, gap, nav_line, newline, junk), max_size=40).map("".join)


@HYPO
@given(messy_text)
def test_split_title_output_is_clean_and_idempotent(text):
    title, body = split_title(text, BP)
    assert_clean(title, body)
    if not title:
        assert body == []
        return
    assert not BP.matches(title)
    assert split_title("\n\n".join([title, *body]), BP) == (title, body)
    assert clean_paragraphs(title, body, BP) == (title, body)


@HYPO
@given(messy_text, st.lists(messy_text, max_size=6))
def test_clean_paragraphs_output_is_clean_and_idempotent(title, paragraphs):
    cleaned = clean_paragraphs(title, paragraphs, BP)
    assert_clean(*cleaned)
    assert clean_paragraphs(*cleaned, BP) == cleaned


@HYPO
@given(
    title=sentence,
    lead=st.lists(nav_line, max_size=3),
    middle=st.lists(st.one_of(messy_sentence, nav_line), min_size=1, max_size=6),
    first=messy_sentence,
    last=messy_sentence,
    tail=st.lists(nav_line, max_size=3),
    sep=st.sampled_from(["\n\n", "\n \n", "\r\n\r\n", "\u2029", "\n\t\n", "\n\n\n"]),
)
def test_middle_paragraphs_are_kept_in_order(title, lead, middle, first, last, tail, sep):
    paragraphs = [first, *middle, last]
    expected = [normalise_line(p) for p in paragraphs]
    expected = [p for p in expected if p]
    assume(not BP.matches(expected[0]) and not BP.matches(expected[-1]))
    assume(not same_text(expected[0], title) and not BP.matches(title))
    text = sep.join([*lead, title, *lead, *paragraphs, *tail])
    assert split_title(text, BP) == (title, expected)
    assert clean_paragraphs(title, [*lead, *paragraphs, *tail], BP) == (title, expected)


@HYPO
@given(st.lists(sentence, min_size=1, max_size=5), st.data())
def test_letters_survive_cleaning(paragraphs, data):
    title = data.draw(sentence)
    assume(not same_text(paragraphs[0], title))
    assume(not any(BP.matches(p) for p in [title, *paragraphs]))
    sep = data.draw(st.sampled_from(["\n\n", "\r\n\r\n", "\n \u00a0\n"]))
    assert split_title(sep.join([title, *paragraphs]), BP) == (title, paragraphs)


@HYPO
@given(st.lists(sentence, min_size=1, max_size=4), st.data())
def test_content_hash_equal_for_whitespace_and_case_variants(paragraphs, data):
    title = data.draw(sentence)

    def mangle(text: str) -> str:
        out = text.upper() if data.draw(st.booleans()) else text.lower()
        return data.draw(spaces) + out.replace(" ", data.draw(spaces)) + data.draw(spaces)

    assert content_hash(title, paragraphs) == content_hash(mangle(title), [mangle(p) for p in paragraphs])


@HYPO
@given(st.lists(word, min_size=2, max_size=8), st.integers(min_value=0), word)
def test_content_hash_differs_when_a_word_changes(words, index, replacement):
    index %= len(words)
    assume(replacement.casefold() != words[index].casefold())
    changed = [*words[:index], replacement, *words[index + 1 :]]
    assert content_hash("Наслов", [" ".join(words)]) != content_hash("Наслов", [" ".join(changed)])
