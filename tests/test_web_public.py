"""Public pages on SQLite and PostgreSQL: subscribe (double opt-in through the ledger), confirm,
preferences, unsubscribe (page + RFC 8058 one-click), release pages, languages, safety."""

from __future__ import annotations

import re

import pytest

from publisher.models import SubscriberStatus

from .email_helpers import EN_TITLE, SQ_TITLE, seed
from .web_helpers import client, csrf_of, make_web


@pytest.fixture
def web(site):
    app, web_app = make_web(site)
    with client(web_app) as c:
        yield app, c
    app.close()


def subscribe(c, email="vizitor@example.org", lang="sq", frequency="daily", page_lang="sq"):
    page = c.get(f"/{page_lang}/")
    assert page.status_code == 200
    return c.post(f"/{page_lang}/subscribe", data={"csrf_token": csrf_of(page.text), "email": email, "lang": lang,
                                                   "frequency": frequency})


def test_root_picks_language_from_accept_language(web):
    _, c = web
    assert c.get("/", headers={"Accept-Language": "sq-AL,sq;q=0.9,en;q=0.5"}).headers["location"] == "/sq/"
    assert c.get("/", headers={"Accept-Language": "de, en;q=0.4"}).headers["location"] == "/en/"
    assert c.get("/", headers={"Accept-Language": "sr"}).headers["location"] == "/mk/"  # source language
    page = c.get("/sq/")
    assert "Abonohuni për njoftimet për shtyp" in page.text and page.headers["content-language"] == "sq"
    assert 'href="/en/"' in page.text and 'href="/mk/"' in page.text  # the switcher
    assert "Претплатете се на соопштенијата за медиуми" in c.get("/mk/").text
    assert c.get("/de/").status_code == 404


def test_subscribe_queues_one_confirmation_and_tells_nothing_about_the_address(web):
    app, c = web
    response = subscribe(c)
    assert response.status_code == 200 and "Kontrolloni kutinë tuaj postare" in response.text
    subscriber = app.store.get_subscriber("vizitor@example.org")
    assert subscriber.status is SubscriberStatus.PENDING and subscriber.lang == "sq"
    [row] = app.store.list_deliveries(recipient="vizitor@example.org")
    assert (row.kind, row.lang, row.status.value) == ("confirm", "sq", "queued")
    again = subscribe(c)  # same answer; no second confirmation for the same token version
    assert again.status_code == 200 and "Kontrolloni" in again.text
    assert len(app.store.list_deliveries(recipient="vizitor@example.org")) == 1


def test_subscribe_refuses_bad_input_and_missing_csrf(web):
    app, c = web
    bad = subscribe(c, email="not-an-address")
    assert bad.status_code == 400 and "nuk është adresë e vlefshme" in bad.text
    assert 'value="not-an-address"' in bad.text  # kept in the form
    no_token = c.post("/sq/subscribe", data={"email": "x@example.org", "lang": "sq", "frequency": "daily"})
    assert no_token.status_code == 400
    page = c.get("/en/")
    foreign = c.post("/en/subscribe", headers={"Origin": "https://evil.example"},
                     data={"csrf_token": csrf_of(page.text), "email": "x@example.org", "lang": "en",
                           "frequency": "daily"})
    assert foreign.status_code == 400
    assert app.store.get_subscriber("x@example.org") is None


def test_subscribe_is_rate_limited_per_client(site):
    app, web_app = make_web(site, "[web]\nsubscribe_rate = 2\n")
    with client(web_app) as c:
        assert subscribe(c, email="a1@example.org").status_code == 200
        assert subscribe(c, email="a2@example.org").status_code == 200
        limited = subscribe(c, email="a3@example.org")
        assert limited.status_code == 429 and int(limited.headers["retry-after"]) > 0
    assert app.store.get_subscriber("a3@example.org") is None
    app.close()


def _tokens(app, email):
    s = app.store.get_subscriber(email)
    return app.tokens.confirm(s.id, s.token_version), app.tokens.unsubscribe(s.id, s.token_version)


