"""The `feed` source through the real ingest stage, against a loopback HTTP server.

Every test runs on SQLite and on PostgreSQL (the `site` fixture); feeds and article pages
are served by pytest-httpserver on localhost, never from the internet.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from xml.sax.saxutils import escape

import pytest
from werkzeug import Request, Response

from .conftest import P1, P2, P3, P4, paths

UTC = dt.timezone.utc
TITLE1 = "ИОМ организираше состанок со шефовите на граничните служби"
TITLE2 = "Нова програма за поддршка на мигрантите во Скопје"
PUB1 = "Tue, 14 May 2024 09:30:00 +0200"
PUB1_UTC = dt.datetime(2024, 5, 14, 7, 30, tzinfo=UTC)
RSS_TYPE = "application/rss+xml"


def html_paras(*paragraphs: str) -> str:
    return "".join(f"<p>{p}</p>" for p in paragraphs)


def rss_item(guid: str, title: str, body_html: str | None = None, link: str | None = None,
             summary: str | None = None, pub: str = PUB1) -> str:
    parts = [f"<title>{escape(title)}</title>", f'<guid isPermaLink="false">{guid}</guid>', f"<pubDate>{pub}</pubDate>"]
    if link:
        parts.append(f"<link>{escape(link)}</link>")
    if summary is not None:
        parts.append(f"<description>{escape(summary)}</description>")
    if body_html is not None:
        parts.append(f"<content:encoded><![CDATA[{body_html}]]></content:encoded>")
    return "<item>" + "".join(parts) + "</item>"


def rss(*items: str, encoding: str = "utf-8") -> bytes:
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        "<title>ИОМ Северна Македонија</title><link>http://localhost/</link>"
        "<description>Соопштенија</description><language>mk</language>"
        + "".join(items) + "</channel></rss>"
    )
    return text.encode(encoding)


def feed_toml(name: str, url: str, **options: object) -> str:
    # the test server is on loopback, which the network policy refuses unless the source allows it
    options = {"allow_private_networks": True, **options}
    lines = ["", "[[sources]]", f'name = "{name}"', 'type = "feed"', f'url = "{url}"']
    lines += [f"{key} = {json.dumps(value)}" for key, value in options.items()]
    return "\n".join(lines) + "\n"


def test_rss_full_content_entries_become_releases(site, httpserver, ingest):
    link1, link2 = httpserver.url_for("/vesti/sostanok"), httpserver.url_for("/vesti/programa")
    httpserver.expect_request("/rss.xml").respond_with_data(
        rss(
            rss_item("iom-2024-001", TITLE1, html_paras(P1, P2, P3), link=link1),
            rss_item("iom-2024-002", TITLE2, "<div><p>" + P4 + "</p><ul><li>" + P2 + "</li><li>" + P3 + "</li></ul></div>",
                     link=link2, pub="Wed, 15 May 2024 08:00:00 GMT"),
        ),
        content_type=RSS_TYPE,
    )
    site.write(sources=feed_toml("rss", httpserver.url_for("/rss.xml")))
    report, app = ingest(site)
    assert report.counts() == {"new": 2, "updated": 0, "unchanged": 0, "quarantined": 0, "failed_sources": 0}
    by_guid = {r.source_guid: r for r in app.store.list_releases()}
    first, second = by_guid["iom-2024-001"], by_guid["iom-2024-002"]
    assert first.title == TITLE1 and first.paragraphs == [P1, P2, P3]
    assert first.link == link1 and first.source == "rss"
    assert first.published_at == PUB1_UTC and first.published_at.utcoffset() == dt.timedelta(0)
    assert first.language == "mk" and first.flags == ()
    raw = json.loads(app.store.raw_revision(first.id))  # the entry as the feed gave it
    assert raw["id"] == "iom-2024-001" and raw["title"] == TITLE1 and "updated" not in raw
    assert second.title == TITLE2 and second.paragraphs == [P4, f"- {P2}", f"- {P3}"]  # issue 9: list items
    assert second.published_at == dt.datetime(2024, 5, 15, 8, 0, tzinfo=UTC)
    assert paths(httpserver) == ["/rss.xml"]  # full content: no article page fetched

    again, app = ingest(site)
    assert again.counts() == {"new": 0, "updated": 0, "unchanged": 2, "quarantined": 0, "failed_sources": 0}
    assert app.store.count_releases() == 2


def test_atom_full_content_entries_become_releases(site, httpserver, ingest):
    link = httpserver.url_for("/news/iom-border")
    atom = f"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="mk">
  <title>ИОМ Вести</title><id>urn:uuid:feed-1</id><updated>2024-05-14T10:00:00Z</updated>
  <entry>
    <title>{TITLE1}</title><id>urn:uuid:entry-1</id>
    <link rel="alternate" href="{link}"/>
    <published>2024-05-14T09:30:00+02:00</published><updated>2024-05-14T12:00:00+02:00</updated>
    <author><name>ИОМ Скопје</name></author>
    <content type="html">{escape(html_paras(P1, P2, P3))}</content>
  </entry>
  <entry>
    <title>{TITLE2}</title><id>urn:uuid:entry-2</id>
    <updated>2024-05-16T06:15:00Z</updated>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>{P4}</p><p>{P3}</p></div></content>
  </entry>
</feed>""".encode()
    httpserver.expect_request("/atom.xml").respond_with_data(atom, content_type="application/atom+xml")
    site.write(sources=feed_toml("atom", httpserver.url_for("/atom.xml")))
    report, app = ingest(site)
    assert report.counts()["new"] == 2 and not report.failed_sources and not report.quarantined
    first = next(r for r in app.store.list_releases() if r.source_guid == "urn:uuid:entry-1")
    assert first.title == TITLE1 and first.paragraphs == [P1, P2, P3]
    assert first.link == link and first.author == "ИОМ Скопје"
    assert first.published_at == PUB1_UTC  # <published>, not <updated>
    second = next(r for r in app.store.list_releases() if r.source_guid == "urn:uuid:entry-2")
    assert second.paragraphs == [P4, P3] and second.link is None
    assert second.published_at == dt.datetime(2024, 5, 16, 6, 15, tzinfo=UTC)
    again, _ = ingest(site)
    assert again.counts()["new"] == 0 and again.counts()["unchanged"] == 2


