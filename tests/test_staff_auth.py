"""Staff access on SQLite and PostgreSQL: the login limit is checked before the password (per
account and per client address, failures only, exponential back-off, shared through the
store), client addresses from the socket unless a configured proxy forwards them (real
uvicorn servers started as `publisher run` and `publisher web` start them), and server-side
sessions that logout, a password change and `publisher users disable` end."""

from __future__ import annotations

import base64
import datetime as dt
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from publisher.app import App
from publisher.cli import main
from publisher.errors import ConfigError
from publisher.service import WebThread
from publisher.web.app import create_app

from .smtp_server import free_port
from .web_helpers import PASSWORD, add_staff, client, csrf_of, login, make_web


def basic(name: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


def cli(site, *args: str, input: str | None = None):
    result = CliRunner().invoke(main, [*args, "--settings", str(site.settings_file)], input=input)
    assert result.exit_code == 0, result.output
    return result


# --------------------------------------------------------------------------- the limit
def test_right_password_during_the_limit_gets_429_on_the_api(site):
    app, web_app = make_web(site, "[web]\nlogin_rate = 3\n")
    add_staff(app)
    with client(web_app) as c:
        assert c.get("/api/status", headers=basic("ana", PASSWORD)).status_code == 200
        for _ in range(3):
            assert c.get("/api/status", headers=basic("ana", "guess")).status_code == 401
        right = c.get("/api/status", headers=basic("ana", PASSWORD))
        assert right.status_code == 429, "a guesser must not learn that the password was right"
        assert int(right.headers["retry-after"]) >= 1 and "error" in right.json()
        assert c.get("/api/status", headers=basic("ana", "guess")).status_code == 429
        page = login(c)  # the form login shares the account's limit
        assert page.status_code == 429 and int(page.headers["retry-after"]) >= 1
    app.close()


def test_the_limit_is_per_account_and_per_address(site):
    app, web_app = make_web(site, "[web]\nlogin_rate = 3\nlogin_address_rate = 5\n")
    for name in ("ana", "boris", "vesna"):
        add_staff(app, name, None)
    office = client(web_app)
    office.__enter__()
    home = create_client(web_app, ("192.0.2.77", 40000))
    for _ in range(3):
        assert office.get("/api/status", headers=basic("ana", "guess")).status_code == 401
    # the account is limited from every address; another account from the same address is not
    assert home.get("/api/status", headers=basic("ana", PASSWORD)).status_code == 429
    assert office.get("/api/status", headers=basic("boris", PASSWORD)).status_code == 200
    # the address: 5 failures over several accounts (names that exist or not)
    for name in ("boris", "nobody"):
        assert office.get("/api/status", headers=basic(name, "guess")).status_code == 401
    assert office.get("/api/status", headers=basic("vesna", PASSWORD)).status_code == 429
    assert home.get("/api/status", headers=basic("vesna", PASSWORD)).status_code == 200
    office.__exit__(None, None, None)
    home.__exit__(None, None, None)
    app.close()


def create_client(web_app, address: tuple[str, int]):
    from starlette.testclient import TestClient

    c = TestClient(web_app, base_url="http://127.0.0.1:8080", follow_redirects=False, client=address)
    c.__enter__()
    return c


def test_successful_logins_do_not_count(site):
    app, web_app = make_web(site, "[web]\nlogin_rate = 2\nlogin_address_rate = 2\n")
    add_staff(app)
    with client(web_app) as c:
        for _ in range(4):  # a whole office logging in from one address
            assert c.get("/api/status", headers=basic("ana", PASSWORD)).status_code == 200
        assert login(c).status_code == 303
        assert c.get("/api/status", headers=basic("ana", "typo")).status_code == 401
        assert c.get("/api/status", headers=basic("ana", PASSWORD)).status_code == 200
    app.close()


def test_failures_back_off_exponentially_and_are_forgotten(store):
    from publisher.web.auth import LoginLimiter
    from publisher.web.options import WebSettings

    options = WebSettings(login_rate=3, login_address_rate=100, login_backoff_seconds=60,
                          login_backoff_max_seconds=200, rate_window_seconds=600)
    now = [dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)]
    limiter = LoginLimiter(store, options, clock=lambda: now[0])

    def later(seconds: float) -> None:
        now[0] += dt.timedelta(seconds=seconds)

    for _ in range(3):
        assert limiter.retry_after("ana", "198.51.100.1") is None
        limiter.failed("ana", "198.51.100.1")
    assert limiter.retry_after("ana", "198.51.100.1") == 60
    assert limiter.retry_after("ana", "198.51.100.2") == 60  # the account, from anywhere
    assert limiter.retry_after("boris", "198.51.100.1") is None
    later(30)
    assert limiter.retry_after("ana", "198.51.100.9") == 30
    locks = []
    for _ in range(3):  # one more try per lockout, each lockout twice the last (capped)
        later(locks[-1] if locks else 30)
        assert limiter.retry_after("ana", "198.51.100.1") is None
        limiter.failed("ana", "198.51.100.1")
        locks.append(limiter.retry_after("ana", "198.51.100.1"))
    assert locks == [120, 200, 200]
    later(200 + 599)
    assert limiter.retry_after("ana", "198.51.100.1") is None
    limiter.failed("ana", "198.51.100.1")  # still remembered: locked again at once
    assert limiter.retry_after("ana", "198.51.100.1") == 200
    later(200 + 601)  # a quiet window after the lockout: forgotten
    for _ in range(2):
        limiter.failed("ana", "198.51.100.1")
    assert limiter.retry_after("ana", "198.51.100.1") is None
    assert store.prune_login_attempts(now[0] + dt.timedelta(days=1)) >= 1


