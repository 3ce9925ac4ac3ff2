"""Serving the built feed files: Content-Type with charset, ETag, Last-Modified, 304."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from ..settings import Settings

MEDIA_TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "opml": "text/x-opml; charset=utf-8",
    "index": "text/html; charset=utf-8",
}
CACHE_CONTROL = "public, max-age=300"


@dataclass(frozen=True)
class _Snapshot:
    key: tuple[int, int, int]  # inode, size, mtime_ns: the file as written by os.replace
    body: bytes
    etag: str
    last_modified: str
    mtime: int


class FeedFiles:
    """URL path → file; each file is read once per version (os.replace gives a new inode)."""

    def __init__(self, settings: Settings):
        out = settings.feeds.output_dir
        self.files: dict[str, tuple[Path, str]] = {}
        for lang in settings.site.languages:
            for kind in ("rss", "atom"):
                self.files["/" + settings.feeds.path(kind, lang)] = (out / settings.feeds.path(kind, lang), kind)
        for kind in ("opml", "index"):
            self.files["/" + settings.feeds.path(kind)] = (out / settings.feeds.path(kind), kind)
        index = settings.feeds.path("index")
        if index.endswith("/index.html"):  # /feeds/ shows the index page too
            self.files["/" + index.removesuffix("index.html")] = (out / index, "index")
        self._cache: dict[Path, _Snapshot] = {}

    def routes(self) -> list[Route]:
        return [Route(path, self.serve, methods=["GET", "HEAD"]) for path in self.files]

    def snapshot(self, path: Path) -> _Snapshot | None:
        try:
            with path.open("rb") as handle:  # stat the open file: body and validators match
                stat = os.fstat(handle.fileno())
                key = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
                cached = self._cache.get(path)
                if cached is not None and cached.key == key:
                    return cached
                body = handle.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        mtime = int(stat.st_mtime)
        snap = _Snapshot(key, body, f'W/"{hashlib.sha256(body).hexdigest()[:32]}"',
                         formatdate(mtime, usegmt=True), mtime)
        self._cache[path] = snap
        return snap

    async def serve(self, request: Request) -> Response:
        path, kind = self.files[request.url.path]
        snap = self.snapshot(path)
        if snap is None:
            return PlainTextResponse("not built yet: run `publisher feeds build`\n", status_code=404)
        headers = {"ETag": snap.etag, "Last-Modified": snap.last_modified, "Cache-Control": CACHE_CONTROL,
                   "Vary": "Accept-Encoding"}
        if _not_modified(request, snap):
            return Response(status_code=304, headers=headers)
        return Response(snap.body, media_type=MEDIA_TYPES[kind], headers=headers)


def _not_modified(request: Request, snap: _Snapshot) -> bool:
    """RFC 9110 §13.1: If-None-Match (weak comparison) wins over If-Modified-Since."""
    inm = request.headers.get("if-none-match")
    if inm is not None:
        if inm.strip() == "*":
            return True
        wanted = {tag.strip().removeprefix("W/") for tag in inm.split(",")}
        return snap.etag.removeprefix("W/") in wanted
    ims = request.headers.get("if-modified-since")
    if ims:
        try:
            since = parsedate_to_datetime(ims).timestamp()
        except (TypeError, ValueError, IndexError, OverflowError):
            return False
        return snap.mtime <= since
    return False
