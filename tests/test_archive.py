"""The public archive /{lang}/releases (issue 13), on SQLite and PostgreSQL: 20 a page newest first
with previous/next links, bad page numbers answered clearly, full-text search over the text shown
in that language (FTS5 / PostgreSQL text search) that no query syntax can break, kept in step
with new revisions; and one search in Chromium."""

from __future__ import annotations

import datetime as dt
import socket
from pathlib import Path

import lxml.html
import pytest
from playwright.sync_api import expect, sync_playwright

from publisher.app import App
from publisher.store import Store
from publisher.store.search import fts5_match, pg_tsquery, search_terms
from publisher.web.app import create_app

from .conftest import Site
from .email_helpers import EN2_TITLE, EN_TITLE, MK2_TITLE, SQ_TITLE, make_release, seed
from .test_browser import CHROMIUM_ARGS, serve
from .web_helpers import BASE, client, make_web

START = dt.datetime(2026, 10, 1, 8, 0, tzinfo=dt.UTC)


@pytest.fixture
def web(site):
    app, web_app = make_web(site)
    with client(web_app) as c:
        yield app, c
    app.close()


def results(html: str) -> list[dict[str, str]]:
    doc = lxml.html.fromstring(html)
    out = []
    for item in doc.find_class("archive")[0].find_class("item"):
        label = item.find_class("machine")
        out.append({"title": item.find(".//h3/a").text_content(), "url": item.find(".//h3/a").get("href"),
                    "label": label[0].text_content() if label else ""})
    return out


def link(html: str, rel: str) -> str | None:
    found = lxml.html.fromstring(html).xpath(f"//nav[@class='pager']//a[@rel='{rel}']/@href")
    return found[0] if found else None


def titles(c, lang: str, query: str) -> list[str]:
    response = c.get(f"/{lang}/releases", params={"q": query})
    assert response.status_code == 200, (query, response.status_code, response.text[:300])
    return [r["title"] for r in results(response.text)]


def test_45_releases_make_three_pages_newest_first_with_next_and_previous(web):
    app, c = web
    for n in range(1, 46):
        make_release(app.store, n, f"Соопштение број {n}", f"Текст на соопштението {n}.",
                     published=START + dt.timedelta(hours=n))
    first = c.get("/mk/releases")
    assert first.status_code == 200 and first.headers["content-language"] == "mk"
    page1 = [r["title"] for r in results(first.text)]
    assert page1 == [f"Соопштение број {n}" for n in range(45, 25, -1)]
    assert link(first.text, "prev") is None
    second = c.get(link(first.text, "next"))
    assert [r["title"] for r in results(second.text)] == [f"Соопштение број {n}" for n in range(25, 5, -1)]
    third = c.get(link(second.text, "next"))
    assert [r["title"] for r in results(third.text)] == [f"Соопштение број {n}" for n in range(5, 0, -1)]
    assert link(third.text, "next") is None and "Страница 3 од 3" in third.text
    assert c.get(link(third.text, "prev")).text == second.text
    # every item opens its release page; dates are local (Skopje is UTC+2 in October)
    assert c.get(results(third.text)[0]["url"]).status_code == 200
    assert 'datetime="2026-10-01T11:00:00+02:00"' in third.text  # release 1: 09:00 UTC
    # past the end: 404 with a message and a link to the last page; not a number: 400, never a 500
    past = c.get("/mk/releases?page=4")
    assert past.status_code == 404 and "/mk/releases?page=3" in past.text and "4" in past.text
    for bad in ("abc", "0", "-1", "1.5", "٣", "99999999999999999999", "2%00"):
        response = c.get(f"/mk/releases?page={bad}")
        assert response.status_code == 400, (bad, response.status_code)
        assert "?page=2" in response.text  # says what a page number looks like
    # a search pages the same way, and its links keep the query
    found = c.get("/mk/releases", params={"q": "соопштението"})
    assert "„соопштението“: 45" in found.text and len(results(found.text)) == 20
    assert link(found.text, "next") == "/mk/releases?q=%D1%81%D0%BE%D0%BE%D0%BF%D1%88%D1%82%D0%B5%D0%BD%D0%B8%D0%B5%D1%82%D0%BE&page=2"
    last = c.get(link(c.get(link(found.text, "next")).text, "next"))
    assert [r["title"] for r in results(last.text)] == [f"Соопштение број {n}" for n in range(5, 0, -1)]
    assert titles(c, "mk", "број 7") == ["Соопштение број 7"]
    # only releases published in a language: none of these has an English version
    english = c.get("/en/releases")
    assert english.status_code == 200 and results(english.text) == [] and link(english.text, "next") is None
    assert c.get("/xx/releases").status_code == 404


