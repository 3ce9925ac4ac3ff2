"""Grammar and sense rules for press-release Macedonian (publisher/translate/grammar.py and
the packaged rules/mkd-eng.toml), each with a real sentence through the real Apertium."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from publisher.translate.apertium import ApertiumTranslator
from publisher.translate.options import ApertiumOptions
from publisher.translate.rules import load_rules


@pytest.fixture(scope="module")
def engine() -> Iterator[ApertiumTranslator]:
    t = ApertiumTranslator(ApertiumOptions())
    yield t
    t.close()


def en(engine: ApertiumTranslator, mk: str) -> str:
    return engine.translate_batch([mk], "mk", "en")[0]


@pytest.mark.parametrize(("mk", "want"), [
    ("Тие не ги добија парите.", "They did not receive the money."),
    ("Владата не го усвои законот.", "The Government did not adopt the law."),
    ("Министерот не рече ништо.", "The minister did not say anything."),
    ("Никој не дојде.", "No one came."),
    ("Ниту министерот ниту премиерот не беа присутни.", "Neither the minister nor the Prime Minister were present."),
    ("Тој никогаш не бил таму.", "He never was there."),
])
def test_negation_is_kept(engine: ApertiumTranslator, mk: str, want: str) -> None:
    assert en(engine, mk) == want


def test_raw_apertium_loses_the_negation_the_rules_keep() -> None:
    raw = ApertiumTranslator(ApertiumOptions(), use_rules=False, use_lexicon=False)
    try:
        [out] = raw.translate_batch(["Тие не ги добија парите."], "mk", "en")
    finally:
        raw.close()
    assert "not" not in out  # "They won the money": what grammar.negation fixes


def test_negated_and_positive_perfect(engine: ApertiumTranslator) -> None:
    assert en(engine, "Комисијата нема добиено поплаки.").startswith("The commission has not received")
    assert en(engine, "Комисијата има добиено поплаки.").startswith("The commission has received")


def test_organisation_subject_takes_third_person_simple_past(engine: ApertiumTranslator) -> None:
    assert en(engine, "ИОМ организираше состанок.") == "IOM organised meeting."
    assert en(engine, "Тој работеше во министерството.") == "He worked in the ministry."


def test_se_passive(engine: ApertiumTranslator) -> None:
    assert en(engine, "Нови училишта се градат во општината.") == "New schools are built in the municipality."
    assert en(engine, "Законот не се применува.") == "The law is not implemented."
    assert "will be" in en(engine, "Проектот ќе се реализира во три фази.")
    assert en(engine, "Бројот на мигранти се зголеми.") == "The number of migrants increased."  # reflexive verb


@pytest.mark.parametrize(("mk", "want"), [
    ("Изборниот законик се менува.", "The Electoral Code"),
    ("Набљудувањето смее да се врши само од акредитирани лица.", "may be carried out"),
    ("Бројот на мигранти се зголеми.", "The number of"),
    ("Конечниот извештај ќе биде објавен.", "The final report"),
    ("Нови училишта се градат во општината.", "New schools"),
    ("Набљудувањето е важно.", "The observation"),
    ("Комисијата нема добиено поплаки.", "received"),
])
def test_press_release_senses(engine: ApertiumTranslator, mk: str, want: str) -> None:
    assert want in en(engine, mk)


def test_grammar_switches_come_from_the_rules_file() -> None:
    rules = load_rules()
    assert all(rules.grammar[k] for k in ("negation", "negated_perfect", "past_third_person", "se_passive"))


def test_imperfect_of_be_is_third_person(engine: ApertiumTranslator) -> None:
    assert en(engine, "Средбата беше организирана во Скопје.") == "The meeting was organised in Skopje."
    assert en(engine, "Тие беа присутни.") == "They were present."


def test_existential_nema(engine: ApertiumTranslator) -> None:
    assert en(engine, "Нема потреба од паника.").startswith("There is no need")
    assert en(engine, "Немаше никакви проблеми.").startswith("There was no problems")
    assert en(engine, "Тој нема пари.") == "He does not have money."  # a subject: possession


def test_comparatives_and_their_case(engine: ApertiumTranslator) -> None:
    assert en(engine, "Најголемиот град е Скопје.") == "The biggest city is Skopje."
    assert "bigger" in en(engine, "Тоа е поголема улога.")