def test_two_web_processes_on_one_database_share_the_limit(site):
    site.write("[web]\nlogin_rate = 4\n")
    first, second = App(site.settings()), App(site.settings())
    add_staff(first)
    web1, web2 = create_app(first.settings, first), create_app(second.settings, second)
    with client(web1) as c1, client(web2) as c2:
        for c in (c1, c2, c1, c2):
            assert c.get("/api/status", headers=basic("ana", "guess")).status_code == 401
        assert c1.get("/api/status", headers=basic("ana", PASSWORD)).status_code == 429
        assert c2.get("/api/status", headers=basic("ana", PASSWORD)).status_code == 429
    first.close()
    second.close()


# --------------------------------------------------------------------------- client addresses
def _wrong_form_logins(base: str, tries: int, forwarded: list[str] | None = None,
                       names: list[str] | None = None) -> list[int]:
    codes = []
    with httpx.Client(base_url=base, follow_redirects=False, timeout=10) as c:
        for i in range(tries):
            headers = {"X-Forwarded-For": forwarded[i % len(forwarded)]} if forwarded else {}
            page = c.get("/staff/login", headers=headers)
            name = names[i % len(names)] if names else "ana"
            codes.append(c.post("/staff/login", headers=headers, data={
                "csrf_token": csrf_of(page.text), "name": name, "password": "guess", "next": "/staff/"}).status_code)
    return codes


def _rotating(n: int) -> list[str]:
    return [f"203.0.113.{i + 1}" for i in range(n)]


def _names(n: int) -> list[str]:
    return [f"user{i}" for i in range(n)]


@pytest.fixture
def run_server(site):
    """The web server as `publisher run` starts it (publisher.service.WebThread), on loopback."""
    threads = []

    def start(extra: str = "") -> str:
        port = free_port()
        site.write(f"[web]\nport = {port}\nlogin_address_rate = 3\n{extra}")
        thread = WebThread(site.settings())
        assert thread.start(), thread.error
        threads.append(thread)
        return f"http://127.0.0.1:{port}"

    yield start
    for thread in threads:
        thread.stop()


def test_forwarded_for_is_ignored_by_default_under_publisher_run(run_server):
    base = run_server()
    codes = _wrong_form_logins(base, 6, forwarded=_rotating(6), names=_names(6))
    assert codes[:3] == [401] * 3 and set(codes[3:]) == {429}, codes


def test_forwarded_for_is_believed_only_from_a_configured_proxy(run_server):
    base = run_server('forwarded_allow_ips = ["127.0.0.1"]\n')
    # every forwarded address is a client of its own: no address reaches its limit
    assert set(_wrong_form_logins(base, 6, forwarded=_rotating(6), names=_names(6))) == {401}
    # one forwarded address over several accounts reaches it; the others are unaffected
    codes = _wrong_form_logins(base, 5, forwarded=["198.51.100.20"], names=_names(5))
    assert codes[:3] == [401] * 3 and codes[3:] == [429, 429], codes
    assert _wrong_form_logins(base, 1, forwarded=["198.51.100.21"], names=["other"]) == [401]