@pytest.fixture
def newsroom(web):
    """r1 mk + en (machine, policy "checked") + sq (machine); r2 mk + en human; r3 mk only, with an
    English machine translation held by a failed check (not published under "checked")."""
    app, c = web
    releases = seed(app.store)
    app.store.save_machine_translation(releases["r3"], "en", "Third news about zebras",
                                       "Zebras crossed the border.", "apertium", [], held="numbers differ")
    return app, c, releases


def test_search_finds_the_text_shown_in_each_language_only(newsroom):
    app, c, releases = newsroom
    r3_title = releases["r3"].title
    # Macedonian: the exact word, and an inflected form through the prefix of the last word
    assert titles(c, "mk", "соработка") == [MK2_TITLE, releases["r1"].title] or \
        set(titles(c, "mk", "соработка")) == {MK2_TITLE, releases["r1"].title}
    assert titles(c, "mk", "македонски") == [r3_title]
    assert titles(c, "mk", "МАКЕДОНСКИ јазик") == [r3_title]  # case folded, every word must match
    assert titles(c, "mk", "граничн") == [MK2_TITLE, releases["r1"].title]  # граничната, граничните
    assert titles(c, "mk", "македонски border") == []
    # English: the English text, not the Macedonian, and not another language's
    assert titles(c, "en", "cooperation") == [EN2_TITLE, EN_TITLE]
    assert titles(c, "en", "Skopje") == [EN_TITLE]
    assert titles(c, "en", "соработка") == []  # the en archive shows the English text
    assert titles(c, "mk", "cooperation") == []
    assert titles(c, "sq", "cooperation") == []
    assert titles(c, "sq", "Shkup") == [SQ_TITLE]
    assert titles(c, "sq", "shefat") == [SQ_TITLE]
    # held by a check (publish = "checked" for en): neither listed nor found
    assert titles(c, "en", "zebras") == []
    assert "zebras" not in c.get("/en/releases").text.lower()
    # a machine translation carries its label, a human one none
    found = {r["title"]: r["label"] for r in results(c.get("/en/releases").text)}
    assert found[EN_TITLE].startswith("Machine translation") and found[EN2_TITLE] == ""
    assert set(found) == {EN_TITLE, EN2_TITLE}
    # the search box keeps the query and the count says how many matched
    page = c.get("/en/releases", params={"q": "cooperation"}).text
    assert 'value="cooperation"' in page and "“cooperation”: 2" in page


@pytest.mark.parametrize("query", ['"', "*", "OR", "NEAR(", "-", ")", "(", "^", ":", "'", "\\", "''", '"""',
                                   "NEAR(border cooperation, 2)", "border OR", '"border', "border*", "-border",
                                   "title:border", "border AND NOT cooperation", "{title}: x", "'; DROP TABLE x;--",
                                   "&|!", "border & !cooperation", "a:*", "x" * 500, "\u0000"])
def test_query_syntax_in_the_search_box_is_harmless(newsroom, query):
    app, c, _ = newsroom
    response = c.get("/en/releases", params={"q": query})
    assert response.status_code == 200, (query, response.text[:300])
    terms = search_terms(query)
    if not terms:  # only punctuation: nothing, with a clear message
        assert results(response.text) == [] and "No releases match your search." in response.text
    for word in ("border", '"border', "border*", "-border", "(border)"):
        assert titles(c, "en", word) == [EN2_TITLE, EN_TITLE]  # the same as the plain word


def test_query_building_quotes_every_term():
    assert search_terms('NEAR(border "x" OR -y*') == ["near", "border", "x", "or", "y"]
    assert fts5_match(["near", "or"]) == '"near" "or"*'
    assert pg_tsquery(["a", "b"]) == "'a' & 'b':*"
    assert search_terms("!!! ... ---") == [] and search_terms("Гранични ЌЕСИ") == ["гранични", "ќеси"]


