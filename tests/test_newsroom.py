"""The public newsroom's discoverability (issue 13), on SQLite and PostgreSQL: feed and hreflang
links on every public page, Open Graph tags on release pages, /sitemap.xml, /robots.txt, and
the newest releases on /{lang}/."""

from __future__ import annotations

import datetime as dt

import lxml.html
import pytest
from lxml import etree

from publisher.feeds import build_feeds

from .email_helpers import EN2_TITLE, EN_BODY, EN_TITLE, SQ_TITLE, make_release, seed
from .web_helpers import BASE, client, make_web

SM = "http://www.sitemaps.org/schemas/sitemap/0.9"
XHTML = "http://www.w3.org/1999/xhtml"
NS = {"sm": SM, "xhtml": XHTML}


@pytest.fixture
def newsroom(site):
    """r1 mk + en/sq machine, r2 mk + en human (sq missing), r3 mk only, r6 mk only (after midnight
    in Skopje), r4 held for its language (with an sq translation saved anyway), r5 under embargo,
    r3's sq translation failed (not published)."""
    app, web_app = make_web(site, '[feeds]\noutput_dir = "public"\n')
    store = app.store
    releases = seed(store)
    r3 = releases["r3"]
    store.save_translation_problem(r3, "sq", "engine down")
    late = make_release(store, 6, "Шеста вест после полноќ", "Текст објавен по полноќ во Скопје.",
                        published=dt.datetime(2026, 11, 28, 23, 30, tzinfo=dt.UTC))
    held = make_release(store, 4, "Njoftim në shqip në dosjen maqedonase", "Teksti është në shqip.",
                        published=dt.datetime(2026, 11, 29, 8, 0, tzinfo=dt.UTC),
                        language_status="held", detected_language="sq")
    assert store.get_release(held.id).held
    store.save_human_translation(held, "sq", "Njoftim", "Teksti.")
    embargoed = make_release(store, 5, "Соопштение под ембарго", "Текст под ембарго.",
                             published=dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC),
                             embargo_until=dt.datetime.now(dt.UTC) + dt.timedelta(days=2))
    store.save_machine_translation(embargoed, "en", "Embargoed release", "Embargoed text.", "apertium", [])
    releases.update(r4=held, r5=embargoed, r6=late)
    with client(web_app) as c:
        yield app, c, releases
    app.close()


def head(html: str):
    return lxml.html.fromstring(html).find("head")


def feed_links(html: str) -> dict[str, str]:
    return {link.get("type"): link.get("href") for link in head(html).findall("link")
            if link.get("rel") == "alternate" and link.get("type")}


def hreflangs(html: str) -> dict[str, str]:
    return {link.get("hreflang"): link.get("href") for link in head(html).findall("link")
            if link.get("rel") == "alternate" and link.get("hreflang")}


