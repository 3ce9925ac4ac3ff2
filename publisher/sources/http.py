"""A polite HTTP client for network sources: timeouts, a user agent, a minimum interval
between requests to the same host, a size cap, and conditional GET (ETag/Last-Modified)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from ..errors import ItemRejected, SourceError


@dataclass(frozen=True)
class HttpOptions:
    user_agent: str
    timeout_seconds: float = 20.0
    per_host_interval_seconds: float = 1.0
    max_redirects: int = 5
    max_bytes: int = 5_000_000


@dataclass(frozen=True)
class Response:
    url: str
    status: int
    content: bytes
    content_type: str
    charset: str | None
    etag: str | None
    last_modified: str | None

    @property
    def not_modified(self) -> bool:
        return self.status == 304


class PoliteClient:
    """One per ingest run; shared by the sources of that run so per-host pacing holds."""

    def __init__(
        self,
        options: HttpOptions,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.options = options
        self._client = httpx.Client(
            headers={"User-Agent": options.user_agent, "Accept-Encoding": "gzip, deflate"},
            timeout=options.timeout_seconds,
            follow_redirects=True,
            max_redirects=options.max_redirects,
            transport=transport,
        )
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _pace(self, url: str) -> None:
        host = urlsplit(url).netloc.lower()
        with self._lock:
            now = self._clock()
            last = self._last.get(host)
            wait = 0.0 if last is None else last + self.options.per_host_interval_seconds - now
            self._last[host] = max(now, now + wait)
        if wait > 0:
            self._sleep(wait)

    def get(
        self,
        url: str,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = "*/*",
        max_bytes: int | None = None,
    ) -> Response:
        """GET with pacing and a size cap. Raises SourceError on network errors and HTTP
        errors (naming the URL and what to check); a 304 is returned, not raised."""
        limit = max_bytes or self.options.max_bytes
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        self._pace(url)
        try:
            with self._client.stream("GET", url, headers=headers) as response:
                if response.status_code >= 400:
                    raise SourceError(
                        f"GET {url} answered HTTP {response.status_code} {response.reason_phrase}; "
                        "check the URL in the source's settings and that the site is up"
                    )
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > limit:
                    raise ItemRejected(f"{url} is {declared} bytes, over the {limit}-byte limit (max_bytes)")
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise ItemRejected(f"{url} is over the {limit}-byte limit (max_bytes)")
                    chunks.append(chunk)
                content_type = response.headers.get("Content-Type", "")
                return Response(
                    url=str(response.url),
                    status=response.status_code,
                    content=b"".join(chunks),
                    content_type=content_type.split(";")[0].strip().lower(),
                    charset=response.charset_encoding,
                    etag=response.headers.get("ETag"),
                    last_modified=response.headers.get("Last-Modified"),
                )
        except httpx.TimeoutException:
            raise SourceError(
                f"GET {url} timed out after {self.options.timeout_seconds:g} s; "
                "the site is slow or down (raise [http] timeout_seconds if it is just slow)"
            ) from None
        except httpx.TooManyRedirects:
            raise SourceError(f"GET {url} redirected more than {self.options.max_redirects} times") from None
        except httpx.HTTPError as exc:
            raise SourceError(f"GET {url} failed: {exc}; check the URL and the network") from None
