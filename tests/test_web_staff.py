"""Staff pages and the JSON API on SQLite and PostgreSQL: login (argon2, rate limit, no open
redirect), CSRF, dashboard, review (approve, edit, re-translate), digest preview, send now,
test send (real SMTP server), retry, pause/resume, quarantine, `publisher users add`."""

from __future__ import annotations

import base64

import pytest
from click.testing import CliRunner

from publisher.cli import main
from publisher.models import TranslationStatus
from publisher.store.memory import HUMAN

from .email_helpers import EN_TITLE, SQ_TITLE, seed, subscriber
from .smtp_server import SmtpTestServer
from .web_helpers import PASSWORD, add_staff, client, csrf_of, login, make_web


@pytest.fixture
def web(site):
    app, web_app = make_web(site)
    add_staff(app)
    with client(web_app) as c:
        yield app, c
    app.close()


def test_login_logout_and_no_open_redirect(web):
    app, c = web
    assert c.get("/staff/").headers["location"] == "/staff/login?next=/staff/"
    assert login(c, password="wrong password").status_code == 401
    page = c.get("/staff/login?next=//evil.example/x")
    assert 'value="/staff/"' in page.text
    for target in ("https://evil.example/", "//evil.example", "/\\evil.example", "/staff/../x"):
        response = c.post("/staff/login", data={"csrf_token": csrf_of(c.get("/staff/login").text), "name": "ana",
                                                "password": PASSWORD, "next": target})
        assert response.status_code == 303
        assert response.headers["location"].startswith("/staff"), target
        assert "evil" not in response.headers["location"]
    dashboard = c.get("/staff/")
    assert dashboard.status_code == 200 and "Dashboard" in dashboard.text
    assert dashboard.headers["cache-control"] == "no-store"
    assert app.store.get_staff_user("ana").last_login_at is not None
    c.post("/staff/logout", data={"csrf_token": csrf_of(dashboard.text)})
    assert c.get("/staff/").status_code == 303


def test_login_rate_limit_and_csrf(site):
    app, web_app = make_web(site, "[web]\nlogin_rate = 3\n")
    add_staff(app)
    with client(web_app) as c:
        no_csrf = c.post("/staff/login", data={"name": "ana", "password": PASSWORD})
        assert no_csrf.status_code == 400
        for _ in range(3):
            assert login(c, password="nope").status_code == 401
        limited = login(c)
        assert limited.status_code == 429 and "Retry-After" in limited.headers
    app.close()


def test_session_cookie_flags(site):
    app, web_app = make_web(site, "[web]\ncookie_secure = \"always\"\n")
    add_staff(app)
    with client(web_app) as c:
        page = c.get("/staff/login")
        cookie = page.headers["set-cookie"].lower()
        assert "publisher_session=" in cookie and "httponly" in cookie and "secure" in cookie
        assert "samesite=lax" in cookie
    app.close()


def test_review_approve_edit_retranslate(web):
    app, c = web
    releases = seed(app.store)
    r1 = releases["r1"]
    login(c)
    page = c.get(f"/staff/releases/{r1.id}/sq")
    assert page.status_code == 200 and SQ_TITLE in page.text and r1.title in page.text
    token = csrf_of(page.text)
    assert c.post(f"/staff/releases/{r1.id}/sq/approve", data={}).status_code == 403  # no CSRF token
    assert c.post(f"/staff/releases/{r1.id}/sq/approve", data={"csrf_token": token}).status_code == 303
    assert app.store.get_translation(r1.id, "sq").status is TranslationStatus.REVIEWED
    c.post(f"/staff/releases/{r1.id}/sq/edit", data={"csrf_token": token, "title": "Titull i ri <b>",
                                                    "body": "Paragrafi një.\r\n\r\nParagrafi dy."})
    t = app.store.get_translation(r1.id, "sq")
    assert (t.status, t.title, t.body, t.editor) == (TranslationStatus.HUMAN, "Titull i ri <b>",
                                                     "Paragrafi një.\n\nParagrafi dy.", "ana")
    shown = c.get(f"/staff/releases/{r1.id}/sq").text
    assert "Titull i ri &lt;b&gt;" in shown and "human" in shown
    # re-translate with an engine outside the chain: refused, the human text stays
    back = c.post(f"/staff/releases/{r1.id}/sq/retranslate", data={"csrf_token": token, "engine": "nope"})
    assert back.status_code == 303
    assert "not in the chain" in c.get(f"/staff/releases/{r1.id}/sq").text
    assert app.store.get_translation(r1.id, "sq").status is TranslationStatus.HUMAN
    assert c.get(f"/staff/releases/{r1.id}/de").status_code == 404


