"""The network policy of the feed and webpage sources (publisher/sources/netpolicy.py).

Real servers on loopback only (pytest-httpserver, werkzeug, raw sockets). Every test runs with
the ``connects`` guard: each outgoing ``socket.connect`` is recorded, and one to an address
outside 127.0.0.0/8 and ::1 fails the test before any packet leaves, so "refused without
connecting" is checked, not assumed. Addresses such as 10.0.0.1 and 169.254.169.254 are only
ever classified, never contacted.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time

import pytest
from click.testing import CliRunner
from pytest_httpserver import HTTPServer

from publisher.errors import SourceError
from publisher.sources import netpolicy
from publisher.sources.http import HttpOptions, PoliteClient
from publisher.sources.netpolicy import NetworkPolicy, PolicyRefused, classify_address

from .conftest import P1, P2, P3, paths
from .test_source_feed import RSS_TYPE, TITLE1, TITLE2, feed_toml, html_paras, rss, rss_item

UA = "publisher-test/1.0"
REFUSED = "refused by the network policy"


@pytest.fixture(autouse=True)
def connects(monkeypatch):
    """Every address this process connects a socket to; off-loopback ones are refused here."""
    seen: list[tuple[str, int]] = []
    real = socket.socket.connect

    def guarded(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        seen.append((host, address[1]) if isinstance(address, tuple) else (host, 0))
        if isinstance(address, tuple) and not ipaddress.ip_address(host.split("%")[0]).is_loopback:
            raise AssertionError(f"test tried to connect to {address} outside loopback")
        return real(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    return seen


@pytest.fixture
def other_server():
    """A second HTTP server on loopback: another port of the same host."""
    server = HTTPServer(host="localhost", port=0)
    server.start()
    yield server
    server.clear()
    server.stop()


def client(timeout: float = 5.0, max_redirects: int = 5) -> PoliteClient:
    return PoliteClient(HttpOptions(user_agent=UA, timeout_seconds=timeout, per_host_interval_seconds=0,
                                    max_redirects=max_redirects))


def local_policy(server, allowed_hosts=(), private: bool = True) -> NetworkPolicy:
    return NetworkPolicy.for_source(server.url_for("/"), allowed_hosts, allow_private_networks=private)


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ports_connected(connects) -> set[int]:
    return {port for _, port in connects}


# ---------------------------------------------------------------------------- addresses, no network


@pytest.mark.parametrize("address, kind", [
    ("10.0.0.1", "private"), ("172.16.5.4", "private"), ("192.168.1.1", "private"), ("fc00::1", "private"),
    ("169.254.169.254", "link-local"), ("fe80::1", "link-local"), ("fe80::1%lo", "link-local"),
    ("127.0.0.1", "loopback"), ("127.8.9.10", "loopback"), ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"), ("::ffff:10.0.0.1", "private"), ("::ffff:169.254.169.254", "link-local"),
    ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"),
    ("240.0.0.1", "reserved"), ("100.64.0.1", "not globally routable"),
    ("2002:a00:1::", "private"),  # 6to4 wrapping 10.0.0.1
])
def test_the_address_classifier_refuses_every_non_public_range(address, kind):
    assert classify_address(address) == kind
    refused = NetworkPolicy.for_source("https://press.example/")
    with pytest.raises(PolicyRefused) as error:
        refused.check_address("press.example", address)
    assert error.value.rule == "private address" and kind in error.value.reason and REFUSED in error.value.reason
    NetworkPolicy.for_source("https://press.example/", allow_private_networks=True).check_address("press.example", address)


@pytest.mark.parametrize("address", ["8.8.8.8", "185.15.59.224", "2001:4860:4860::8888", "::ffff:8.8.8.8"])
def test_public_addresses_pass_the_classifier(address):
    assert classify_address(address) is None
    NetworkPolicy.for_source("https://press.example/").check_address("press.example", address)


def test_origin_and_allowed_hosts_rules_without_any_network(connects):
    policy = NetworkPolicy.for_source("https://press.example/rss", ["cdn.example", "intra.example:8443", "[2001:4860:4860::8888]:8080"])
    ok = ["https://press.example/a", "https://PRESS.example:443/b", "https://cdn.example/x", "http://cdn.example/x",
          "https://intra.example:8443/", "http://[2001:4860:4860::8888]:8080/"]
    for url in ok:
        policy.check_url(netpolicy.httpx.URL(url))
    refused = {
        "http://press.example/a": "origin",          # another scheme is another origin
        "https://press.example:8443/": "origin",     # another port
        "https://cdn.example:5432/": "origin",       # "host" means ports 80 and 443 only
        "https://intra.example/": "origin",
        "https://evil.example/": "origin",
        "ftp://press.example/": "scheme",
        "file:///etc/passwd": "scheme",
        "gopher://press.example/": "scheme",
    }
    for url, rule in refused.items():
        with pytest.raises(PolicyRefused) as error:
            policy.check_url(netpolicy.httpx.URL(url))
        assert error.value.rule == rule, url
    # an IP literal that is allowed by host is still judged by the address rule
    literal = NetworkPolicy.for_source("https://press.example/", ["169.254.169.254"])
    with pytest.raises(PolicyRefused, match=r"private address rule.*link-local"):
        literal.check_url(netpolicy.httpx.URL("http://169.254.169.254/latest/meta-data/"))
    assert connects == []


# ---------------------------------------------------------------------------- fetching on loopback


def test_same_origin_is_fetched_and_loopback_is_refused_unless_allowed(httpserver, connects):
    httpserver.expect_request("/a").respond_with_data("добро")
    with client() as http:
        assert http.get(httpserver.url_for("/a"), policy=local_policy(httpserver)).content == "добро".encode()
        connected = len(connects)
        assert connected >= 1
        with pytest.raises(PolicyRefused) as error:
            http.get(httpserver.url_for("/a"), policy=local_policy(httpserver, private=False))
    reason = error.value.reason
    assert f"{REFUSED} (private address rule)" in reason and "loopback" in reason
    assert "localhost resolves to" in reason and "allow_private_networks" in reason
    assert len(connects) == connected and len(httpserver.log) == 1  # refused: not even a SYN


def test_another_port_is_refused_and_the_reason_does_not_tell_whether_it_answered(httpserver, connects):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    listener.setblocking(False)
    open_port, shut_port = listener.getsockname()[1], closed_port()
    policy = local_policy(httpserver)
    reasons = {}
    try:
        with client() as http:
            for port in (open_port, shut_port, 5432):
                for host in ("localhost", "127.0.0.1"):
                    with pytest.raises(PolicyRefused) as error:
                        http.get(f"http://{host}:{port}/admin", policy=policy)
                    assert error.value.rule == "origin"
                    reasons[host, port] = error.value.reason.replace(str(port), "PORT")
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody knocked on the open port
    finally:
        listener.close()
    assert connects == []
    for host in ("localhost", "127.0.0.1"):
        assert reasons[host, open_port] == reasons[host, shut_port] == reasons[host, 5432]
    assert REFUSED in reasons["localhost", open_port] and "allowed_hosts" in reasons["localhost", open_port]
    assert "refused" not in reasons["localhost", open_port].replace(REFUSED, "")  # no "connection refused"


def test_an_allowed_hosts_entry_makes_the_other_port_fetchable(httpserver, other_server):
    other_server.expect_request("/internal").respond_with_data("дозволено")
    url = other_server.url_for("/internal")
    with client() as http:
        with pytest.raises(PolicyRefused, match="origin rule"):
            http.get(url, policy=local_policy(httpserver))
        assert other_server.log == []
        allowed = local_policy(httpserver, [f"localhost:{other_server.port}"])
        assert http.get(url, policy=allowed).content == "дозволено".encode()
        # a redirect there is followed too, and the final URL is reported
        httpserver.expect_request("/moved").respond_with_data("", status=302, headers={"Location": url})
        page = http.get(httpserver.url_for("/moved"), policy=allowed)
        assert page.content == "дозволено".encode() and page.url == url


@pytest.mark.parametrize("target", ["http://10.0.0.1/", "http://169.254.169.254/latest/meta-data/",
                                    "http://[fe80::1]/", "http://[::ffff:10.0.0.1]/"])
def test_a_redirect_to_a_private_address_is_refused_without_connecting(httpserver, connects, target):
    httpserver.expect_request("/r").respond_with_data("", status=302, headers={"Location": target})
    with client() as http:
        with pytest.raises(PolicyRefused) as error:
            http.get(httpserver.url_for("/r"), policy=local_policy(httpserver))
    assert error.value.rule == "origin" and "redirected to" in error.value.reason
    assert httpserver.url_for("/r") in error.value.reason
    assert ports_connected(connects) == {httpserver.port}  # only the first hop
    assert paths(httpserver) == ["/r"]


def test_a_redirect_hop_is_judged_by_the_address_rule_too(httpserver, connects, monkeypatch):
    """Even when the host is in allowed_hosts, the address rule refuses the hop. The loopback
    test server stands in for a public site here (no public server can be used in a test):
    127.0.0.1 is classified public, every other address as it really is."""
    real = netpolicy.classify_address
    monkeypatch.setattr(netpolicy, "classify_address", lambda a: None if a == "127.0.0.1" else real(a))
    httpserver.expect_request("/r").respond_with_data("", status=301, headers={"Location": "http://169.254.169.254/"})
    public = NetworkPolicy.for_source(httpserver.url_for("/").replace("localhost", "127.0.0.1"),
                                      ["169.254.169.254", "10.0.0.1"])
    with client() as http:
        with pytest.raises(PolicyRefused) as error:
            http.get(httpserver.url_for("/r").replace("localhost", "127.0.0.1"), policy=public)
    assert error.value.rule == "private address" and "169.254.169.254, a link-local address" in error.value.reason
    assert {host for host, _ in connects} == {"127.0.0.1"}


def test_dns_is_resolved_once_and_the_checked_address_is_the_one_connected(httpserver, connects, monkeypatch):
    """DNS rebinding: the first answer passes the check, a second would point inside. The
    client must connect to the address it checked, not look the name up again."""
    real_classify, real_resolve = netpolicy.classify_address, socket.getaddrinfo
    monkeypatch.setattr(netpolicy, "classify_address", lambda a: None if a == "127.0.0.1" else real_classify(a))
    answers = ["127.0.0.1", "10.0.0.1", "10.0.0.1"]
    lookups = []

    def resolve(host, port, *args, **kwargs):
        if host == "rebind.test":
            lookups.append(host)
            return real_resolve(answers.pop(0), port, *args, **kwargs)
        return real_resolve(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    httpserver.expect_request("/a").respond_with_data("прв", headers={"Connection": "close"})
    url = f"http://rebind.test:{httpserver.port}/a"
    policy = NetworkPolicy.for_source(url)
    with client() as http:
        assert http.get(url, policy=policy).content == "прв".encode()
        assert lookups == ["rebind.test"] and {h for h, _ in connects} == {"127.0.0.1"}
        with pytest.raises(PolicyRefused, match=r"rebind.test resolves to 10.0.0.1, a private address"):
            http.get(url, policy=policy)  # the next connection's answer is checked again
    assert {h for h, _ in connects} == {"127.0.0.1"}


def test_a_redirect_to_another_loopback_port_is_refused_by_the_origin_rule(httpserver, other_server, connects):
    other_server.expect_request("/secret").respond_with_data("внатрешно")
    httpserver.expect_request("/r").respond_with_data("", status=307, headers={"Location": other_server.url_for("/secret")})
    with client() as http:
        with pytest.raises(PolicyRefused) as error:
            http.get(httpserver.url_for("/r"), policy=local_policy(httpserver))
    assert f"{REFUSED} (origin rule)" in error.value.reason and f"localhost:{other_server.port}" in error.value.reason
    assert other_server.log == [] and other_server.port not in ports_connected(connects)


@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://localhost/x", "gopher://localhost:70/",
                                      "javascript:alert(1)"])
def test_non_http_schemes_are_refused_directly_and_after_a_redirect(httpserver, location):
    httpserver.expect_request("/r").respond_with_data("", status=302, headers={"Location": location})
    with client() as http:
        with pytest.raises(PolicyRefused) as direct:
            http.get(location, policy=local_policy(httpserver))
        with pytest.raises(PolicyRefused) as hop:
            http.get(httpserver.url_for("/r"), policy=local_policy(httpserver))
    assert direct.value.rule == hop.value.rule == "scheme"
    assert "only http and https" in hop.value.reason and "redirected to" in hop.value.reason


def test_redirects_are_still_limited(httpserver):
    httpserver.expect_request("/loop").respond_with_data("", status=302, headers={"Location": "/loop"})
    with client(max_redirects=3) as http:
        with pytest.raises(SourceError, match="redirected more than 3 times"):
            http.get(httpserver.url_for("/loop"), policy=local_policy(httpserver))
    assert len(httpserver.log) == 4


class DrippingServer:
    """Raw HTTP on 127.0.0.1 that sends its answer one byte per ``interval`` seconds, for at
    most ``limit`` seconds: from the status line on (``headers=True``) or after the headers."""

    def __init__(self, interval: float = 1.0, limit: float = 8.0, headers: bool = False):
        self.interval, self.limit, self.headers = interval, limit, headers
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(1)
        self.port = self.sock.getsockname()[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        with conn:
            conn.recv(65536)
            head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1000\r\n\r\n"
            drip = head + b"x" * 1000 if self.headers else b"x" * 1000
            if not self.headers:
                conn.sendall(head)
            started = time.monotonic()
            for byte in drip:
                if self.stop.wait(self.interval) or time.monotonic() - started > self.limit:
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        self.thread.join(5)


@pytest.mark.parametrize("headers", [False, True], ids=["dripping-body", "dripping-headers"])
def test_a_dripping_server_is_cut_at_the_deadline(headers):
    server = DrippingServer(interval=1.0, headers=headers)
    url = f"http://127.0.0.1:{server.port}/slow"
    try:
        with client(timeout=2) as http:
            started = time.monotonic()
            with pytest.raises(SourceError) as error:
                http.get(url, policy=NetworkPolicy.for_source(url, allow_private_networks=True))
            elapsed = time.monotonic() - started
    finally:
        server.close()
    assert 1.9 <= elapsed <= 2.5, elapsed  # each byte came in time; the whole request did not
    assert "timed out" in str(error.value) and "2 s" in str(error.value) and url in str(error.value)


def test_a_hanging_dns_lookup_is_cut_at_the_deadline(monkeypatch, connects):
    real = socket.getaddrinfo
    release = threading.Event()

    def hanging(host, *args, **kwargs):
        if host == "slow-dns.test":  # never asked of a real resolver: no traffic leaves the machine
            release.wait(10)
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", hanging)
    url = "http://slow-dns.test:8080/rss"
    try:
        with client(timeout=1) as http:
            started = time.monotonic()
            with pytest.raises(SourceError, match="timed out"):
                http.get(url, policy=NetworkPolicy.for_source(url))
            elapsed = time.monotonic() - started
    finally:
        release.set()
    assert 0.9 <= elapsed <= 1.5, elapsed
    assert connects == []


# ---------------------------------------------------------------------------- through ingest and the CLI


def test_a_feed_entry_linking_to_another_port_is_quarantined_and_the_others_are_ingested(
        site, httpserver, other_server, ingest):
    other_server.expect_request("/admin").respond_with_data(
        "<html><body><article><h1>Внатрешно</h1><p>" + P1 + "</p></article></body></html>", content_type="text/html")
    inside, postgres = other_server.url_for("/admin"), "http://127.0.0.1:5432/"
    httpserver.expect_request("/rss.xml").respond_with_data(
        rss(
            rss_item("ok", TITLE1, html_paras(P1, P2, P3), link=httpserver.url_for("/a/ok")),
            rss_item("ssrf", TITLE2, link=inside, summary="Кратко."),
            rss_item("probe", TITLE2 + " 2", link=postgres, summary="Кратко."),
        ),
        content_type=RSS_TYPE,
    )
    site.write(sources=feed_toml("rss", httpserver.url_for("/rss.xml")))
    report, app = ingest(site)
    assert not report.failed_sources and report.counts()["new"] == 1 and report.counts()["quarantined"] == 2
    assert [r.title for r in app.store.list_releases()] == [TITLE1]
    items = {item.ref: item for item in app.store.list_quarantine(source="rss")}
    assert set(items) == {inside, postgres}
    for ref, item in items.items():
        assert f"{REFUSED} (origin rule)" in item.reason and ref in item.reason
    assert other_server.log == [] and paths(httpserver) == ["/rss.xml"]


def test_a_refused_feed_url_fails_the_source_with_the_reason(site, httpserver, ingest):
    httpserver.expect_request("/moved.xml").respond_with_data("", status=301, headers={"Location": "http://10.0.0.1/rss"})
    httpserver.expect_request("/good.xml").respond_with_data(
        rss(rss_item("g", TITLE1, html_paras(P1, P2, P3))), content_type=RSS_TYPE)
    site.write(sources=feed_toml("moved", httpserver.url_for("/moved.xml")) + feed_toml("good", httpserver.url_for("/good.xml"))
               + feed_toml("strict", httpserver.url_for("/good.xml"), allow_private_networks=False))
    report, app = ingest(site)
    failed = dict(report.failed_sources)
    assert set(failed) == {"moved", "strict"} and report.counts()["new"] == 1
    assert f"{REFUSED} (origin rule)" in failed["moved"] and "http://10.0.0.1/rss" in failed["moved"]
    assert f"{REFUSED} (private address rule)" in failed["strict"] and "loopback" in failed["strict"]
    assert app.store.get_source_state("moved").last_error == failed["moved"]


def test_config_check_explains_the_network_policy_of_each_source(site):
    from publisher.cli import main

    site.write(sources=feed_toml("rss", "https://press.example/rss.xml", allowed_hosts=["cdn.example", "intra.example:8443"],
                                 allow_private_networks=False)
               + '\n[[sources]]\nname = "web"\ntype = "webpage"\nurl = "http://intra.example:8080/news"\n'
                 'link_selector = "a"\nallow_private_networks = true\n')
    result = CliRunner().invoke(main, ["config", "check", "--settings", str(site.settings_file)],
                                catch_exceptions=False, env={"PUBLISHER_SETTINGS": None})
    assert result.exit_code == 0, result.stderr
    lines = {line.split(":", 1)[0]: line for line in result.stdout.splitlines() if "network policy of source" in line}
    rss_line, web_line = lines["· network policy of source 'rss' (feed)"], lines["· network policy of source 'web' (webpage)"]
    assert "origin https://press.example " in rss_line and "allowed hosts cdn.example, intra.example:8443" in rss_line
    assert "private, link-local, multicast and reserved addresses refused" in rss_line
    assert "deadline 5 s per request" in rss_line and "redirect" in rss_line
    assert "origin http://intra.example:8080 (no allowed_hosts)" in web_line and "private networks ALLOWED" in web_line
    assert "settings OK" in result.stdout


def test_https_is_verified_against_the_host_name_while_connecting_to_the_checked_address(tmp_path, monkeypatch, connects):
    """TLS runs over the pinned connection: the certificate is checked for the URL's host name."""
    import ssl
    import subprocess

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost", "-addext", "basicConstraints=critical,CA:TRUE",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust this certificate, as the system store would a real one
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = HTTPServer(host="localhost", port=0, ssl_context=context)
    server.expect_request("/a").respond_with_data("шифрирано")
    server.start()
    try:
        url = server.url_for("/a")
        assert url.startswith("https://localhost:")
        with client() as http:
            assert http.get(url, policy=NetworkPolicy.for_source(url, allow_private_networks=True)).content == "шифрирано".encode()
            # the same server under a name the certificate does not carry is not trusted
            other = url.replace("localhost", "127.0.0.1")
            with pytest.raises(SourceError, match="failed"):
                http.get(other, policy=NetworkPolicy.for_source(other, allow_private_networks=True))
    finally:
        server.stop()
    assert {host for host, _ in connects} <= {"127.0.0.1", "::1"}