def test_conditional_get_sends_validators_and_304_stores_nothing(site, httpserver, ingest):
    etag, modified = '"v1-abc"', "Tue, 14 May 2024 08:00:00 GMT"
    body = rss(rss_item("g1", TITLE1, html_paras(P1, P2, P3), link=httpserver.url_for("/a/1")))

    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        return Response(body, content_type=RSS_TYPE, headers={"ETag": etag, "Last-Modified": modified})

    httpserver.expect_request("/feed").respond_with_handler(handler)
    site.write(sources=feed_toml("cond", httpserver.url_for("/feed")))
    first, _ = ingest(site)
    assert first.counts()["new"] == 1
    for _ in range(2):  # the cursor survives a 304, so the third request is conditional too
        report, app = ingest(site)
        assert report.counts() == {"new": 0, "updated": 0, "unchanged": 0, "quarantined": 0, "failed_sources": 0}
    requests = [request for request, _ in httpserver.log]
    assert len(requests) == 3
    assert "If-None-Match" not in requests[0].headers and "If-Modified-Since" not in requests[0].headers
    for request in requests[1:]:
        assert request.headers["If-None-Match"] == etag
        assert request.headers["If-Modified-Since"] == modified
    assert [status.status_code for _, status in httpserver.log] == [200, 304, 304]
    state = app.store.get_source_state("cond")
    assert state.last_error is None and state.state["etag"] == etag
    assert app.store.count_releases() == 1


