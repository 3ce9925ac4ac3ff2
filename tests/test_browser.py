"""End to end in a real browser: Debian's Chromium driven by Playwright, the app under uvicorn
on 127.0.0.1, a real SMTP server on loopback, SQLite. Screenshots go to the test's tmp folder."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from playwright.sync_api import expect, sync_playwright

from publisher.app import App
from publisher.models import SubscriberStatus, TranslationStatus
from publisher.sending import queue_digest
from publisher.store import Store
from publisher.web.app import create_app

from .conftest import Site
from .email_helpers import SQ_TITLE, bodies, seed, subscriber
from .smtp_server import SmtpTestServer
from .web_helpers import PASSWORD, add_staff

CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
LAST_DIGEST = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)  # as if the last digest went out before the seeded releases


@contextlib.contextmanager
def serve(web_app, sock: socket.socket) -> Iterator[None]:
    server = uvicorn.Server(uvicorn.Config(web_app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def service(tmp_path: Path):
    """(app, base URL, SMTP server): settings whose base_url is the served address."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    url = f"sqlite:///{tmp_path / 'publisher.db'}"
    Store.upgraded(url).close()
    site = Site(tmp_path / "site", url)
    with SmtpTestServer() as smtp:
        site.write(f'[mail]\ntransport = "smtp"\nsmtp_port = {smtp.port}\n')
        text = site.settings_file.read_text(encoding="utf-8").replace("http://127.0.0.1:8080", base)
        site.settings_file.write_text(text, encoding="utf-8")
        app = App(site.settings())
        with serve(create_app(app.settings, app), sock):
            yield app, base, smtp
        app.close()
    sock.close()


@pytest.fixture
def page(tmp_path: Path):
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(locale="sq-AL", viewport={"width": 1200, "height": 900})
        yield context.new_page()
        context.close()
        browser.close()


def _link(text: str, path: str) -> str:
    return re.search(rf"(http://127\.0\.0\.1:\d+/{path}/[A-Za-z0-9_.-]+)", text).group(1)


def test_visitor_subscribes_in_albanian_confirms_gets_a_digest_and_unsubscribes(service, page, tmp_path):
    app, base, smtp = service
    page.goto(base + "/")  # Accept-Language sq → /sq/
    expect(page).to_have_url(base + "/sq/")
    expect(page.locator("h1")).to_have_text("Abonohuni për njoftimet për shtyp")
    page.fill("#email", "vizitori@example.org")
    page.check("input[name=lang][value=sq]")
    page.check("input[name=frequency][value=daily]")
    page.screenshot(path=str(tmp_path / "1-subscribe.png"), full_page=True)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Kontrolloni kutinë tuaj postare")

    assert app.dispatch().sent == 1  # the service's job: send the confirmation
    [confirmation] = smtp.messages
    mail = confirmation.parsed()
    assert mail["Content-Language"] == "sq" and list(confirmation.recipients) == ["vizitori@example.org"]
    text, _html = bodies(mail)
    page.goto(_link(text, "confirm"))
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Abonimi u konfirmua")
    page.screenshot(path=str(tmp_path / "2-confirmed.png"), full_page=True)
    assert app.store.get_subscriber("vizitori@example.org").status is SubscriberStatus.CONFIRMED

    seed(app.store)
    app.store.set_control("digest-cursor:daily:sq", {"cutoff": LAST_DIGEST.isoformat(), "sent": []})
    plan, queued = queue_digest(app.settings, app.store, "daily", "sq", now=dt.datetime.now(dt.UTC))
    assert plan is not None and queued == 1
    assert app.dispatch().sent == 1
    digest = smtp.messages[-1].parsed()
    text, html = bodies(digest)
    assert digest["Content-Language"] == "sq" and SQ_TITLE in html
    web_version = re.search(r'href="([^"]+/releases/[0-9a-f]+/sq)"', html).group(1)
    page.goto(web_version)
    expect(page.locator("h1")).to_have_text(SQ_TITLE)
    expect(page.locator("link[hreflang=en]")).to_have_count(1)
    page.screenshot(path=str(tmp_path / "3-release.png"), full_page=True)

    # RFC 8058 one-click, as a mail client does it: POST to the List-Unsubscribe URL
    target = re.search(r"<(http[^>]+)>", digest["List-Unsubscribe"]).group(1)
    assert digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    response = httpx.post(target, content=b"List-Unsubscribe=One-Click",
                          headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 200
    assert app.store.get_subscriber("vizitori@example.org").status is SubscriberStatus.UNSUBSCRIBED
    page.goto(target)
    expect(page.locator("h1")).to_have_text("Jeni çabonuar")


def test_staff_logs_in_edits_a_translation_sends_a_digest_and_sees_it(service, page, tmp_path):
    app, base, smtp = service
    add_staff(app)
    r1 = seed(app.store)["r1"]
    subscriber(app.store, "reader@example.org", "sq")
    # the last sq daily digest went out long ago, so "now" (the real clock) has the seeded releases as new
    app.store.set_control("digest-cursor:daily:sq", {"cutoff": "2026-01-01T00:00:00+00:00", "sent": []})
    page.goto(base + "/staff/")
    expect(page).to_have_url(re.compile(r"/staff/login\?next="))
    page.fill("#name", "ana")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Dashboard")
    page.click(f'a[href="/staff/releases/{r1.id}/sq"]')
    expect(page.locator("#status")).to_have_text("machine")
    # the seeded sq text has fewer paragraphs than the original, so it is edited as a whole text
    # (the page speaks the browser's language, sq here: buttons are found by place, not words)
    page.click("#whole summary")
    page.fill("#title", "Takimi i shefave të kufirit (redaktuar)")
    page.click("#whole button[type=submit]")
    expect(page.locator(".flash")).to_contain_text("the sq translation is now human")
    expect(page.locator("#seg-0-0")).to_have_value("Takimi i shefave të kufirit (redaktuar)")
    page.screenshot(path=str(tmp_path / "4-review.png"), full_page=True)
    t = app.store.get_translation(r1.id, "sq")
    assert (t.status, t.title, t.editor) == (TranslationStatus.HUMAN, "Takimi i shefave të kufirit (redaktuar)", "ana")

    page.goto(base + "/staff/")
    form = page.locator('form[action="/staff/send/digest"]')
    form.locator("select[name=frequency]").select_option("daily")
    form.locator("select[name=lang]").select_option("sq")
    form.locator("button").click()
    expect(page.locator(".flash")).to_contain_text("queued 1 × digest:daily:sq")
    expect(page.locator("#recent")).to_contain_text("reader@example.org")
    expect(page.locator("#recent")).to_contain_text("queued")
    assert smtp.messages == []  # the web app queued it; it did not send
    assert app.dispatch().sent == 1
    page.reload()
    expect(page.locator("#recent")).to_contain_text("sent")
    page.screenshot(path=str(tmp_path / "5-dashboard.png"), full_page=True)
    _, html = bodies(smtp.messages[-1].parsed())
    assert "Takimi i shefave të kufirit (redaktuar)" in html