def test_forwarded_for_is_ignored_by_default_under_publisher_web(site):
    port = free_port()
    site.write(f"[web]\nport = {port}\nlogin_address_rate = 3\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
    env["FORWARDED_ALLOW_IPS"] = "*"  # uvicorn's own default must not apply
    proc = subprocess.Popen([str(Path(sys.executable).with_name("publisher")), "--settings", str(site.settings_file),
                             "web"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, "publisher web did not start"
            time.sleep(0.2)
        codes = _wrong_form_logins(base, 5, forwarded=_rotating(5), names=_names(5))
        assert codes[:3] == [401] * 3 and set(codes[3:]) == {429}, codes
    finally:
        proc.terminate()
        proc.communicate(timeout=20)


def test_forwarded_allow_ips_must_be_addresses(site):
    for bad in ('["*"]', '["proxy.example"]'):
        site.write(f"[web]\nforwarded_allow_ips = {bad}\n")
        with pytest.raises(ConfigError, match="forwarded_allow_ips"):
            site.settings()
    site.write('[web]\nforwarded_allow_ips = ["10.0.0.0/8", "::1", "127.0.0.1"]\n')
    assert site.settings().web.forwarded_allow_ips == ["10.0.0.0/8", "::1", "127.0.0.1"]


# --------------------------------------------------------------------------- sessions
@pytest.fixture
def web(site):
    app, web_app = make_web(site)
    add_staff(app)
    yield app, web_app
    app.close()


def _logged_in(web_app):
    c = client(web_app)
    c.__enter__()
    assert login(c).status_code == 303
    assert c.get("/staff/").status_code == 200
    return c


def _refused(web_app, cookie: str) -> bool:
    with client(web_app) as other:
        other.cookies.set("publisher_session", cookie)
        page, api = other.get("/staff/"), other.get("/api/session")
        return page.status_code == 303 and page.headers["location"].startswith("/staff/login") \
            and api.status_code == 401


def test_a_cookie_replayed_after_logout_opens_nothing(web):
    app, web_app = web
    c = _logged_in(web_app)
    captured = c.cookies["publisher_session"]
    assert not _refused(web_app, captured)  # the captured cookie works while logged in
    other_device = _logged_in(web_app)
    token = csrf_of(c.get("/staff/").text)
    assert c.post("/staff/logout", data={"csrf_token": token}).status_code == 303
    assert _refused(web_app, captured)
    assert other_device.get("/staff/").status_code == 303  # logout ends every session of the user
    c.__exit__(None, None, None)
    other_device.__exit__(None, None, None)


def test_a_password_change_ends_every_session(web, site):
    app, web_app = web
    sessions = [_logged_in(web_app) for _ in range(2)]
    cookies = [s.cookies["publisher_session"] for s in sessions]
    cli(site, "users", "password", "ana", "--password-stdin", input="a brand new password\n")
    assert all(_refused(web_app, cookie) for cookie in cookies)
    with client(web_app) as c:
        assert login(c).status_code == 401
        assert login(c, password="a brand new password").status_code == 303
        assert c.get("/api/status", headers=basic("ana", "a brand new password")).status_code == 200
    generated = cli(site, "users", "password", "ana")
    assert "password:" in generated.stdout
    for s in sessions:
        s.__exit__(None, None, None)


def test_users_disable_ends_sessions_and_refuses_logins(web, site):
    app, web_app = web
    c = _logged_in(web_app)
    cookie = c.cookies["publisher_session"]
    cli(site, "users", "disable", "ana")
    assert _refused(web_app, cookie)
    assert login(c).status_code == 401
    assert c.get("/api/status", headers=basic("ana", PASSWORD)).status_code == 401
    listed = cli(site, "users", "list", "--json")
    assert '"active": false' in listed.stdout
    cli(site, "users", "enable", "ana")
    assert login(c).status_code == 303
    c.__exit__(None, None, None)
    failed = CliRunner().invoke(main, ["users", "disable", "nobody", "--settings", str(site.settings_file)])
    assert failed.exit_code == 1 and "nobody" in failed.output