def test_changed_entry_with_same_guid_becomes_revision_2(site, httpserver, ingest):
    served = {"body": rss(rss_item("iom-42", TITLE1, html_paras(P1, P2), link=httpserver.url_for("/a/42")))}
    httpserver.expect_request("/rss").respond_with_handler(
        lambda request: Response(served["body"], content_type=RSS_TYPE)
    )
    site.write(sources=feed_toml("rev", httpserver.url_for("/rss")))
    first, app = ingest(site)
    assert first.counts()["new"] == 1
    [release] = app.store.list_releases()
    corrected = P2.replace("Данска", "Кралството Данска")
    served["body"] = rss(rss_item("iom-42", TITLE1, html_paras(P1, corrected, P3), link=httpserver.url_for("/a/42")))
    second, app = ingest(site)
    assert second.counts() == {"new": 0, "updated": 1, "unchanged": 0, "quarantined": 0, "failed_sources": 0}
    assert app.store.count_releases() == 1
    updated = app.store.get_release(release.id)
    assert updated.uid == release.uid and updated.revision == 2
    assert updated.paragraphs == [P1, corrected, P3]
    revisions = app.store.revisions(release.id)
    assert [r.revision for r in revisions] == [1, 2]
    assert revisions[0].content_hash == release.content_hash != revisions[1].content_hash
    assert "Кралството" not in app.store.raw_revision(release.id, 1).decode("utf-8")
    assert "Кралството Данска" in app.store.raw_revision(release.id, 2).decode("utf-8")


def article_page(title: str, *paragraphs: str) -> bytes:
    return (
        '<!doctype html><html lang="mk"><head><meta charset="utf-8">'
        f"<title>{title} | ИОМ</title></head><body><nav><a href='/'>Почетна</a> <a href='/za-nas'>За нас</a></nav>"
        f"<article><h1>{title}</h1>{html_paras(*paragraphs)}</article>"
        "<footer>© ИОМ Северна Македонија. Сите права задржани.</footer></body></html>"
    ).encode()


@pytest.mark.parametrize("mode", ["auto", "entry"])
def test_summary_only_feed_fetches_the_link_only_in_auto_mode(site, httpserver, ingest, mode):
    link = httpserver.url_for("/vesti/sostanok-na-shefovite")
    summary = "ИОМ го организираше регионалниот состанок со шефовите на граничните полиции."
    page = article_page(TITLE1, P1, P2, P3, P4)
    httpserver.expect_request("/vesti/sostanok-na-shefovite").respond_with_data(page, content_type="text/html; charset=utf-8")
    httpserver.expect_request("/summary.xml").respond_with_data(
        rss(rss_item("s-1", TITLE1, link=link, summary=summary)), content_type=RSS_TYPE
    )
    site.write(sources=feed_toml("summ", httpserver.url_for("/summary.xml"), full_text=mode))
    report, app = ingest(site)
    assert report.counts()["new"] == 1 and not report.quarantined and not report.failed_sources
    [release] = app.store.list_releases()
    assert release.title == TITLE1 and release.link == link and release.source_guid == "s-1"
    assert release.published_at == PUB1_UTC  # the feed's date wins over the page's
    if mode == "auto":
        assert paths(httpserver) == ["/summary.xml", "/vesti/sostanok-na-shefovite"]
        assert release.paragraphs == [P1, P2, P3, P4]
        assert release.language == "mk"
        assert app.store.raw_revision(release.id) == page
        assert app.store.revisions(release.id)[0].content_type == "text/html"
    else:
        assert paths(httpserver) == ["/summary.xml"]
        assert release.paragraphs == [summary]
        assert app.store.revisions(release.id)[0].content_type == "application/json"


def test_summary_entry_whose_link_fails_is_quarantined_alone(site, httpserver, ingest):
    httpserver.expect_request("/gone").respond_with_data("Not here", status=404)
    httpserver.expect_request("/mixed.xml").respond_with_data(
        rss(
            rss_item("ok", TITLE1, html_paras(P1, P2, P3), link=httpserver.url_for("/a/ok")),
            rss_item("broken", TITLE2, link=httpserver.url_for("/gone"), summary="Кратко."),
        ),
        content_type=RSS_TYPE,
    )
    site.write(sources=feed_toml("mixed", httpserver.url_for("/mixed.xml")))
    report, app = ingest(site)
    assert report.counts()["new"] == 1 and not report.failed_sources
    [item] = app.store.list_quarantine()
    assert item.ref == httpserver.url_for("/gone") and item.content_type == "application/json"
    assert "could not fetch the full text" in item.reason and "404" in item.reason
    assert json.loads(app.store.quarantine_raw(item.id))["title"] == TITLE2


