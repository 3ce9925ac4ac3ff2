"""Official Macedonian romanisation (publisher/translate/translit.py)."""

from __future__ import annotations

import pytest

from publisher.translate.translit import has_cyrillic, transliterate_mk


@pytest.mark.parametrize(
    ("cyrillic", "latin"),
    [
        ("Ѓорѓи", "Gjorgji"),
        ("Ќосе", "Kjose"),
        ("Џамија", "Dzhamija"),
        ("ДИК", "DIK"),
        ("ЏАМИЈА", "DZHAMIJA"),
        ("ЖШЧ", "ZHSHCH"),
        ("Жена", "Zhena"),
        ("Ѕвездата", "Dzvezdata"),
        ("Љубљана", "Ljubljana"),
        ("Њујорк", "Njujork"),
        ("Чешка", "Cheshka"),
        ("Шар", "Shar"),
        ("Цуцулка", "Cuculka"),
        ("Хераклеја", "Herakleja"),
        ("Скопје", "Skopje"),
        ("Џ", "Dzh"),  # one capital letter alone is a capitalised word, not an all-caps one
        ("ѝ рече", "i reche"),
        ("абвгдѓежзѕијклљмнњопрстќуфхцчџш", "abvgdgjezhzdzijklljmnnjoprstkjufhcchdzhsh"),
    ],
)
def test_official_romanisation(cyrillic: str, latin: str) -> None:
    assert transliterate_mk(cyrillic) == latin


def test_mixed_text_keeps_latin_digits_and_punctuation() -> None:
    text = "Во 2024 година, iPhone 15 и ВМРО-ДПМНЕ (42,5%) — „Скопје“!"
    assert transliterate_mk(text) == "Vo 2024 godina, iPhone 15 i VMRO-DPMNE (42,5%) — „Skopje“!"


def test_latin_only_text_is_unchanged() -> None:
    text = "The State Election Commission announced 3 results."
    assert transliterate_mk(text) == text


def test_other_cyrillic_alphabets_leave_no_cyrillic() -> None:
    out = transliterate_mk("Щука, Ђоковић, Юлия, Ёж, объект, Ѐ")
    assert not has_cyrillic(out)
    assert out == "Shtuka, Djokovic, Julija, Jozh, obaekt, E"


def test_has_cyrillic() -> None:
    assert has_cyrillic("abc д")
    assert not has_cyrillic("abc d 123")