def test_preview_send_now_retry_pause_and_quarantine(web):
    app, c = web
    seed(app.store)
    # as if the last en daily digest went out before the seeded releases (so the test does not
    # depend on today's date: a first digest covers only the previous day)
    app.store.set_control("digest-cursor:daily:en", {"cutoff": "2026-11-01T00:00:00+00:00", "sent": []})
    subscriber(app.store, "reader@example.org", "en")
    login(c)
    preview = c.get("/staff/preview?lang=en&frequency=daily")
    assert preview.status_code == 200 and "nothing is sent" in preview.text
    frame = c.get("/staff/preview/frame?lang=en&frequency=daily")
    assert EN_TITLE in frame.text and "sandbox" in frame.headers["content-security-policy"]
    assert app.store.delivery_counts() == {}
    token = csrf_of(c.get("/staff/").text)
    c.post("/staff/send/digest", data={"csrf_token": token, "frequency": "daily", "lang": "en"})
    rows = app.store.list_deliveries(recipient="reader@example.org")
    assert [(r.kind, r.status.value) for r in rows] == [("digest", "queued")]  # queued, not sent by the web app
    dashboard = c.get("/staff/")
    assert "queued 1 × digest:daily:en" in dashboard.text and rows[0].message_key in dashboard.text
    c.post("/staff/send/pause", data={"csrf_token": token})
    assert app.store.get_control("sending") == {"paused": True}
    assert "Sending is paused" in c.get("/staff/").text
    c.post("/staff/send/resume", data={"csrf_token": token})
    assert app.store.get_control("sending") == {"paused": False}
    app.store.mark_failed(app.store.claim("t", 10, __import__("datetime").timedelta(minutes=1))[0], "550 no")
    assert "550 no" in c.get("/staff/").text
    c.post("/staff/send/retry", data={"csrf_token": token})
    assert app.store.delivery_counts() == {"queued": 1}
    app.store.add_quarantine("inbox", "bad.txt", "no title <script>", b"x")
    q = c.get("/staff/quarantine").text
    assert "no title &lt;script&gt;" in q


def test_test_send_to_me_goes_through_a_real_smtp_server(site):
    with SmtpTestServer() as server:
        app, web_app = make_web(site, f'[mail]\ntransport = "smtp"\nsmtp_port = {server.port}\n')
        add_staff(app)
        seed(app.store)
        with client(web_app) as c:
            login(c)
            c.post("/staff/send/test", data={"csrf_token": csrf_of(c.get("/staff/").text), "lang": "sq", "to": ""})
            assert "test message to ana@example.org: sent" in c.get("/staff/").text
        app.close()
        [message] = server.messages
        assert list(message.recipients) == ["ana@example.org"]


def test_json_api_matches_the_pages(web):
    app, c = web
    r1 = seed(app.store)["r1"]
    spec = c.get("/api/openapi.json").json()
    assert spec["openapi"].startswith("3.") and "/api/send/digest" in spec["paths"]
    assert "put" in spec["paths"]["/api/releases/{id}/translations/{lang}"]
    assert c.get("/api/status").status_code == 401
    basic = {"Authorization": "Basic " + base64.b64encode(f"ana:{PASSWORD}".encode()).decode()}
    status = c.get("/api/status", headers=basic).json()
    by_id = {r["id"]: r["translations"] for r in status["releases"]}
    assert by_id[r1.id] == {"en": "machine", "sq": "machine"}
    edited = c.put(f"/api/releases/{r1.id}/translations/en", headers=basic,
                   json={"title": "New title", "body": "One.\n\nTwo."})
    assert edited.status_code == 200 and edited.json()["status"] == "human"
    # the API edit teaches the staff memory as the pages do: the title pairs with the title
    [entry] = [e for e in app.store.memory_entries(engine=HUMAN) if e["target"] == "New title"]
    assert entry["source"] == r1.title and entry["created_by"] == "ana"
    login(c)
    session = c.get("/api/session").json()
    assert session["user"] == "ana"
    assert c.post("/api/send/pause").status_code == 403  # session without the CSRF header
    assert c.post("/api/send/pause", headers={"X-CSRF-Token": session["csrf_token"]}).json() == {"paused": True}
    preview = c.get("/api/digests/preview?lang=en&frequency=daily").json()
    assert "New title" in preview["html"]
    assert c.get("/api/releases/999/translations/en", headers=basic).status_code == 404
    wrong = {"Authorization": "Basic " + base64.b64encode(b"ana:nope").decode()}
    assert c.get("/api/status", headers=wrong).status_code == 401


def test_users_add_prints_a_generated_password_and_hashes_it(site):
    app, _ = make_web(site)
    runner = CliRunner()
    result = runner.invoke(main, ["users", "add", "boris", "--email", "boris@example.org", "--settings",
                                  str(site.settings_file)])
    assert result.exit_code == 0, result.output
    password = result.stdout.split("password:")[1].strip()
    user = app.store.get_staff_user("boris")
    assert user.password_hash.startswith("$argon2") and password not in user.password_hash
    piped = runner.invoke(main, ["users", "add", "vesna", "--password-stdin", "--settings", str(site.settings_file)],
                          input="a long enough password\n")
    assert piped.exit_code == 0 and "password:" not in piped.stdout
    again = runner.invoke(main, ["users", "add", "boris", "--settings", str(site.settings_file)])
    assert again.exit_code == 1 and "exists already" in again.output
    app.close()