NOT_FEEDS = {
    "html-error-page": (
        "<html><head><title>Грешка</title></head><body><h1>Страницата е привремено недостапна</h1>"
        "<p>Обидете се повторно подоцна.</p></body></html>".encode(),
        "text/html; charset=utf-8",
    ),
    "garbage": (bytes(range(256)) * 8, "application/octet-stream"),
    "broken-xml": (b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title', RSS_TYPE),
}


@pytest.mark.parametrize("kind", sorted(NOT_FEEDS))
def test_document_that_is_not_a_feed_is_quarantined_whole(site, httpserver, ingest, kind):
    served, content_type = NOT_FEEDS[kind]
    httpserver.expect_request("/bad").respond_with_data(served, content_type=content_type)
    httpserver.expect_request("/good").respond_with_data(
        rss(rss_item("g", TITLE1, html_paras(P1, P2, P3), link=httpserver.url_for("/a/g"))), content_type=RSS_TYPE
    )
    site.write(sources=feed_toml("bad", httpserver.url_for("/bad")) + feed_toml("good", httpserver.url_for("/good")))
    report, app = ingest(site)
    assert not report.failed_sources
    assert report.counts()["new"] == 1 and report.counts()["quarantined"] == 1
    [item] = app.store.list_quarantine(source="bad")
    assert "not a feed" in item.reason and item.ref == httpserver.url_for("/bad")
    assert app.store.quarantine_raw(item.id) == served
    assert item.size == len(served)
    [release] = app.store.list_releases()
    assert release.source == "good"


@pytest.mark.parametrize("status", [500, 404])
def test_http_error_fails_the_source_but_keeps_the_others_and_the_store(site, httpserver, ingest, status):
    served = {"status": 200}
    flaky_body = rss(rss_item("f1", TITLE1, html_paras(P1, P2, P3), link=httpserver.url_for("/a/f1")))
    httpserver.expect_request("/flaky").respond_with_handler(
        lambda request: Response(flaky_body if served["status"] == 200 else b"Internal error",
                                 status=served["status"], content_type=RSS_TYPE)
    )
    stable_items = [rss_item("s1", TITLE2, html_paras(P4, P2, P3), link=httpserver.url_for("/a/s1"))]
    httpserver.expect_request("/stable").respond_with_handler(
        lambda request: Response(rss(*stable_items), content_type=RSS_TYPE)
    )
    url = httpserver.url_for("/flaky")
    site.write(sources=feed_toml("flaky", url) + feed_toml("stable", httpserver.url_for("/stable")))
    first, _ = ingest(site)
    assert first.counts()["new"] == 2

    served["status"] = status
    stable_items.append(rss_item("s2", "Трета вест за миграцијата", html_paras(P3, P1, P2), link=httpserver.url_for("/a/s2")))
    report, app = ingest(site)
    [(name, message)] = report.failed_sources
    assert name == "flaky" and url in message and f"HTTP {status}" in message
    assert report.counts()["new"] == 1 and report.counts()["unchanged"] == 1
    assert app.store.count_releases() == 3
    assert {r.source_guid for r in app.store.list_releases(source="flaky")} == {"f1"}
    state = app.store.get_source_state("flaky")
    assert state.last_error == message and state.last_success_at is not None
    assert app.store.get_source_state("stable").last_error is None


def test_timeout_fails_the_source_with_a_message_that_says_so(site, httpserver, ingest):
    release = threading.Event()

    def slow(request: Request) -> Response:
        release.wait(10)  # released as soon as ingest has given up on us
        return Response(rss(), content_type=RSS_TYPE)

    httpserver.expect_request("/slow").respond_with_handler(slow)
    httpserver.expect_request("/fast").respond_with_data(
        rss(rss_item("fast", TITLE1, html_paras(P1, P2, P3), link=httpserver.url_for("/a/fast"))), content_type=RSS_TYPE
    )
    site.settings_file.write_text(
        f'[site]\nname = "ИОМ"\nbase_url = "http://127.0.0.1:8080"\nsource_language = "mk"\n'
        f'timezone = "Europe/Skopje"\n\n[store]\nurl = "{site.db_url}"\n\n'
        "[http]\nper_host_interval_seconds = 0\ntimeout_seconds = 0.4\n"
        # the test server answers one request at a time: the fast source goes first
        + feed_toml("fast", httpserver.url_for("/fast")) + feed_toml("slow", httpserver.url_for("/slow")),
        encoding="utf-8",
    )
    try:
        report, app = ingest(site)
    finally:
        release.set()
    [(name, message)] = report.failed_sources
    assert name == "slow" and "timed out" in message and "0.4 s" in message
    assert httpserver.url_for("/slow") in message
    assert report.counts()["new"] == 1


@pytest.mark.parametrize("content_type", [RSS_TYPE, "application/xml", "text/xml; charset=windows-1251"])
def test_windows_1251_feed_decodes_to_cyrillic(site, httpserver, ingest, content_type):
    body = rss(rss_item("cp", TITLE1, html_paras(P1, P2, P3), link=httpserver.url_for("/a/cp")), encoding="windows-1251")
    assert TITLE1.encode("utf-8") not in body and TITLE1.encode("cp1251") in body
    httpserver.expect_request("/cp1251.xml").respond_with_data(body, content_type=content_type)
    site.write(sources=feed_toml("cp", httpserver.url_for("/cp1251.xml")))
    report, app = ingest(site)
    assert report.counts()["new"] == 1, report
    [release] = app.store.list_releases()
    assert release.title == TITLE1 and release.paragraphs == [P1, P2, P3]
    assert release.language == "mk" and release.flags == ()


def test_relative_links_resolve_and_ids_that_are_not_urls_are_not_links(site, httpserver, ingest):
    page = article_page(TITLE2, P4, P2, P3)
    httpserver.expect_request("/vesti/programa").respond_with_data(page, content_type="text/html; charset=utf-8")
    httpserver.expect_request("/feeds/rss.xml").respond_with_data(
        rss(
            # relative <link>, short summary: the resolved page is fetched for the full text
            rss_item("rel", TITLE2, link="/vesti/programa", summary="Кратко."),
            # <guid> without isPermaLink="false" that is no URL: feedparser copies it into link
            f"<item><title>{TITLE1}</title><guid>iom-2024-007</guid><pubDate>{PUB1}</pubDate>"
            f"<content:encoded><![CDATA[{html_paras(P1, P2, P3)}]]></content:encoded></item>",
        ),
        content_type=RSS_TYPE,
    )
    site.write(sources=feed_toml("rel", httpserver.url_for("/feeds/rss.xml")))
    report, app = ingest(site)
    assert report.counts()["new"] == 2 and not report.quarantined and not report.failed_sources
    by_guid = {r.source_guid: r for r in app.store.list_releases()}
    assert by_guid["rel"].link == httpserver.url_for("/vesti/programa")
    assert by_guid["rel"].paragraphs == [P4, P2, P3]
    assert by_guid["iom-2024-007"].link is None and by_guid["iom-2024-007"].paragraphs == [P1, P2, P3]
    assert sorted(paths(httpserver)) == ["/feeds/rss.xml", "/vesti/programa"]


def test_line_breaks_in_entry_html_separate_words_and_paragraphs(site, httpserver, ingest):
    first_half, second_half = P4.split(", ИОМ ")
    broken_p4 = f"{first_half},<br/>ИОМ {second_half}"  # a <br> inside a paragraph is a space
    httpserver.expect_request("/br.xml").respond_with_data(
        rss(
            rss_item("bare", TITLE1, f"{P1}<br/><br/>{P2}<br>\n<br>{broken_p4}", link=httpserver.url_for("/a/1")),
            rss_item("in-p", TITLE2, f"<p>{broken_p4}</p><p>{P3}</p>", link=httpserver.url_for("/a/2")),
        ),
        content_type=RSS_TYPE,
    )
    site.write(sources=feed_toml("br", httpserver.url_for("/br.xml"), full_text="entry"))
    report, app = ingest(site)
    assert report.counts()["new"] == 2
    by_guid = {r.source_guid: r for r in app.store.list_releases()}
    assert by_guid["bare"].paragraphs == [P1, P2, P4]
    assert by_guid["in-p"].paragraphs == [P4, P3]
