"""Serving feeds over a real uvicorn server on 127.0.0.1: Content-Type, ETag, 304, gzip."""

from __future__ import annotations

import contextlib
import gzip
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn

from publisher.feeds import build_feeds
from publisher.web.app import create_app

from .test_feeds import populate, settings_for


@contextlib.contextmanager
def serve(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """Run ``app`` under uvicorn on a free loopback port; yields the base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture
def served(site, store):
    populate(store)
    settings = settings_for(site)
    build_feeds(settings, store)
    with serve(create_app(settings)) as base, httpx.Client(base_url=base, timeout=10) as client:
        yield settings, store, client


@pytest.mark.parametrize(
    ("path", "media_type"),
    [("/feeds/mk/rss.xml", "application/rss+xml; charset=utf-8"),
     ("/feeds/sq/atom.xml", "application/atom+xml; charset=utf-8"),
     ("/feeds/feeds.opml", "text/x-opml; charset=utf-8"),
     ("/feeds/index.html", "text/html; charset=utf-8"),
     ("/feeds/", "text/html; charset=utf-8")],
)
def test_content_type_etag_and_conditional_get(served, path, media_type):
    settings, _, client = served
    first = client.get(path, headers={"Accept-Encoding": "identity"})
    assert first.status_code == 200
    assert first.headers["content-type"] == media_type
    name = "index" if path.endswith("/") else path.rsplit("/", 1)[-1].split(".")[0]
    kind = {"feeds": "opml"}.get(name, name)
    file_path = "feeds/index.html" if kind == "index" else path.lstrip("/")
    assert first.content == (settings.feeds.output_dir / file_path).read_bytes()
    etag, last_modified = first.headers["etag"], first.headers["last-modified"]
    assert etag.startswith('W/"') and last_modified.endswith("GMT")
    again = client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    since = client.get(path, headers={"If-Modified-Since": last_modified})
    assert since.status_code == 304
    assert client.get(path, headers={"If-None-Match": '"other"', "If-Modified-Since": last_modified}).status_code == 200
    assert client.head(path).status_code == 200


def test_gzip_when_asked(served):
    _, _, client = served
    plain = client.get("/feeds/mk/atom.xml", headers={"Accept-Encoding": "identity"})
    zipped = client.get("/feeds/mk/atom.xml", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in plain.headers
    assert zipped.headers["content-encoding"] == "gzip" and "Accept-Encoding" in zipped.headers["vary"]
    assert zipped.content == plain.content  # httpx decoded it
    assert int(zipped.headers["content-length"]) < len(plain.content)
    assert zipped.headers["etag"] == plain.headers["etag"]  # weak: same content, either encoding
    with httpx.stream("GET", str(client.base_url) + "/feeds/mk/atom.xml", headers={"Accept-Encoding": "gzip"}) as r:
        assert gzip.decompress(b"".join(r.iter_raw())) == plain.content


def test_rebuild_changes_etag_only_when_content_changes(served):
    settings, store, client = served
    etag = client.get("/feeds/en/rss.xml").headers["etag"]
    build_feeds(settings, store)  # nothing changed: same file, same validators
    assert client.get("/feeds/en/rss.xml", headers={"If-None-Match": etag}).status_code == 304
    from .test_feeds import make_release

    release = make_release(store, 7, "Седма вест", "Текст.")
    store.save_machine_translation(release, "en", "Seventh news", "Text.", "apertium", [])
    build_feeds(settings, store)
    fresh = client.get("/feeds/en/rss.xml", headers={"If-None-Match": etag})
    assert fresh.status_code == 200 and fresh.headers["etag"] != etag and b"Seventh news" in fresh.content


def test_missing_feed_is_404_and_other_paths_are_not_served(site, store):
    settings = settings_for(site)
    (site.dir / "secret.txt").write_text("no", encoding="utf-8")
    with serve(create_app(settings)) as base:
        assert httpx.get(base + "/feeds/mk/rss.xml").status_code == 404
        assert httpx.get(base + "/settings.toml").status_code == 404
        assert httpx.get(base + "/feeds/../settings.toml").status_code == 404