def test_confirm_shows_a_button_and_post_confirms(web):
    app, c = web
    subscribe(c)
    confirm_token, _ = _tokens(app, "vizitor@example.org")
    page = c.get(f"/confirm/{confirm_token}")  # no prefix: the subscriber's language
    assert page.status_code == 200 and "Konfirmo abonimin" in page.text
    assert app.store.get_subscriber("vizitor@example.org").status is SubscriberStatus.PENDING  # a GET changes nothing
    action = re.search(r'<form method="post" action="([^"]+)"', page.text).group(1)
    assert action == f"/sq/confirm/{confirm_token}"
    done = c.post(action)
    assert done.status_code == 200 and "Abonimi u konfirmua" in done.text
    assert app.store.get_subscriber("vizitor@example.org").status is SubscriberStatus.CONFIRMED
    assert c.get(f"/confirm/{confirm_token[:-3]}abc").status_code == 400
    assert "Оваа врска не е важечка" in c.get("/mk/confirm/garbage").text


def test_preferences_and_unsubscribe_page_and_one_click(web):
    app, c = web
    subscribe(c)
    _, token = _tokens(app, "vizitor@example.org")
    page = c.get(f"/preferences/{token}")
    assert page.status_code == 200 and "vizitor@example.org" in page.text
    saved = c.post(f"/sq/preferences/{token}", data={"lang": "en", "frequency": "weekly"})
    assert saved.status_code == 200 and "Zgjedhjet tuaja u ruajtën" in saved.text
    s = app.store.get_subscriber("vizitor@example.org")
    assert (s.lang, s.frequency.value) == ("en", "weekly")
    assert c.post(f"/preferences/{token}", data={"lang": "xx", "frequency": "weekly"}).status_code == 400
    form = c.get(f"/unsubscribe/{token}")  # GET: one button, nothing changes
    assert form.status_code == 200 and "<button" in form.text
    assert app.store.get_subscriber("vizitor@example.org").status is not SubscriberStatus.UNSUBSCRIBED
    # RFC 8058: the mail client POSTs List-Unsubscribe=One-Click, without cookies or CSRF token
    c.cookies.clear()
    one_click = c.post(f"/unsubscribe/{token}", content=b"List-Unsubscribe=One-Click",
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert one_click.status_code == 200
    assert app.store.get_subscriber("vizitor@example.org").status is SubscriberStatus.UNSUBSCRIBED
    assert c.post(f"/unsubscribe/{token}").status_code == 200  # again: still fine
    assert c.get("/unsubscribe/not-a-token").status_code == 404


def test_release_pages_with_hreflang_and_machine_note(web):
    app, c = web
    releases = seed(app.store)
    r1, r3 = releases["r1"], releases["r3"]
    sq = c.get(f"/releases/{r1.uid}/sq")
    assert sq.status_code == 200 and SQ_TITLE in sq.text
    assert "Përkthim automatik nga maqedonishtja." in sq.text  # the machine-translation note
    for code in ("mk", "en", "sq"):
        assert f'hreflang="{code}" href="http://127.0.0.1:8080/releases/{r1.uid}/{code}"' in sq.text
    assert EN_TITLE in c.get(f"/releases/{r1.uid}/en").text
    only_mk = c.get(f"/releases/{r3.uid}/en")
    assert only_mk.status_code == 200 and "Not translated yet" in only_mk.text
    assert 'hreflang="en"' not in only_mk.text
    assert c.get(f"/releases/{r1.uid}/de").status_code == 404
    assert c.get("/releases/000000000000000000000000/en").status_code == 404
    assert c.get(f"/releases/{r1.id}/en").status_code == 404  # the uid only, not the number


def test_pages_escape_and_send_security_headers(web):
    app, c = web
    page = subscribe(c, email='<script>alert(1)</script>@x')
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;" in page.text
    headers = c.get("/en/").headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "same-origin"
    assert headers["x-frame-options"] == "DENY"
    assert c.get("/static/web.css").headers["content-type"].startswith("text/css")


def test_healthz_and_metrics(web):
    app, c = web
    seed(app.store)
    app.store.save_source_state("inbox", {}, None)
    subscribe(c)
    health = c.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok", "database": "ok"}
    text = c.get("/metrics")
    assert text.headers["content-type"].startswith("text/plain; version=0.0.4")
    body = text.text
    assert 'publisher_queue_depth{status="queued"} 1' in body
    assert 'publisher_mail_sent_total{kind="digest"} 0' in body
    assert "publisher_source_last_success_timestamp_seconds{source=\"inbox\"}" in body
    assert 'publisher_subscribers{status="pending",lang="sq"} 1' in body
    assert "# TYPE publisher_translation_failures gauge" in body
