"""Subscribers in three languages over real SMTP (aiosmtpd on loopback): double opt-in,
digests in each language, nothing twice, one-click unsubscribe, staff sends from the CLI."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from publisher.app import App
from publisher.models import SubscriberStatus
from publisher.sending import queue_digests
from publisher.subscriptions import confirm, subscribe, unsubscribe

from .email_helpers import EN2_TITLE, EN_TITLE, SQ_TITLE, bodies, make_release, seed
from .smtp_server import SmtpTestServer
from .test_cli import run

def start_cursors(store, since: dt.datetime) -> None:
    """As if the last digests went out at ``since`` (the seeded releases come after it)."""
    for lang in ("mk", "en", "sq"):
        store.set_control(f"digest-cursor:daily:{lang}", {"cutoff": since.isoformat(), "sent": []})


@pytest.fixture
def smtp():
    with SmtpTestServer() as server:
        yield server


@pytest.fixture
def app(site, smtp):
    site.write(extra=f"""
[mail]
transport = "smtp"
from = "IOM North Macedonia <news@news.example.org>"
smtp_port = {smtp.port}
rate_per_second = 1000
list_id = "IOM news <news.news.example.org>"
unsubscribe_mailto = "unsubscribe@news.example.org"
secret_key = "not-used-in-files"
""".replace('secret_key = "not-used-in-files"\n', ""))
    application = App(site.settings())
    yield application
    application.close()


def link(message, kind: str) -> str:
    text, _ = bodies(message)
    match = re.search(rf"http://127\.0\.0\.1:8080/{kind}/(\S+)", text)
    assert match, f"no {kind} link in:\n{text}"
    return match.group(1).rstrip(".")


def test_three_languages_double_opt_in_digests_and_unsubscribe(app, smtp):
    store, languages = app.store, app.settings.site.languages
    ana, queued = subscribe(store, "ana@example.org", "sq", "daily", languages, "web")
    assert queued
    subscribe(store, "bo@example.org", "en", "daily", languages, "staff", confirmed=True)
    subscribe(store, "vesna@example.mk", "mk", "daily", languages, "staff", confirmed=True)
    # only the confirmation goes out while ana is pending
    assert app.dispatch().sent == 1
    [confirmation] = smtp.wait_for(1)
    message = confirmation.parsed()
    assert confirmation.recipients == ("ana@example.org",) and message["Content-Language"] == "sq"
    subscriber_id, version = app.tokens.read_confirm(link(message, "confirm"), 3600)
    assert confirm(store, subscriber_id, version).status is SubscriberStatus.CONFIRMED

    seed(store)
    start_cursors(store, dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc))
    smtp.clear()
    now = dt.datetime.now(dt.timezone.utc)
    day = now.astimezone(app.settings.site.zone).date().isoformat()
    report = queue_digests(app.settings, store, "daily", now=now)
    assert sorted(k for k, _ in report.messages) == [f"digest:daily:{lang}:{day}" for lang in ("en", "mk", "sq")]
    assert app.dispatch().sent == 3
    got = {r.recipients[0]: r.parsed() for r in smtp.wait_for(3)}
    en_text, _ = bodies(got["bo@example.org"])
    assert got["bo@example.org"]["Content-Language"] == "en" and EN_TITLE in en_text and EN2_TITLE in en_text
    sq_text, sq_html = bodies(got["ana@example.org"])
    assert SQ_TITLE in sq_text and "ë" in sq_html and "ç" in sq_html.lower()
    mk_text, _ = bodies(got["vesna@example.mk"])
    assert "Трета вест само на македонски јазик" in mk_text
    for message in got.values():
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert "http://127.0.0.1:8080/unsubscribe/" in message["List-Unsubscribe"]

    # the same run again (a restart, a manual send of the same digest): nothing twice
    again = queue_digests(app.settings, store, "daily", now=now + dt.timedelta(minutes=5))
    assert again.queued == 0 and app.dispatch().sent == 0

    # one-click unsubscribe from the header's URL: no more mail for bo
    header = got["bo@example.org"]["List-Unsubscribe"]
    token = re.search(r"/unsubscribe/([^>\s]+)>", header).group(1)
    sid, version = app.tokens.read_unsubscribe(token)
    assert unsubscribe(store, sid, version).status is SubscriberStatus.UNSUBSCRIBED
    make_release(store, 9, "Нова вест следниот ден", "Текст на новата вест за миграцијата.",
                 published=now + dt.timedelta(hours=20))
    smtp.clear()
    queue_digests(app.settings, store, "daily", now=now + dt.timedelta(days=1))
    app.dispatch()
    recipients = sorted(r.recipients[0] for r in smtp.received())
    assert recipients == ["vesna@example.mk"]  # en: unsubscribed; sq: no translation yet (waits)


def test_staff_commands_test_send_status_pause_resume(app, smtp, site):
    code, out, _ = run("send", "test", "--to", "Staff@Example.org", "--lang", "sq", settings=site.settings_file)
    assert code == 0 and "sent to staff@example.org via smtp" in out
    [received] = smtp.wait_for(1)
    assert received.parsed()["Content-Language"] == "sq"
    run("subscribers", "add", "bo@example.org", "--lang", "en", "--frequency", "daily", "--confirmed",
        settings=site.settings_file)
    seed(app.store)
    code, _, _ = run("send", "pause", settings=site.settings_file)
    code, out, _ = run("send", "release", "1", "--lang", "en", "--now", "--json", settings=site.settings_file)
    data = json.loads(out)
    assert data["messages"][0]["queued"] == 1
    code, out, _ = run("send", "status", "--json", settings=site.settings_file)
    status = json.loads(out)
    assert status["paused"] is True and status["counts"]["queued"] == 1 and len(smtp.received()) == 1
    run("send", "resume", settings=site.settings_file)
    code, out, _ = run("send", "dispatch", settings=site.settings_file)
    assert code == 0 and len(smtp.wait_for(2)) == 2
    # the release again: same message key, nobody gets it twice
    code, out, _ = run("send", "release", "1", "--lang", "en", "--now", settings=site.settings_file)
    assert "queued 0" in out and len(smtp.received()) == 2


def test_dispatch_loads_each_batch_of_subscribers_in_one_query(app, smtp, monkeypatch):
    store = app.store
    for i in range(5):
        subscribe(store, f"p{i}@example.org", "en", "daily", app.settings.site.languages, "staff", confirmed=True)
    seed(store)
    start_cursors(store, dt.datetime(2026, 11, 1, tzinfo=dt.timezone.utc))
    queue_digests(app.settings, store, "daily", langs=["en"])

    def one_by_one(*_args):
        raise AssertionError("a subscriber was read one by one")

    monkeypatch.setattr(store, "get_subscriber", one_by_one)
    assert app.dispatch().sent == 5
    assert sorted(r.recipients[0] for r in smtp.wait_for(5)) == [f"p{i}@example.org" for i in range(5)]
