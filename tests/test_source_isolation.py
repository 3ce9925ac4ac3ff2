"""One odd item or page never takes a network source's other items with it.

- A feed entry whose handling raises an unexpected exception is quarantined with the reason;
  the entries after it are still ingested (the source is a generator: an exception escaping it
  would end the whole feed for that run).
- A listing page nested too deep to parse in bounded time fails its source with the limit's
  reason, and the other sources still run.
"""

from __future__ import annotations

import publisher.sources.feed as feed_module

from .conftest import P1, P2, P3, P4
from .test_source_feed import RSS_TYPE, TITLE1, TITLE2, feed_toml, html_paras, rss, rss_item
from .test_source_webpage import listing_html, page_toml, serve_articles, write_settings


def test_an_entry_that_raises_is_quarantined_and_the_next_entries_still_ingested(site, httpserver, ingest, monkeypatch):
    real = feed_module.html_fragment

    def fragile(html, base):  # an extractor bug that only this one entry's markup triggers
        if "<aside>" in html:
            raise RecursionError("maximum recursion depth exceeded")
        return real(html, base)

    monkeypatch.setattr(feed_module, "html_fragment", fragile)
    httpserver.expect_request("/rss.xml").respond_with_data(
        rss(
            rss_item("odd", "Необичен запис", "<aside>" + html_paras(P1, P2) + "</aside>"),
            rss_item("good-1", TITLE1, html_paras(P1, P2, P3)),
            rss_item("good-2", TITLE2, html_paras(P4, P2)),
        ),
        content_type=RSS_TYPE,
    )
    site.write(sources=feed_toml("rss", httpserver.url_for("/rss.xml")))
    report, app = ingest(site)
    assert report.counts()["new"] == 2 and report.counts()["quarantined"] == 1
    assert report.failed_sources == []
    assert sorted(r.source_guid for r in app.store.list_releases()) == ["good-1", "good-2"]
    [row] = app.store.list_quarantine()
    assert "RecursionError" in row.reason and row.source == "rss"
    assert b"odd" in app.store.quarantine_raw(row.id)  # the entry's fields are kept for staff


def test_a_listing_page_nested_too_deep_fails_its_source_and_the_others_run(site, httpserver, ingest):
    deep = b"<html><body>" + b"<div>" * 5000 + b"<a href='/x'>x</a>" + b"</div>" * 5000 + b"</body></html>"
    httpserver.expect_request("/deep/").respond_with_data(deep, content_type="text/html; charset=utf-8")
    httpserver.expect_request("/other/").respond_with_data(listing_html("/other/1"), content_type="text/html")
    serve_articles(httpserver, keys="1", prefix="/other/")
    write_settings(site, page_toml("deep", httpserver.url_for("/deep/")) + page_toml("other", httpserver.url_for("/other/")))
    report, _app = ingest(site)
    [(name, message)] = report.failed_sources
    assert name == "deep" and "listing page" in message and "nested" in message, message
    assert report.counts()["new"] == 1  # the other source still ran
