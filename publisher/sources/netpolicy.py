"""The network policy of a source: where its fetches may go, checked on every hop.

Every outbound request of the ``feed`` and ``webpage`` sources (the feed, full-text links,
the listing page, articles) goes through ``PoliteClient.get(url, policy=...)``, which checks
each URL, the first and every redirect hop, with ``NetworkPolicy.check_url`` before anything
is sent, and connects through ``PolicyBackend``:

* scheme rule: only ``http`` and ``https``;
* origin rule: only the source's own origin (scheme, host and port of its ``url``) and the
  ``allowed_hosts`` of the source (``"host"`` = that host on ports 80 and 443, ``"host:port"``
  = that port), with http or https;
* private address rule: the host is resolved once, every address is classified with
  ``ipaddress`` (loopback, private, link-local, multicast, reserved, unspecified, IPv4-mapped
  IPv6 of those, anything not globally routable) and refused unless the source sets
  ``allow_private_networks``; the connection goes to the checked address itself, so a second
  DNS answer (rebinding) cannot slip another address in;
* deadline: ``[http] timeout_seconds`` bounds the whole request, connect to last byte (every
  socket read and write gets only the time left), however slowly the server drips.

A refusal raises ``PolicyRefused`` (an ``ItemRejected``): its reason says "refused by the
network policy" and which rule, and since nothing was sent to a refused target it cannot
tell whether a port answered.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import contextvars
import ipaddress
import socket
import time
import typing
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpcore
import httpx

from ..errors import ItemRejected

SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}

# the deadline (time.monotonic()) of the request running in this thread, if any
_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar("publisher_http_deadline", default=None)


class PolicyRefused(ItemRejected):
    """A fetch the source's network policy does not allow; nothing was sent."""

    def __init__(self, rule: str, detail: str, where: str = ""):
        self.rule, self.detail, self.where = rule, detail, where
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}refused by the network policy ({rule} rule): {detail}")

    def at(self, where: str) -> PolicyRefused:
        return PolicyRefused(self.rule, self.detail, where)


# ---------------------------------------------------------------------------- addresses