def test_a_webpage_article_on_another_port_is_quarantined_and_the_others_are_stored(site, httpserver, other_server, ingest):
    from .test_source_webpage import TITLES, listing_html, page_toml, serve_articles, write_settings

    other_server.expect_request("/admin").respond_with_data("<html><body><p>внатрешно</p></body></html>")
    inside = other_server.url_for("/admin")
    httpserver.expect_request("/vesti/").respond_with_data(listing_html("1", inside, "2"), content_type="text/html")
    serve_articles(httpserver, keys="12", prefix="/vesti/")
    write_settings(site, page_toml("web", httpserver.url_for("/vesti/"), same_host_only=False))
    report, app = ingest(site)
    assert not report.failed_sources and report.counts()["new"] == 2 and report.counts()["quarantined"] == 1
    [item] = app.store.list_quarantine(source="web")
    assert item.ref == inside and f"{REFUSED} (origin rule)" in item.reason
    assert sorted(r.title for r in app.store.list_releases()) == sorted([TITLES["1"], TITLES["2"]])
    assert other_server.log == []


def test_same_host_only_counts_the_allowed_hosts_as_the_source_s_own(site, httpserver, other_server, ingest):
    from .test_source_webpage import BODIES, TITLES, article_html, listing_html, page_toml, write_settings

    other_server.expect_request("/a/1").respond_with_data(article_html("1", other_server.url_for("/a/1")),
                                                          content_type="text/html")
    httpserver.expect_request("/vesti/").respond_with_data(listing_html(other_server.url_for("/a/1")),
                                                           content_type="text/html")
    url = httpserver.url_for("/vesti/")
    write_settings(site, page_toml("web", url))  # the only link is on another host: ignored, none left
    report, _ = ingest(site)
    assert "no article links" in dict(report.failed_sources)["web"] and other_server.log == []
    write_settings(site, page_toml("web", url, allowed_hosts=[f"localhost:{other_server.port}"]))
    report, app = ingest(site)
    assert not report.failed_sources and report.counts()["new"] == 1
    [release] = app.store.list_releases()
    assert release.title == TITLES["1"] and release.paragraphs == list(BODIES["1"])
