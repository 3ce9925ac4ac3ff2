"""The supplementary mk→en lexicon: one entry covers its Macedonian forms, and the real
Apertium pipeline uses it for words its dictionaries lack (names are still romanised)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from publisher.translate.apertium import ApertiumTranslator
from publisher.translate.lexicon import LexiconError, load_lexicon, parse_lexicon
from publisher.translate.options import ApertiumOptions


@pytest.fixture(scope="module")
def engine() -> Iterator[ApertiumTranslator]:
    t = ApertiumTranslator(ApertiumOptions())
    yield t
    t.close()


def test_one_noun_entry_covers_definite_and_plural_forms() -> None:
    lex = parse_lexicon("поплака\tn\tcomplaint\nмигрант\tn\tmigrant\nработник\tn\tworker\n")
    for form, tags in (("поплаката", "<sg><nom><def>"), ("поплаки", "<pl><nom><ind>"),
                       ("поплаките", "<pl><nom><def>"), ("мигрантот", "<sg><nom><def>"),
                       ("мигранти", "<pl><nom><ind>"), ("работници", "<pl><nom><ind>")):
        f = lex.lookup(form)
        assert f is not None and f.en_tags.endswith(tags), form
    assert lex.lookup("Поплаките").entry.en == "complaint"
    assert lex.lookup("поплакаа") is None


def test_adjective_and_verb_forms() -> None:
    lex = parse_lexicon("сообраќаен\tadj\ttraffic\nизборен\tadj\telectoral\nанализира\tv\tanalyse\timpf\n"
                        "заборави\tv\tforget\tperf\n")
    assert lex.lookup("сообраќајната").src_tags == "<adj><f><sg><nom><def>"
    assert lex.lookup("изборниот").src_tags == "<adj><m><sg><nom><def>"
    assert lex.lookup("анализираше").en_tags == "<vblex><pii><p3><sg>"
    assert lex.lookup("анализирале").en_tags.startswith("<vblex><lp>")
    assert lex.lookup("заборавија").src_tags == "<vblex><perf><tv><aor><p3><pl>"
    assert lex.lookup("анализирање").entry.en == "analysing"


def test_bad_lines_are_named() -> None:
    with pytest.raises(LexiconError, match="line 2"):
        parse_lexicon("поплака\tn\tcomplaint\nпоплака complaint\n")
    with pytest.raises(LexiconError, match="unknown POS"):
        parse_lexicon("поплака\tnoun\tcomplaint\n")


def test_packaged_lexicon_loads() -> None:
    lex = load_lexicon()
    assert len(lex) >= 500
    assert lex.lookup("мигрантите").entry.en == "migrant"


def test_apertium_uses_the_lexicon_for_unknown_words(engine: ApertiumTranslator) -> None:
    [out] = engine.translate_batch(["Тој ги заборави клучевите во кујната."], "mk", "en")
    assert out == "He forgot the keys in the kitchen."
    raw = ApertiumTranslator(ApertiumOptions(), use_lexicon=False)
    try:
        [before] = raw.translate_batch(["Тој ги заборави клучевите во кујната."], "mk", "en")
    finally:
        raw.close()
    assert "kujnata" in before  # what the lexicon fixes: romanised before
    [out] = engine.translate_batch(["Новите прописи ги анализираше Владата."], "mk", "en")
    assert "new regulations" in out.lower() and "propisi" not in out.lower()


def test_names_are_still_romanised(engine: ApertiumTranslator) -> None:
    [out] = engine.translate_batch(["Мигрантите ги пречека Трајковски."], "mk", "en")
    assert "migrants" in out.lower() and "Trajkovski" in out


def test_internationalisms_and_press_release_words(engine: ApertiumTranslator) -> None:
    lex = load_lexicon()
    assert lex.lookup("екстремизмот").entry.en == "extremism"
    assert lex.lookup("пандемиите").en_tags == "<n><pl><nom><def>"
    [out] = engine.translate_batch(["Криумчарите ги пренесоа мигрантите преку границата."], "mk", "en")
    assert "smugglers" in out.lower() and "migrants" in out.lower()


def test_english_plural_of_entries() -> None:
    from publisher.translate.lexicon import english_plural

    assert [english_plural(w) for w in ("smuggler", "policy", "tax", "person", "border guard",
                                        "round of sixteen", "equipment", "monitoring")] == [
        "smugglers", "policies", "taxes", "people", "border guards", "rounds of sixteen", "equipment", "monitoring"]


def test_feminine_plurals_in_ija_and_definite_in_ost() -> None:
    lex = parse_lexicon("емоција\tn\temotion\nидеја\tn\tidea\nвнатрешност\tn\tinterior\n")
    assert lex.lookup("емоции").en_tags == "<n><pl><nom><ind>"
    assert lex.lookup("емоциите").en_tags == "<n><pl><nom><def>"
    assert lex.lookup("идеи").entry.en == "idea"
    assert lex.lookup("внатрешноста").en_tags == "<n><sg><nom><def>"