def classify_address(address: str) -> str | None:
    """What kind of non-public address this is ("loopback", "private", "link-local",
    "multicast", "reserved", "unspecified", "not globally routable"), or None for a public one.
    Pure: nothing is resolved or sent. IPv4-mapped IPv6 (``::ffff:10.0.0.1``) is judged as the
    IPv4 address it maps."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone id (fe80::1%eth0) is not part of it
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # ::ffff:a.b.c.d reaches a.b.c.d
            return classify_address(str(ip.ipv4_mapped))
        embedded = [ip.sixtofour, ip.teredo[1] if ip.teredo is not None else None]
        for inner in embedded:
            kind = classify_address(str(inner)) if inner is not None else None
            if kind is not None:
                return kind
    for kind, flag in (("unspecified", ip.is_unspecified), ("loopback", ip.is_loopback),
                       ("link-local", ip.is_link_local), ("multicast", ip.is_multicast),
                       ("reserved", ip.is_reserved), ("private", ip.is_private)):
        if flag:
            return kind
    if not ip.is_global:
        return "not globally routable"
    return None


def _ip_literal(host: str) -> str | None:
    try:
        return str(ipaddress.ip_address(host.strip("[]").split("%", 1)[0]))
    except ValueError:
        return None


# ---------------------------------------------------------------------------- the policy


def _host_port(entry: str) -> tuple[str, int | None]:
    """``"host"`` or ``"host:port"`` (``"[::1]:8080"`` for IPv6) → (normalised host, port or None)."""
    url = httpx.URL(f"http://{entry.strip()}/")
    return url.host.lower(), url.port


@dataclass(frozen=True)
class NetworkPolicy:
    """Where one source may fetch from. Hashable: PoliteClient keeps one connection pool per policy."""

    origin: tuple[str, str, int]  # scheme, host, port of the source's url
    allowed: frozenset[tuple[str, int | None]] = frozenset()  # (host, port or None = 80 and 443)
    allow_private_networks: bool = False
    source: str = ""

    @classmethod
    def for_source(cls, url: str, allowed_hosts: Iterable[str] = (), allow_private_networks: bool = False,
                   source: str = "") -> NetworkPolicy:
        parsed = httpx.URL(url)
        scheme = parsed.scheme.lower()
        port = parsed.port or DEFAULT_PORTS.get(scheme, 0)
        return cls((scheme, parsed.host.lower(), port), frozenset(_host_port(e) for e in allowed_hosts),
                   allow_private_networks, source)

    @classmethod
    def of(cls, options: typing.Any) -> NetworkPolicy:
        """The policy of a feed or webpage source's options."""
        return cls.for_source(options.url, getattr(options, "allowed_hosts", ()),
                              getattr(options, "allow_private_networks", False), getattr(options, "name", ""))

    @property
    def origin_url(self) -> str:
        scheme, host, port = self.origin
        shown = f"[{host}]" if ":" in host else host
        return f"{scheme}://{shown}" + ("" if DEFAULT_PORTS.get(scheme) == port else f":{port}")

    def allows_host(self, host: str, port: int) -> bool:
        return (host, port) in self.allowed or (port in DEFAULT_PORTS.values() and (host, None) in self.allowed)

    @staticmethod
    def check_scheme(url: str) -> None:
        """The scheme rule on a URL as written (before it is parsed further); raises PolicyRefused."""
        scheme = urlsplit(url.strip()).scheme.lower()
        if scheme not in SCHEMES:
            raise PolicyRefused("scheme", f"only http and https are fetched, not {scheme or 'a URL without a scheme'}:")

    def check_url(self, url: httpx.URL) -> None:
        """Scheme and origin rules (and the address rule for an IP literal); raises PolicyRefused.
        Sends nothing and resolves nothing."""
        scheme = url.scheme.lower()
        if scheme not in SCHEMES:
            raise PolicyRefused("scheme", f"only http and https are fetched, not {scheme or 'a URL without a scheme'}:")
        host = url.host.lower()
        if not host:
            raise PolicyRefused("origin", "the URL has no host")
        port = url.port or DEFAULT_PORTS[scheme]
        if (scheme, host, port) != self.origin and not self.allows_host(host, port):
            shown = f"[{host}]" if ":" in host else host
            raise PolicyRefused(
                "origin",
                f"{scheme}://{shown}:{port} is not the source's origin {self.origin_url} nor in its allowed_hosts; "
                f'add "{shown}:{port}" to the source\'s allowed_hosts if it may fetch from there',
            )
        literal = _ip_literal(host)
        if literal is not None:
            self.check_address(host, literal)

    def permits(self, url: str) -> bool:
        """Whether the scheme and origin rules allow this URL (nothing resolved, nothing sent)."""
        try:
            self.check_scheme(url)
            self.check_url(httpx.URL(url))
        except (PolicyRefused, httpx.InvalidURL, UnicodeError):
            return False
        return True

    def check_address(self, host: str, address: str) -> None:
        """The private address rule for one resolved address; raises PolicyRefused."""
        kind = classify_address(address)
        if kind is not None and not self.allow_private_networks:
            said = address if address == host.strip("[]") else f"{host} resolves to {address}"
            raise PolicyRefused(
                "private address",
                f"{said}, a {kind} address; set allow_private_networks = true on the source "
                "only if it is an intranet site",
            )

    def describe(self, deadline_seconds: float, max_redirects: int) -> str:
        extra = sorted(f"[{h}]" if ":" in h else h for h, p in self.allowed if p is None)
        extra += sorted((f"[{h}]" if ":" in h else h) + f":{p}" for h, p in self.allowed if p is not None)
        return (
            f"fetches only from its origin {self.origin_url}"
            + (f" and the allowed hosts {', '.join(extra)}" if extra else " (no allowed_hosts)")
            + ("; private networks ALLOWED (allow_private_networks = true)" if self.allow_private_networks
               else "; loopback, private, link-local, multicast and reserved addresses refused")
            + f"; deadline {deadline_seconds:g} s per request (connect to last byte)"
            + f"; up to {max_redirects} redirect(s), every hop checked again; http and https only"
        )


