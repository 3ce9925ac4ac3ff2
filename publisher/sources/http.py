"""A polite HTTP client for network sources: the source's network policy on every hop
(netpolicy.py), a deadline for the whole request, a user agent, a minimum interval between
requests to the same host, a size cap, and conditional GET (ETag/Last-Modified)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin

import httpx

from ..errors import ItemRejected, SourceError
from .netpolicy import NetworkPolicy, PolicyRefused, PolicyTransport, deadline, extend_deadline, time_left


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
    """One per ingest run; shared by the sources of that run so per-host pacing holds.

    Every request names the source's NetworkPolicy (``get(url, policy=...)``): the URL and
    every redirect hop are checked before anything is sent, connections go only to checked
    addresses (one pool per policy, so a connection opened under one policy is never reused
    under another), and ``timeout_seconds`` is a deadline for the whole request. A
    ``transport`` (tests) replaces the network layer: the scheme and origin rules still apply,
    the address rule then only to IP literals."""

    def __init__(
        self,
        options: HttpOptions,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.options = options
        self._transport = transport
        self._transports: dict[NetworkPolicy, httpx.BaseTransport] = {}
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()
        self._clock = clock
        self._sleep = sleep

    def _transport_for(self, policy: NetworkPolicy) -> httpx.BaseTransport:
        # requests go straight to the transport, not through httpx.Client: redirects are
        # followed here (the client would build, and may choke on, the next hop itself)
        if self._transport is not None:
            return self._transport
        with self._lock:
            transport = self._transports.get(policy)
            if transport is None:
                transport = self._transports[policy] = PolicyTransport(policy)
            return transport

    def close(self) -> None:
        with self._lock:
            transports, self._transports = list(self._transports.values()), {}
        for transport in transports:
            transport.close()
        if self._transport is not None:
            self._transport.close()

    def __enter__(self) -> PoliteClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _pace(self, url: httpx.URL) -> float:
        """Wait for the host's interval; returns the seconds waited."""
        host = url.netloc.decode("ascii", "replace").lower()
        with self._lock:
            now = self._clock()
            last = self._last.get(host)
            wait = 0.0 if last is None else last + self.options.per_host_interval_seconds - now
            self._last[host] = max(now, now + wait)
        if wait > 0:
            self._sleep(wait)
        return max(wait, 0.0)

    def get(
        self,
        url: str,
        *,
        policy: NetworkPolicy,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = "*/*",
        max_bytes: int | None = None,
    ) -> Response:
        """GET with the source's network policy, pacing, a deadline and a size cap.

        Raises PolicyRefused (an ItemRejected, nothing sent) when the URL or a redirect hop is
        not allowed, ItemRejected when the body is over the limit, SourceError on network and
        HTTP errors (naming the URL and what to check); a 304 is returned, not raised."""
        limit = max_bytes or self.options.max_bytes
        headers = {"User-Agent": self.options.user_agent, "Accept-Encoding": "gzip, deflate", "Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        transport = self._transport_for(policy)
        timeout = self.options.timeout_seconds
        extensions = {"timeout": httpx.Timeout(timeout).as_dict()}
        target, hops = url, 0
        with deadline(timeout):
            while True:
                where = f"GET {url}" if hops == 0 else f"GET {url} (redirected to {target})"
                try:
                    policy.check_scheme(target)
                    try:
                        current = httpx.URL(target)
                    except (httpx.InvalidURL, UnicodeError, TypeError) as exc:
                        raise SourceError(f"{where}: not a valid URL ({exc})") from None
                    policy.check_url(current)
                    extend_deadline(self._pace(current))  # our own pause is not the server's time
                    request = httpx.Request("GET", current, headers=headers, extensions=extensions)
                    response = transport.handle_request(request)
                    response.request = request
                    try:
                        location = response.headers.get("Location") if response.is_redirect else None
                        if location is None:
                            return self._read(response, url, limit, timeout)
                    finally:
                        response.close()
                except PolicyRefused as exc:
                    raise exc.at(where) from None
                except httpx.TimeoutException:
                    raise SourceError(
                        f"{where} timed out: no complete answer within {timeout:g} s (the deadline of the whole "
                        "request, connect to last byte); the site is slow or down "
                        "(raise [http] timeout_seconds if it is just slow)"
                    ) from None
                except httpx.HTTPError as exc:
                    raise SourceError(f"{where} failed: {exc}; check the URL and the network") from None
                hops += 1
                if hops > self.options.max_redirects:
                    raise SourceError(f"GET {url} redirected more than {self.options.max_redirects} times")
                target = urljoin(str(current), location.strip())

    def _read(self, response: httpx.Response, url: str, limit: int, timeout: float) -> Response:
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
            time_left(None, httpx.ReadTimeout)  # also when a transport of its own streams the body
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