def test_the_archive_follows_a_new_revision(newsroom):
    app, c, releases = newsroom
    assert titles(c, "mk", "македонски") == [releases["r3"].title]
    revised = make_release(app.store, 3, "Трета вест, исправена", "Текст за водоснабдувањето во Куманово.",
                           published=releases["r3"].published_at)
    assert revised.id == releases["r3"].id and revised.revision == 2
    assert titles(c, "mk", "македонски") == []
    assert titles(c, "mk", "Куманово") == ["Трета вест, исправена"]
    assert titles(c, "mk", "водоснабдување") == ["Трета вест, исправена"]  # водоснабдувањето
    # a translation edited by staff: the English archive searches its new words
    app.store.save_human_translation(releases["r2"], "en", "Second news, corrected", "About water supply.")
    assert titles(c, "en", "water") == ["Second news, corrected"]
    assert titles(c, "en", "paragraph") == [EN_TITLE]  # EN2's old body is gone from the index


def test_a_release_whose_language_staff_confirm_is_found_in_that_language(newsroom):
    from publisher.language_hold import confirm_language

    app, c, _ = newsroom
    held = make_release(app.store, 4, "Njoftim për ujësjellësin e Kumanovës", "Teksti është në shqip.",
                        published=dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC),
                        language_status="held", detected_language="sq")
    assert titles(c, "sq", "ujësjellësin") == [] and titles(c, "mk", "ujësjellësin") == []  # held: nowhere
    confirm_language(app.settings, app.store, held.id, "sq")
    assert titles(c, "sq", "ujësjellësin") == ["Njoftim për ujësjellësin e Kumanovës"]
    if app.store.engine.dialect.name == "sqlite":  # FTS5 folds Latin diacritics; PostgreSQL's simple does not
        assert titles(c, "sq", "ujesjellesin") == ["Njoftim për ujësjellësin e Kumanovës"]
    assert titles(c, "mk", "ujësjellësin") == []  # not Macedonian, and no Macedonian version yet


def test_archive_page_links_its_feeds_alternates_and_the_home_page_links_to_it(newsroom):
    app, c, releases = newsroom
    page = c.get("/sq/releases?q=Shkup")
    head = lxml.html.fromstring(page.text).find("head")
    links = {(e.get("type") or e.get("hreflang")): e.get("href") for e in head.findall("link")
             if e.get("rel") == "alternate"}
    assert links["application/rss+xml"] == f"{BASE}/feeds/sq/rss.xml"
    assert links["application/atom+xml"] == f"{BASE}/feeds/sq/atom.xml"
    assert links["mk"] == f"{BASE}/mk/releases?q=Shkup" and links["en"] == f"{BASE}/en/releases?q=Shkup"
    assert lxml.html.fromstring(page.text).xpath("//form[@role='search']/@action") == ["/sq/releases"]
    home = c.get("/en/").text
    assert '<a href="/en/releases">' in home


@pytest.fixture
def served(tmp_path: Path):
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    url = f"sqlite:///{tmp_path / 'publisher.db'}"
    Store.upgraded(url).close()
    site = Site(tmp_path / "site", url)
    text = site.settings_file.read_text(encoding="utf-8").replace("http://127.0.0.1:8080", base)
    site.settings_file.write_text(text, encoding="utf-8")
    app = App(site.settings())
    with serve(create_app(app.settings, app), sock):
        yield app, base
    app.close()
    sock.close()


def test_browser_searches_the_archive_and_opens_a_result(served, tmp_path):
    app, base = served
    releases = seed(app.store)
    for n in range(10, 35):
        make_release(app.store, n, f"Соопштение број {n}", f"Текст {n}.", published=START + dt.timedelta(hours=n))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(locale="mk-MK", viewport={"width": 1200, "height": 900})
        page = context.new_page()
        page.goto(base + "/mk/")
        page.click("a[href='/mk/releases']")
        expect(page.locator("h1")).to_have_text("Архива на соопштенија")
        expect(page.locator(".archive .item")).to_have_count(20)
        page.fill("#q", "соработка")
        page.click("form[role=search] button")
        expect(page).to_have_url(base + "/mk/releases?q=%D1%81%D0%BE%D1%80%D0%B0%D0%B1%D0%BE%D1%82%D0%BA%D0%B0")
        expect(page.locator(".archive .item")).to_have_count(2)
        page.screenshot(path=str(tmp_path / "archive-search.png"), full_page=True)
        page.click(f"text={MK2_TITLE}")
        expect(page).to_have_url(f"{base}/releases/{releases['r2'].uid}/mk")
        expect(page.locator("h1")).to_have_text(MK2_TITLE)
        page.screenshot(path=str(tmp_path / "archive-result.png"), full_page=True)
        context.close()
        browser.close()
    assert (tmp_path / "archive-search.png").stat().st_size > 0