def describe_sources(settings: typing.Any) -> list[str]:
    """One line per network source (feed, webpage) for ``publisher config check``."""
    lines = []
    for options in settings.sources:
        if getattr(options, "url", None) is None:
            continue
        policy = NetworkPolicy.of(options)
        state = "" if options.enabled else " (disabled)"
        lines.append(f"network policy of source {options.name!r} ({options.type}){state}: "
                     + policy.describe(settings.http.timeout_seconds, settings.http.max_redirects))
    return lines


# ---------------------------------------------------------------------------- the deadline


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Within this block every socket operation of a PolicyBackend stream gets only the time
    left until ``seconds`` from now."""
    token = _DEADLINE.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def extend_deadline(seconds: float) -> None:
    """Push the running deadline back (the client's own pacing pause is not the server's time)."""
    current = _DEADLINE.get()
    if current is not None:
        _DEADLINE.set(current + seconds)


def time_left(timeout: float | None, error: type[Exception] = httpcore.ReadTimeout) -> float | None:
    """``timeout`` capped to what is left of the running deadline; raises ``error`` if it has passed."""
    end = _DEADLINE.get()
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise error("the request's deadline ([http] timeout_seconds) has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream):
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: typing.Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        inner = self._inner.start_tls(ssl_context, server_hostname, time_left(timeout, httpcore.ConnectTimeout))
        return _DeadlineStream(inner)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._inner.get_extra_info(info)


# ---------------------------------------------------------------------------- connecting


# the system resolver has no timeout of its own: lookups run here, and the request waits for
# one only as long as its deadline allows (a hung lookup keeps its worker, not the request)
_RESOLVERS = concurrent.futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="publisher-dns")


def _resolve(host: str, port: int, timeout: float | None) -> list:
    future = _RESOLVERS.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    try:
        return future.result(timeout)
    except concurrent.futures.TimeoutError:
        future.cancel()
        raise httpcore.ConnectTimeout(f"looking up {host} took longer than the request's deadline") from None
    except (socket.gaierror, UnicodeError) as exc:
        raise httpcore.ConnectError(f"{host} could not be resolved ({exc})") from None


class PolicyBackend(httpcore.NetworkBackend):
    """Resolves the host once, checks every address against the policy and connects to a
    checked address itself (never by name again); streams obey the running deadline."""

    def __init__(self, policy: NetworkPolicy):
        self.policy = policy
        self._tcp = httpcore.SyncBackend()

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[typing.Any] | None = None) -> httpcore.NetworkStream:
        infos = _resolve(host, port, time_left(timeout, httpcore.ConnectTimeout))
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        allowed, refusal = [], None
        for address in addresses:
            try:
                self.policy.check_address(host, address)
                allowed.append(address)
            except PolicyRefused as exc:
                refusal = refusal or exc
        if not allowed:
            raise refusal or httpcore.ConnectError(f"{host} has no address")
        error: Exception | None = None
        for address in allowed:  # like socket.create_connection, but only to checked addresses
            try:
                stream = self._tcp.connect_tcp(address, port, time_left(timeout, httpcore.ConnectTimeout),
                                               local_address, socket_options)
                return _DeadlineStream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        assert error is not None
        raise error

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[typing.Any] | None = None) -> httpcore.NetworkStream:
        raise PolicyRefused("scheme", "unix sockets are never fetched")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class PolicyTransport(httpx.HTTPTransport):
    """httpx's own transport (response mapping, exceptions) over a pool whose connections are
    made by a PolicyBackend; no proxies from the environment (they would bypass the check)."""

    def __init__(self, policy: NetworkPolicy):
        super().__init__(trust_env=False)
        self._pool.close()
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=100,
            max_keepalive_connections=20,
            keepalive_expiry=5.0,
            network_backend=PolicyBackend(policy),
        )
