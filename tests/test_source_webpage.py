"""The `webpage` source through the real ingest stage, and the PoliteClient it shares with
`feed`, against a loopback HTTP server (pytest-httpserver on localhost, never the internet).

The server is reachable as localhost:PORT and as 127.0.0.1:PORT: for the source those are two
different hosts, which is how "another host" is tested without leaving the machine.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json

import pytest
from werkzeug import Request, Response

from publisher.errors import ItemRejected, SourceError
from publisher.sources.extract import extract_html
from publisher.sources.http import HttpOptions, PoliteClient
from publisher.sources.netpolicy import NetworkPolicy

from .conftest import P1, P2, P3, P4, paths

UTC = dt.timezone.utc
TITLES = {
    "1": "ИОМ организираше состанок со шефовите на граничните служби",
    "2": "Нова програма за поддршка на мигрантите во Скопје",
    "3": "Обука за граничната полиција во Куманово",
    "4": "Меѓународен ден на мигрантите одбележан во Битола",
    "5": "Кампања против трговијата со луѓе во Тетово",
}
BODIES = {"1": (P1, P2, P3), "2": (P2, P3, P4), "3": (P3, P4, P1), "4": (P4, P1, P2), "5": (P1, P3, P4)}
UA = "IOM-MK-Publisher/2.0 (+mailto:press@iom.example)"


def article_html(key: str, canonical: str, published: str = "2024-05-14T09:30:00+02:00") -> bytes:
    paragraphs = "".join(f"<p>{p}</p>" for p in BODIES[key])
    return (
        f'<!doctype html><html lang="mk"><head><meta charset="utf-8"><title>{TITLES[key]} | ИОМ</title>'
        f'<meta property="article:published_time" content="{published}">'
        f'<link rel="canonical" href="{canonical}"></head><body>'
        "<nav><a href='/'>Почетна</a> <a href='/za-nas'>За нас</a></nav>"
        f"<article><h1>{TITLES[key]}</h1>{paragraphs}</article>"
        "<footer>© ИОМ Северна Македонија</footer></body></html>"
    ).encode()


def listing_html(*hrefs: str) -> bytes:
    items = "".join(f'<article><h2><a href="{h}">Вест</a></h2><p>Краток опис.</p></article>' for h in hrefs)
    return (
        '<!doctype html><html lang="mk"><head><meta charset="utf-8"><title>Соопштенија</title></head><body>'
        '<nav><a href="/mk/za-nas">За нас</a></nav><main>' + items
        + '<aside><a href="/mk/soopstenija/4">Најчитано</a></aside></main></body></html>'
    ).encode()


def serve_articles(httpserver, keys="1234", prefix="/mk/soopstenija/"):
    """Articles at PREFIX+key with an ETag; a matching If-None-Match gets 304."""
    for key in keys:
        body, etag = article_html(key, httpserver.url_for(f"/vesti/{key}-kanonski")), f'"art-{key}-v1"'

        def handler(request: Request, body=body, etag=etag) -> Response:
            if request.headers.get("If-None-Match") == etag:
                return Response(status=304, headers={"ETag": etag})
            return Response(body, content_type="text/html; charset=utf-8", headers={"ETag": etag})

        httpserver.expect_request(prefix + key).respond_with_handler(handler)


def write_settings(site, sources: str, user_agent: str = UA) -> None:
    site.settings_file.write_text(
        f'[site]\nname = "ИОМ"\nbase_url = "http://127.0.0.1:8080"\nsource_language = "mk"\n'
        f'timezone = "Europe/Skopje"\n\n[store]\nurl = "{site.db_url}"\n\n'
        f'[http]\nper_host_interval_seconds = 0\ntimeout_seconds = 5\nuser_agent = "{user_agent}"\n'
        + sources,
        encoding="utf-8",
    )


def page_toml(name: str, url: str, selector: str = "article h2 a", **options: object) -> str:
    # the test server is on loopback, which the network policy refuses unless the source allows it
    options = {"allow_private_networks": True, **options}
    lines = ["", "[[sources]]", f'name = "{name}"', 'type = "webpage"', f'url = "{url}"',
             f"link_selector = {json.dumps(selector)}"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in options.items()]
    return "\n".join(lines) + "\n"


def test_listing_links_are_resolved_filtered_and_each_article_extracted(site, httpserver, ingest):
    other_host = httpserver.url_for("/mk/soopstenija/5").replace("localhost", "127.0.0.1")
    httpserver.expect_request("/mk/soopstenija/").respond_with_data(
        listing_html(
            "/mk/soopstenija/1",
            "2#komentari",                         # relative, with a fragment
            httpserver.url_for("/mk/soopstenija/1"),  # the same article, absolute
            "/mk/soopstenija/2#",                  # the same article again
            other_host,                            # another host: ignored
            "mailto:press@iom.example",
            "3",
            "4",                                   # beyond max_articles
        ),
        content_type="text/html; charset=utf-8",
    )
    serve_articles(httpserver, keys="12345")
    write_settings(site, page_toml("web", httpserver.url_for("/mk/soopstenija/"), max_articles=3))
    report, app = ingest(site)
    assert report.counts() == {"new": 3, "updated": 0, "unchanged": 0, "quarantined": 0, "failed_sources": 0}
    assert paths(httpserver) == ["/mk/soopstenija/", "/mk/soopstenija/1", "/mk/soopstenija/2", "/mk/soopstenija/3"]
    releases = {r.link: r for r in app.store.list_releases()}
    assert set(releases) == {httpserver.url_for(f"/vesti/{k}-kanonski") for k in "123"}  # canonical links
    for key in "123":
        release = releases[httpserver.url_for(f"/vesti/{key}-kanonski")]
        assert release.title == TITLES[key] and release.paragraphs == list(BODIES[key])
        assert release.published_at == dt.datetime(2024, 5, 14, 7, 30, tzinfo=UTC)
        assert release.language == "mk" and release.flags == () and release.source == "web"
        assert release.source_guid is None
        assert app.store.raw_revision(release.id) == article_html(key, release.link)
        [revision] = app.store.revisions(release.id)
        assert revision.ref == httpserver.url_for(f"/mk/soopstenija/{key}") and revision.content_type == "text/html"
    assert all(request.headers["User-Agent"] == UA for request, _ in httpserver.log)


def test_second_run_sends_if_none_match_and_304_counts_as_unchanged(site, httpserver, ingest):
    httpserver.expect_request("/mk/soopstenija/").respond_with_data(
        listing_html("1", "2", "3"), content_type="text/html; charset=utf-8"
    )
    serve_articles(httpserver, keys="123")
    write_settings(site, page_toml("web", httpserver.url_for("/mk/soopstenija/")))
    first, _ = ingest(site)
    assert first.counts()["new"] == 3
    httpserver.clear_log()
    report, app = ingest(site)
    assert report.counts() == {"new": 0, "updated": 0, "unchanged": 3, "quarantined": 0, "failed_sources": 0}
    assert sorted(report.unchanged) == [f"web:{httpserver.url_for(f'/mk/soopstenija/{k}')}" for k in "123"]
    articles = [(request, response) for request, response in httpserver.log if request.path != "/mk/soopstenija/"]
    assert len(articles) == 3
    for request, response in articles:
        assert request.headers["If-None-Match"] == f'"art-{request.path[-1]}-v1"'
        assert response.status_code == 304
    assert app.store.count_releases() == 3


def test_listing_without_matching_links_fails_the_source_naming_the_selector(site, httpserver, ingest):
    httpserver.expect_request("/mk/soopstenija/").respond_with_data(
        listing_html("1", "2"), content_type="text/html; charset=utf-8"
    )
    httpserver.expect_request("/other/").respond_with_data(listing_html("/other/1"), content_type="text/html")
    serve_articles(httpserver, keys="1", prefix="/other/")
    url = httpserver.url_for("/mk/soopstenija/")
    write_settings(site, page_toml("empty", url, selector="div.news-item a.title") + page_toml("other", httpserver.url_for("/other/")))
    report, app = ingest(site)
    [(name, message)] = report.failed_sources
    assert name == "empty" and "div.news-item a.title" in message and url in message
    assert report.counts()["new"] == 1  # the other source still ran
    assert paths(httpserver).count("/mk/soopstenija/") == 1 and "/mk/soopstenija/1" not in paths(httpserver)
    assert app.store.get_source_state("empty").last_error == message


def test_failing_or_empty_article_is_quarantined_and_the_others_are_stored(site, httpserver, ingest):
    httpserver.expect_request("/mk/soopstenija/").respond_with_data(
        listing_html("1", "broken", "empty", "3"), content_type="text/html; charset=utf-8"
    )
    serve_articles(httpserver, keys="13")
    httpserver.expect_request("/mk/soopstenija/broken").respond_with_data("Внатрешна грешка", status=500)
    empty_page = '<html lang="mk"><head><title>Празно</title></head><body><nav></nav></body></html>'.encode()
    httpserver.expect_request("/mk/soopstenija/empty").respond_with_data(empty_page, content_type="text/html")
    write_settings(site, page_toml("web", httpserver.url_for("/mk/soopstenija/")))
    report, app = ingest(site)
    assert not report.failed_sources
    assert report.counts()["new"] == 2 and report.counts()["quarantined"] == 2
    items = {item.ref: item for item in app.store.list_quarantine(source="web")}
    broken, empty = httpserver.url_for("/mk/soopstenija/broken"), httpserver.url_for("/mk/soopstenija/empty")
    assert set(items) == {broken, empty}
    assert "HTTP 500" in items[broken].reason and broken in items[broken].reason
    assert "no article text" in items[empty].reason
    assert app.store.quarantine_raw(items[empty].id) == empty_page
    assert {r.title for r in app.store.list_releases()} == {TITLES["1"], TITLES["3"]}
    # a failed article is not remembered: the next run asks for it again, unconditionally
    httpserver.clear_log()
    ingest(site)
    [request] = [r for r, _ in httpserver.log if r.path == "/mk/soopstenija/broken"]
    assert "If-None-Match" not in request.headers


def test_listing_redirected_to_another_host_keeps_its_articles(site, httpserver, ingest):
    moved = httpserver.url_for("/novo/").replace("localhost", "127.0.0.1")
    httpserver.expect_request("/staro/").respond_with_data("", status=301, headers={"Location": moved})
    httpserver.expect_request("/novo/").respond_with_data(listing_html("1", "2"), content_type="text/html")
    serve_articles(httpserver, keys="12", prefix="/novo/")
    # the other host must be allowed: by default the source fetches only from its own origin
    write_settings(site, page_toml("moved", httpserver.url_for("/staro/")))
    report, app = ingest(site)
    [(name, message)] = report.failed_sources
    assert name == "moved" and "refused by the network policy (origin rule)" in message and moved in message
    assert paths(httpserver) == ["/staro/"]  # the refused hop was never requested

    write_settings(site, page_toml("moved", httpserver.url_for("/staro/"), allowed_hosts=[f"127.0.0.1:{httpserver.port}"]))
    report, app = ingest(site)
    assert not report.failed_sources and report.counts()["new"] == 2
    assert sorted(r.title for r in app.store.list_releases()) == sorted([TITLES["1"], TITLES["2"]])


def test_xhtml_listing_and_article_with_xml_declaration(site, httpserver, ingest):
    declaration = b'<?xml version="1.0" encoding="utf-8"?>\n'
    httpserver.expect_request("/x/").respond_with_data(
        declaration + listing_html("/x/1").replace(b"<!doctype html>", b""), content_type="application/xhtml+xml"
    )
    page = declaration + article_html("1", httpserver.url_for("/x/1")).replace(
        b'<!doctype html><html lang="mk">', b'<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="mk">'
    )
    httpserver.expect_request("/x/1").respond_with_data(page, content_type="application/xhtml+xml")
    write_settings(site, page_toml("xhtml", httpserver.url_for("/x/")))
    report, app = ingest(site)
    assert not report.failed_sources and report.counts()["new"] == 1
    [release] = app.store.list_releases()
    assert release.title == TITLES["1"] and release.paragraphs == list(BODIES["1"])
    assert extract_html(page.decode("utf-8")).language == "mk"  # xml:lang is read


def test_article_date_without_zone_is_read_in_the_site_timezone(site, httpserver, ingest):
    httpserver.expect_request("/l/").respond_with_data(listing_html("/l/1"), content_type="text/html")
    httpserver.expect_request("/l/1").respond_with_data(
        article_html("1", httpserver.url_for("/l/1"), published="2024-01-10T12:00:00"), content_type="text/html"
    )
    write_settings(site, page_toml("tz", httpserver.url_for("/l/")))
    report, app = ingest(site)
    assert not report.failed_sources
    [release] = app.store.list_releases()
    assert release.published_at == dt.datetime(2024, 1, 10, 11, 0, tzinfo=UTC)  # Skopje is UTC+1 in January


# ---------------------------------------------------------------------------- PoliteClient


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def client(interval: float = 0.0, max_bytes: int = 5_000_000, clock: FakeClock | None = None) -> PoliteClient:
    clock = clock or FakeClock()
    options = HttpOptions(user_agent=UA, timeout_seconds=5, per_host_interval_seconds=interval, max_bytes=max_bytes)
    return PoliteClient(options, clock=clock, sleep=clock.sleep)


def loopback_policy(httpserver) -> NetworkPolicy:
    """The test server as localhost:PORT and 127.0.0.1:PORT, loopback allowed."""
    return NetworkPolicy.for_source(httpserver.url_for("/"), [f"127.0.0.1:{httpserver.port}"],
                                    allow_private_networks=True)


def test_polite_client_paces_requests_per_host(httpserver):
    httpserver.expect_request("/p").respond_with_data("добро")
    here, there = httpserver.url_for("/p"), httpserver.url_for("/p").replace("localhost", "127.0.0.1")
    policy = loopback_policy(httpserver)
    clock = FakeClock()
    with client(interval=2.0, clock=clock) as http:
        http.get(here, policy=policy)                  # first request to a host: no wait
        assert clock.sleeps == []
        clock.now += 0.5
        http.get(here, policy=policy)                  # 0.5 s later: wait the remaining 1.5 s
        assert clock.sleeps == [pytest.approx(1.5)]
        http.get(there, policy=policy)                 # another host has its own interval
        assert clock.sleeps == [pytest.approx(1.5)]
        http.get(here, policy=policy)                  # right after the paced one: a full interval
        assert clock.sleeps == [pytest.approx(1.5), pytest.approx(2.0)]
        clock.now += 60
        http.get(here, policy=policy)                  # long after: no wait
        assert len(clock.sleeps) == 2
    assert len(httpserver.log) == 5
    clock = FakeClock()
    with client(interval=0, clock=clock) as http:
        for _ in range(3):
            http.get(here, policy=policy)
    assert clock.sleeps == []


def test_polite_client_caps_the_size(httpserver):
    big = ("Меѓународната организација за миграции. " * 200).encode()
    httpserver.expect_request("/big").respond_with_data(big)
    httpserver.expect_request("/bomb").respond_with_data(
        gzip.compress(big * 10), headers={"Content-Encoding": "gzip"}
    )
    policy = loopback_policy(httpserver)
    with client(max_bytes=len(big) - 1) as http:
        with pytest.raises(ItemRejected) as declared:
            http.get(httpserver.url_for("/big"), policy=policy)
        assert "max_bytes" in declared.value.reason and httpserver.url_for("/big") in declared.value.reason
        assert http.get(httpserver.url_for("/big"), policy=policy, max_bytes=len(big)).content == big  # per-call limit
        # small on the wire, over the limit once decompressed
        assert len(gzip.compress(big * 10)) < len(big)
        with pytest.raises(ItemRejected, match="max_bytes"):
            http.get(httpserver.url_for("/bomb"), policy=policy)
    with client(max_bytes=len(big) * 10) as http:
        assert http.get(httpserver.url_for("/bomb"), policy=policy).content == big * 10


def test_polite_client_conditional_get_and_errors(httpserver):
    etag, modified = '"abc"', "Tue, 14 May 2024 08:00:00 GMT"

    def handler(request: Request) -> Response:
        if request.headers.get("If-None-Match") == etag and request.headers.get("If-Modified-Since") == modified:
            return Response(status=304, headers={"ETag": etag})
        return Response("<rss/>", content_type="application/rss+xml; charset=windows-1251",
                        headers={"ETag": etag, "Last-Modified": modified})

    httpserver.expect_request("/feed").respond_with_handler(handler)
    httpserver.expect_request("/missing").respond_with_data("Не постои", status=404)
    url = httpserver.url_for("/feed")
    policy = loopback_policy(httpserver)
    with client() as http:
        fresh = http.get(url, policy=policy, accept="application/rss+xml")
        assert (fresh.status, fresh.not_modified, fresh.content) == (200, False, b"<rss/>")
        assert (fresh.etag, fresh.last_modified) == (etag, modified)
        assert (fresh.content_type, fresh.charset) == ("application/rss+xml", "windows-1251")
        cached = http.get(url, policy=policy, etag=fresh.etag, last_modified=fresh.last_modified)
        assert cached.not_modified and cached.status == 304 and cached.content == b""
        with pytest.raises(SourceError) as error:
            http.get(httpserver.url_for("/missing"), policy=policy)
        assert "HTTP 404" in str(error.value) and httpserver.url_for("/missing") in str(error.value)
    first = httpserver.log[0][0]
    assert first.headers["User-Agent"] == UA and first.headers["Accept"] == "application/rss+xml"
    assert "If-None-Match" not in first.headers


def test_listing_without_any_html_fails_with_a_clear_message(httpserver):
    from publisher.cleaning import Boilerplate
    from publisher.errors import SourceError
    from publisher.settings import WebpageSourceOptions
    from publisher.sources import SourceContext
    from publisher.sources.webpage import WebpageSource

    options = WebpageSourceOptions(type="webpage", name="news", url=httpserver.url_for("/"), link_selector="a")
    source = WebpageSource(options, SourceContext(Boilerplate(), dt.timezone.utc, 1000, "/tmp", http=object()))
    with pytest.raises(SourceError, match="has no HTML to read"):
        source.article_links("<!-- only a comment -->", httpserver.url_for("/"))
