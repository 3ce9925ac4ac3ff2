"""The staff review page (issue 11) on SQLite and PostgreSQL through the real web app: source and
translation aligned paragraph by paragraph and sentence by sentence, the spans the real quality
checks flagged and the romanised words marked, each check as a sentence in the staff member's
language (en, mk), and never a raw dict."""

from __future__ import annotations

import html
import re

import pytest

from publisher.translate.qa import check_translation, describe, failures

from .email_helpers import make_release
from .web_helpers import add_staff, client, login, make_web

TITLE = "Состанок за граничната соработка во Скопје"
P1 = ("Министерството за внатрешни работи организираше состанок со шефовите на граничните служби. "
      "До сега ДИК нема добиено никакви поплаки. Делегациите разговараа за новите мерки.")
P2 = "Состанокот заврши со заеднички заклучоци. Следниот состанок ќе се одржи наесен."
EN_TITLE = "Meeting on border cooperation in Skopje"
EN_P1 = ("The Ministry of Interior organised a meeting with the heads of the border services. "
         "To now the State Election Commission has won any poplaki. The delegations discussed the new measures.")
EN_P2 = "The meeting ended with joint conclusions, and the next one will be held in the autumn."  # one sentence for two


@pytest.fixture
def web(site):
    app, web_app = make_web(site, '[translation]\nchains = { en = ["apertium"], sq = ["apertium"] }\n')
    add_staff(app)
    with client(web_app) as c:
        yield app, c
    app.close()


def machine_translation(app):
    """A release with three texts and a machine translation whose checks the real check functions ran."""
    release = make_release(app.store, 1, TITLE, f"{P1}\n\n{P2}")
    checks = check_translation([TITLE, P1, P2], [EN_TITLE, EN_P1, EN_P2], "mk", "en",
                               language_candidates={"mk", "en", "sq", "sr", "bg"})
    assert {c.name for c in failures(checks)} >= {"negation"}
    app.store.save_machine_translation(release, "en", EN_TITLE, f"{EN_P1}\n\n{EN_P2}", "apertium",
                                       [c.as_dict() for c in checks], held=describe(failures(checks)))
    return release


def rows(page: str) -> dict[str, str]:
    return dict(re.findall(r'<tr class="sentence" id="(s-\d+-\d+)">(.*?)</tr>', page, re.S))


def text_of(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment))


def test_texts_and_sentences_are_aligned(web):
    app, c = web
    release = machine_translation(app)
    login(c)
    page = c.get(f"/staff/releases/{release.id}/en")
    assert page.status_code == 200
    found = rows(page.text)
    # the title and the first paragraph pair sentence by sentence: one row, one textarea each
    assert sorted(found) == ["s-0-0", "s-1-0", "s-1-1", "s-1-2"]
    assert "Делегациите разговараа за новите мерки." in text_of(found["s-1-2"])
    assert "The delegations discussed the new measures." in text_of(found["s-1-2"])
    assert "ДИК нема добиено" in text_of(found["s-1-1"]) and "has won any" in text_of(found["s-1-1"])
    textarea = re.search(r'<textarea class="segment" rows="2" id="seg-1-1" name="seg-1-1">(.*?)</textarea>',
                         page.text, re.S)
    assert html.unescape(textarea.group(1)) == "To now the State Election Commission has won any poplaki."
    # the second paragraph has two sentences in the original and one in the translation: edited as one text
    second = re.search(r'<tbody class="text" id="text-2">(.*?)</tbody>', page.text, re.S).group(1)
    assert 'class="unaligned"' in second and 'name="text-2"' in second and "seg-2-" not in second
    assert "Следниот состанок ќе се одржи наесен." in text_of(second)
    # paragraphs in order, each with its heading
    assert page.text.index('id="text-0"') < page.text.index('id="text-1"') < page.text.index('id="text-2"')


def test_flagged_spans_and_romanised_words_are_marked(web):
    app, c = web
    release = machine_translation(app)
    login(c)
    page = c.get(f"/staff/releases/{release.id}/en").text
    marks = re.findall(r'<mark class="qa([^"]*)" title="([^"]*)" data-checks="([^"]*)">([^<]*)</mark>', page)
    by_word = {html.unescape(text): kinds.split() for _, _, kinds, text in marks}
    # negation: the source's marker and the target sentence that lost it
    assert by_word["нема"] == ["negation"]
    assert "negation" in next(k for t, k in by_word.items() if "has won any" in t)
    # the word the engine did not know, left romanised
    assert "romanised" in by_word["poplaki"]
    titles = {html.unescape(t) for _, t, _, _ in marks}
    assert any("Romanised: the engine did not know this word." in t for t in titles)
    assert "A sentence of the original is negative, but its translation is not." in " ".join(titles)
    # no mark where no check found anything
    assert "Делегациите" not in " ".join(by_word)


def test_checks_are_sentences_in_the_staff_language(web):
    app, c = web
    release = machine_translation(app)
    login(c)
    english = c.get(f"/staff/releases/{release.id}/en")
    assert english.headers["content-language"] == "en" and '<html lang="en">' in english.text
    checks = re.search(r'<section id="checks">(.*?)</section>', english.text, re.S).group(1)
    assert "A sentence of the original is negative, but its translation is not." in html.unescape(checks)
    assert "Every number of the original is in the translation." in html.unescape(checks)
    assert "{'name'" not in english.text and "&#39;name&#39;" not in english.text and "'ok': True" not in english.text
    # failed checks first, passed after
    items = re.findall(r'<li class="check (ok|failed)" data-check="([^"]+)"', checks)
    states = [state for state, _ in items]
    assert states == sorted(states, key=lambda s: s == "ok") and ("failed", "negation") in items

    macedonian = c.get(f"/staff/releases/{release.id}/en", headers={"Accept-Language": "mk-MK,mk;q=0.9,en;q=0.5"})
    assert macedonian.headers["content-language"] == "mk" and '<html lang="mk">' in macedonian.text
    checks = html.unescape(re.search(r'<section id="checks">(.*?)</section>', macedonian.text, re.S).group(1))
    assert "Реченица од изворникот е одречна, а нејзиниот превод не е." in checks
    assert "Секој број од изворникот е во преводот." in checks
    assert "A sentence of the original is negative" not in checks
    assert "Преглед на преводот" in macedonian.text  # the page's own words too
    assert "Задржано за преглед: една проверка подолу не помина." in macedonian.text
    assert "Held for review: a check below failed." in english.text
    assert "Романизирано: преведувачот не го знаеше зборот." in html.unescape(macedonian.text)

    albanian = c.get(f"/staff/releases/{release.id}/en", headers={"Accept-Language": "sq"})
    assert albanian.headers["content-language"] == "sq"
    assert "Një fjali e origjinalit është mohuese, por përkthimi i saj nuk është." in html.unescape(albanian.text)
    # a language without a catalog of these sentences: English
    assert c.get(f"/staff/releases/{release.id}/en", headers={"Accept-Language": "de"}).headers[
        "content-language"] == "en"