def meta(html: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for element in head(html).findall("meta"):
        if element.get("property"):
            found.setdefault(element.get("property"), []).append(element.get("content"))
    return found


def test_every_public_page_announces_its_languages_feeds_with_absolute_urls(newsroom, site):
    app, c, releases = newsroom
    r1 = releases["r1"]
    pages = {"en": ["/en/", f"/releases/{r1.uid}/en", "/en/confirm/not-a-token", "/no-such-page"],
             "sq": ["/sq/", f"/releases/{r1.uid}/sq", "/sq/unsubscribe/not-a-token"],
             "mk": ["/mk/", f"/releases/{releases['r3'].uid}/mk"]}
    for lang, paths in pages.items():
        for path in paths:
            page = c.get(path, headers={"Accept-Language": lang})  # the 404 page speaks the visitor's language
            assert page.headers["content-language"] == lang, path
            assert feed_links(page.text) == {"application/rss+xml": f"{BASE}/feeds/{lang}/rss.xml",
                                             "application/atom+xml": f"{BASE}/feeds/{lang}/atom.xml"}, path
    # a missing page under a language prefix speaks that language and names its feeds
    missing = c.get("/en/no-such-page", headers={"Accept-Language": "mk"})
    assert missing.status_code == 404 and missing.headers["content-language"] == "en"
    assert feed_links(missing.text)["application/rss+xml"] == f"{BASE}/feeds/en/rss.xml"
    # what the links announce is what the site serves at those addresses, with those types
    build_feeds(app.settings, app.store)
    for kind, href in feed_links(c.get("/en/").text).items():
        served = c.get(href.removeprefix(BASE))
        assert served.status_code == 200, (href, served.status_code, served.text[:200])
        assert served.headers["content-type"].startswith(kind), (href, served.headers["content-type"])
        assert EN_TITLE in served.text, served.text[:500]
    # staff pages are not public: no feed links there
    assert not feed_links(c.get("/staff/login").text)


def test_hreflang_between_home_pages_and_only_published_languages_of_a_release(newsroom):
    _, c, releases = newsroom
    for lang in ("mk", "en", "sq"):
        assert hreflangs(c.get(f"/{lang}/").text) == {"mk": f"{BASE}/mk/", "en": f"{BASE}/en/", "sq": f"{BASE}/sq/",
                                                      "x-default": f"{BASE}/"}
    url = f"{BASE}/releases/{{uid}}/{{lang}}".format
    r1, r2, r3 = releases["r1"], releases["r2"], releases["r3"]
    assert hreflangs(c.get(f"/releases/{r1.uid}/en").text) == {code: url(uid=r1.uid, lang=code)
                                                              for code in ("mk", "en", "sq")}
    for shown in ("mk", "en", "sq"):  # sq is missing: no sq alternate, even on the sq address
        assert hreflangs(c.get(f"/releases/{r2.uid}/{shown}").text) == {code: url(uid=r2.uid, lang=code)
                                                                       for code in ("mk", "en")}
    assert hreflangs(c.get(f"/releases/{r3.uid}/sq").text) == {"mk": url(uid=r3.uid, lang="mk")}  # sq failed


def test_release_pages_carry_open_graph_tags(newsroom):
    _, c, releases = newsroom
    r1, r3 = releases["r1"], releases["r3"]
    tags = meta(c.get(f"/releases/{r1.uid}/en").text)
    assert tags["og:type"] == ["article"]
    assert tags["og:title"] == [EN_TITLE]
    assert tags["og:description"] == [EN_BODY.split("\n\n")[0]]  # the lead
    assert tags["og:url"] == [f"{BASE}/releases/{r1.uid}/en"]
    assert tags["og:locale"] == ["en_US"] and sorted(tags["og:locale:alternate"]) == ["mk_MK", "sq_AL"]
    assert tags["og:site_name"] == ["IOM North Macedonia"]
    assert dt.datetime.fromisoformat(tags["article:published_time"][0]) == r1.published_at
    assert meta(c.get(f"/releases/{r1.uid}/sq").text)["og:locale"] == ["sq_AL"]
    # a language it is not published in shows the original: the tags describe the original
    original = meta(c.get(f"/releases/{r3.uid}/en").text)
    assert original["og:locale"] == ["mk_MK"] and original["og:url"] == [f"{BASE}/releases/{r3.uid}/mk"]
    assert original["og:title"] == [r3.title] and original["og:description"] == [r3.paragraphs[0]]
    assert "og:locale:alternate" not in original
    assert not meta(c.get("/en/").text)  # Open Graph is for release pages


def test_sitemap_lists_exactly_the_published_release_pages_with_their_alternates(newsroom):
    app, c, releases = newsroom
    response = c.get("/sitemap.xml")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/xml")
    root = etree.fromstring(response.content)
    assert root.tag == f"{{{SM}}}urlset" and root.nsmap == {None: SM, "xhtml": XHTML}
    found, lastmod = {}, {}
    for url in root.findall("sm:url", NS):
        loc = url.findtext("sm:loc", namespaces=NS)
        lastmod[loc] = dt.datetime.fromisoformat(url.findtext("sm:lastmod", namespaces=NS))
        links = url.findall("xhtml:link", NS)
        assert all(link.get("rel") == "alternate" for link in links)
        found[loc] = {link.get("hreflang"): link.get("href") for link in links}
    r1, r2, r3 = releases["r1"], releases["r2"], releases["r3"]

    def versions(release, langs):
        alternates = {code: f"{BASE}/releases/{release.uid}/{code}" for code in langs}
        return {href: alternates for href in alternates.values()}

    assert found == {**versions(r1, ("mk", "en", "sq")), **versions(r2, ("mk", "en")), **versions(r3, ("mk",)),
                     **versions(releases["r6"], ("mk",))}
    # lastmod: the version's own change (a translation saved after its release moves only its page)
    human = app.store.get_translation(r2.id, "en")
    assert lastmod[f"{BASE}/releases/{r2.uid}/en"] == max(human.updated_at, r2.updated_at).replace(microsecond=0)
    assert lastmod[f"{BASE}/releases/{r2.uid}/mk"] == max(r2.updated_at, r2.published_at).replace(microsecond=0)
    text = response.text
    assert releases["r4"].uid not in text and releases["r5"].uid not in text  # held, embargoed
    # every listed page is really there, and every alternate of it too
    for loc in found:
        assert c.get(loc.removeprefix(BASE)).status_code == 200
    # the held release and the embargoed one are not pages either
    assert c.get(f"/releases/{releases['r4'].uid}/sq").status_code == 404
    assert c.get(f"/releases/{releases['r5'].uid}/mk").status_code == 404


def test_a_confirmed_release_joins_the_sitemap(newsroom):
    app, c, releases = newsroom
    from publisher.language_hold import confirm_language

    held = releases["r4"]
    assert held.uid not in c.get("/sitemap.xml").text
    confirm_language(app.settings, app.store, held.id, "sq")
    root = etree.fromstring(c.get("/sitemap.xml").content)
    locs = [u.findtext("sm:loc", namespaces=NS) for u in root.findall("sm:url", NS)]
    assert f"{BASE}/releases/{held.uid}/sq" in locs


def test_robots_txt_allows_public_pages_and_points_to_the_sitemap(newsroom):
    _, c, _ = newsroom
    response = c.get("/robots.txt")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    lines = response.text.splitlines()
    assert lines[0] == "User-agent: *"
    assert "Disallow: /staff/" in lines and "Disallow: /api/" in lines and "Allow: /" in lines
    assert f"Sitemap: {BASE}/sitemap.xml" in lines
    from urllib.robotparser import RobotFileParser

    robots = RobotFileParser()
    robots.parse(lines)
    assert robots.can_fetch("AnyBot", f"{BASE}/en/") and robots.can_fetch("AnyBot", f"{BASE}/releases/x/en")
    assert not robots.can_fetch("AnyBot", f"{BASE}/staff/login") and not robots.can_fetch("AnyBot", f"{BASE}/api/releases")
    assert robots.site_maps() == [f"{BASE}/sitemap.xml"]


def items(html: str) -> list[dict[str, str]]:
    section = lxml.html.fromstring(html).find_class("latest")[0]
    out = []
    for article in section.find_class("item"):
        label = article.find_class("machine")
        out.append({"title": article.find(".//h3/a").text_content(), "href": article.find(".//h3/a").get("href"),
                    "date": article.find(".//time").text_content(),
                    "lead": article.find_class("lead")[0].text_content() if article.find_class("lead") else "",
                    "label": label[0].text_content() if label else ""})
    return out


def test_home_page_lists_the_newest_releases_in_its_language_beside_the_subscribe_box(newsroom):
    _, c, releases = newsroom
    r1, r2, r3 = releases["r1"], releases["r2"], releases["r3"]
    en = c.get("/en/")
    assert en.status_code == 200 and 'action="/en/subscribe"' in en.text
    assert items(en.text) == [
        {"title": EN2_TITLE, "href": f"/releases/{r2.uid}/en", "date": "November 28, 2026",
         "lead": "First paragraph about the cooperation of border services.", "label": ""},  # human: no label
        {"title": EN_TITLE, "href": f"/releases/{r1.uid}/en", "date": "November 28, 2026",
         "lead": EN_BODY.split("\n\n")[0], "label": "Machine translation from Macedonian."},
    ]
    sq = items(c.get("/sq/").text)
    assert [(i["title"], i["label"]) for i in sq] == [(SQ_TITLE, "Përkthim automatik nga maqedonishtja.")]
    mk = items(c.get("/mk/").text)  # r6: 23:30 UTC on the 28th is the 29th in Skopje
    assert [(i["href"], i["date"], i["label"]) for i in mk] == [
        (f"/releases/{releases['r6'].uid}/mk", "29 ноември 2026\u202fг.", ""), (f"/releases/{r3.uid}/mk", "28 ноември 2026\u202fг.", ""), (f"/releases/{r2.uid}/mk", "28 ноември 2026\u202fг.", ""),
        (f"/releases/{r1.uid}/mk", "28 ноември 2026\u202fг.", "")]
    assert "Најнови соопштенија" in c.get("/mk/").text and "Njoftimet më të reja" in c.get("/sq/").text


def test_home_page_of_an_empty_site_says_so(site):
    app, web_app = make_web(site)
    with client(web_app) as c:
        page = c.get("/en/")
        assert page.status_code == 200 and "No releases yet." in page.text and items(page.text) == []
        root = etree.fromstring(c.get("/sitemap.xml").content)
        assert root.tag == f"{{{SM}}}urlset" and len(root) == 0
    app.close()


def test_a_machine_translation_awaiting_review_is_in_no_list(site):
    """[translation] publish en = "review": r1's machine English is not published anywhere."""
    app, web_app = make_web(site, '[translation]\npublish = {en = "review", sq = "machine"}\n')
    releases = seed(app.store)
    r1, r2 = releases["r1"], releases["r2"]
    with client(web_app) as c:
        root = etree.fromstring(c.get("/sitemap.xml").content)
        locs = {u.findtext("sm:loc", namespaces=NS) for u in root.findall("sm:url", NS)}
        assert f"{BASE}/releases/{r1.uid}/en" not in locs and f"{BASE}/releases/{r1.uid}/sq" in locs
        assert f"{BASE}/releases/{r2.uid}/en" in locs  # human: published under either policy
        assert set(hreflangs(c.get(f"/releases/{r1.uid}/sq").text)) == {"mk", "sq"}
        assert [i["href"] for i in items(c.get("/en/").text)] == [f"/releases/{r2.uid}/en"]
    app.close()
