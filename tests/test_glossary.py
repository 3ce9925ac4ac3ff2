"""Glossary loading, matching and masking (pure)."""

from __future__ import annotations

import pytest

from publisher.errors import ConfigError
from publisher.translate.glossary import Glossary
from publisher.translate.segment import split_long, split_sentences


def load(tmp_path, text, name="g.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return Glossary.load(path)


def test_forms_wildcards_case_and_longest_match(tmp_path):
    g = load(tmp_path, '[[terms]]\nmk = ["управување* со границите"]\nen = "border management"\nsq = "menaxhimi i kufijve"\n'
                       '[[terms]]\nmk = ["интегрирано* управување* со границите"]\nen = "integrated border management"\n'
                       'sq = "menaxhimi i integruar i kufijve"\n[[terms]]\nmk = ["ДИК"]\nen = "State Election Commission"\n'
                       'sq = "KSHZ"\n')
    m = g.mask("Управувањето со границите и интегрираното управување со границите; дик не е ДИК.", "en")
    assert m.text == "XGLX1 и XGLX2; дик не е XGLX3."
    out, problems = Glossary.unmask(m.text, m, "en")
    assert out == "Border management и integrated border management; дик не е State Election Commission."
    assert problems == []


def test_lost_and_invented_tokens_are_reported(tmp_path):
    g = load(tmp_path, '[[terms]]\nmk = ["ИОМ"]\nkeep = "IOM"\n')
    m = g.mask("ИОМ и ИОМ", "sq")
    out, problems = Glossary.unmask("xglx 1 dhe XGLX7", m, "sq")
    assert out.startswith("IOM dhe")
    assert "invented a glossary token 'XGLX7'" in problems[0] and "'ИОМ' was lost" in problems[1]


def test_verbatim_urls_emails_and_quoted_latin_names(tmp_path):
    g = Glossary.empty()
    m = g.mask("Види „Skopje Declaration“ на https://iom.int/mk/vesti, пиши на info@iom.int; „Скопје“ не.", "en")
    assert [t.forms[0] for t in m.terms] == ["Skopje Declaration", "https://iom.int/mk/vesti", "info@iom.int"]
    assert "„Скопје“" in m.text
    out, problems = Glossary.unmask("See 'XGLX1' at XGLX2, write to XGLX3; 'Skopje' no.", m, "en")
    assert out == "See 'Skopje Declaration' at https://iom.int/mk/vesti, write to info@iom.int; 'Skopje' no."


def test_csv_glossary_and_clear_errors(tmp_path):
    g = load(tmp_path, "mk,en,sq,keep\nВлада|Владата,Government,Qeveria,\nWBCAP,,,\n", "g.csv")
    assert [t.forms for t in g.terms] == [("Влада", "Владата"), ("WBCAP",)]
    assert g.problems(["en", "sq"]) == []
    with pytest.raises(ConfigError, match="entry 1: unknown key 'xx'"):
        load(tmp_path, '[[terms]]\nmk = "Влада"\nxx = "?"\n')
    with pytest.raises(ConfigError, match="give `keep` or a rendering"):
        load(tmp_path, '[[terms]]\nmk = "Влада"\n')
    with pytest.raises(ConfigError, match="not valid TOML"):
        load(tmp_path, "[[terms]\n")


def test_sentences_and_long_pieces():
    assert split_sentences("Д-р Н. Петров дојде во 10 ч. Состанокот почна. „Да ли?“ Да!") == [
        "Д-р Н. Петров дојде во 10 ч. Состанокот почна.", "„Да ли?“", "Да!"]
    pieces = split_long("збор " * 300, 100)
    assert all(len(p) <= 100 for p in pieces) and " ".join(pieces).split() == ["збор"] * 300
