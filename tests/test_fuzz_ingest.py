"""Fuzzing ingest with Hypothesis over the hostile corpus (tests/hostile_corpus.py): the
directory source, the feed source (documents served by an in-process transport, never the
network) and the extractors. A sample runs in CI (well under a minute); bench/fuzz_ingest.py
runs the full set.

Invariants: no exception escapes ingest (no failed source), every good file and feed entry
is ingested, every bad one is quarantined with a reason (row and moved file with a
.reason.txt), every other entry of the folder is skipped under the right reason.
"""

from __future__ import annotations

import itertools
import json
import random

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from publisher.app import App
from publisher.errors import ItemRejected
from publisher.sources import limits
from publisher.sources.decode import decode_bytes
from publisher.sources.extract import extract_html, extract_markdown, html_fragment

from . import hostile_corpus as corpus

FUZZ = settings(max_examples=12, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])
_runs = itertools.count()

names = st.binary(min_size=1, max_size=60).filter(lambda b: b"/" not in b and b"\x00" not in b and b not in (b".", b".."))


def free_entries():
    """Entries Hypothesis makes up itself: any name, any bytes (accounted for, never lost)."""
    return st.builds(
        lambda name, data, ext: corpus.Entry(b"zz-" + name + ext, "file", data, "accounted", "hypothesis bytes"),
        names, st.binary(max_size=3000), st.sampled_from([b".txt", b".md", b".html", b".htm", b""]),
    )


def corpus_entries():
    return st.builds(lambda seed: corpus.entry(random.Random(seed), seed % 100_000), st.integers(0, 2**32))


def directory_settings(name: str, inbox) -> str:
    return (f'\n[[sources]]\nname = "{name}"\ntype = "directory"\npath = "{inbox}"\nsettle_seconds = 30\n'
            "max_bytes = 1000000\n")


@pytest.fixture
def fuzz_site(tmp_path):
    """SQLite only (the directory test runs on both backends through `site`)."""
    from .conftest import Site
    from publisher.store import Store

    url = f"sqlite:///{tmp_path / 'fuzz.db'}"
    Store.upgraded(url).close()
    return Site(tmp_path / "site", url)


@FUZZ
@given(entries=st.lists(st.one_of(corpus_entries(), corpus_entries(), free_entries()), min_size=1, max_size=8))
def test_directory_source_accounts_for_every_file(site, entries):
    run = next(_runs)
    name = f"fz{run}"
    inbox = site.dir / f"inbox-{run}"
    entries = corpus.entries_unique(entries)
    corpus.materialize(entries, inbox, can_deny=False)  # root in-process: unreadable means nothing here
    site.write(sources=directory_settings(name, inbox))
    with App(site.settings()) as app:
        report = app.ingest()
        rows = {row.ref: row for row in app.store.list_quarantine(limit=10_000, source=name)}
    problems = corpus.check(report, entries, name, site.dir / "var" / "quarantine" / name, rows)
    assert problems == [], problems


def feed_transport(documents: dict[str, bytes]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        body = documents.get(request.url.path)
        if body is None:
            return httpx.Response(404, text="not here")
        return httpx.Response(200, content=body, headers={"content-type": "application/rss+xml"})

    return httpx.MockTransport(handler)


@settings(FUZZ, max_examples=10)
@given(seeds=st.lists(st.integers(0, 2**32), min_size=1, max_size=4, unique=True))
def test_feed_source_survives_hostile_documents(fuzz_site, seeds):
    site = fuzz_site
    run = next(_runs)
    base = "http://127.0.0.1:9"
    documents, good, sources = {}, [], []
    for k, seed in enumerate(seeds):
        data, links, _label = corpus.feed_document(random.Random(seed), run * 10 + k, base)
        path = f"/feed-{run}-{k}.xml"
        documents[path] = data
        name = f"feed{run}x{k}"
        good += [f"{name}:{link}" for link in links]
        sources.append(f'\n[[sources]]\nname = "{name}"\ntype = "feed"\nurl = "{base}{path}"\n'
                       'full_text = "entry"\nallow_private_networks = true\n')
    site.write(sources="".join(sources))
    with App(site.settings()) as app:
        report = app.ingest(transport=feed_transport(documents))
    assert report.failed_sources == [], report.failed_sources
    ingested = set(report.new) | set(report.updated) | set(report.unchanged)
    assert [ref for ref in good if ref not in ingested] == [], report.quarantined
    for ref, reason in report.quarantined:
        assert reason.strip(), ref


@settings(max_examples=30, deadline=None, derandomize=True)
@given(data=st.one_of(st.binary(max_size=4000), st.builds(lambda s: corpus.entry(random.Random(s), 1).data,
                                                            st.integers(0, 2**32))))
def test_extractors_raise_only_item_rejected(data):
    try:
        text, _ = decode_bytes(data)
    except ItemRejected:
        text = data.decode("utf-8", "replace")
    for extractor in (extract_html, extract_markdown, lambda t: html_fragment(t)):
        try:
            extractor(text)
        except ItemRejected as exc:
            assert exc.reason.strip()
    parsed = limits.parse_feed(data)
    json.dumps(len(parsed.entries))  # a result, whatever the input
