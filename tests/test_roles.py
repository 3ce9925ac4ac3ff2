"""Staff roles and the audit log (issue 13) on SQLite and PostgreSQL: every API operation for
every role (over the API's own operation list, so an operation without a role fails here),
the staff pages' 403s and hidden buttons, `publisher users add --role / set-role / list`, and
the audit rows of a login, an approve, a send and a users change, kept after the user is
disabled."""

from __future__ import annotations

import json
import re

import pytest
from click.testing import CliRunner

from publisher.cli import main
from publisher.store.users import STAFF_ROLES
from publisher.web.api import Api
from publisher.web.context import WebContext
from publisher.web.roles import AUDITED, PERMISSIONS, allowed

from .email_helpers import seed
from .web_helpers import PASSWORD, add_staff, client, csrf_of, login, make_web

NAMES = {"admin": "ada", "editor": "eda", "sender": "sam"}


@pytest.fixture
def web(site):
    app, web_app = make_web(site)
    for role, name in NAMES.items():
        add_staff(app, name, f"{name}@example.org", role=role)
    releases = seed(app.store)
    yield app, web_app, releases
    app.close()


def _operations(app):
    return Api(WebContext(app, None, None, None)).operations


def _session(web_app, name):
    c = client(web_app)
    c.__enter__()
    assert login(c, name).status_code == 303
    return c, c.get("/api/session").json()


def _call(c, csrf, op, rid):
    path = op.path.replace("{id}", str(rid)).replace("{lang}", "en")
    body = {("POST", "/api/send/release"): {"release": 999_999, "lang": "en"},
            ("PUT", "/api/releases/{id}/translations/{lang}"): {"title": "T", "body": "B"},
            ("POST", "/api/releases/{id}/language"): {"language": "mk"},
            ("POST", "/api/send/test"): {"to": "x@example.org", "lang": "en"}}.get((op.method, op.path), {})
    query = {"/api/digests/preview": {"lang": "en"}, "/api/audit": {"limit": 5}}.get(op.path)
    if op.method == "GET":
        return c.get(path, params=query)
    return c.request(op.method, path, json=body, headers={"X-CSRF-Token": csrf})


def test_every_operation_names_its_roles_and_admin_may_do_all(web):
    app, _web_app, _ = web
    for op in _operations(app):
        assert op.action in PERMISSIONS, f"{op.method} {op.path} names no action of publisher/web/roles.py"
        assert op.roles and "admin" in op.roles, (op.method, op.path)
        if op.method != "GET":
            assert op.action in AUDITED, (op.method, op.path)  # every change is logged
    assert set(PERMISSIONS["edit"]) == {"admin", "editor"} and set(PERMISSIONS["send"]) == {"admin", "sender"}


@pytest.mark.parametrize("role", STAFF_ROLES)
def test_every_api_operation_for_the_role(web, role):
    """A role that may not gets 403 naming the role (before any input is looked at); one that
    may gets anything but 403. Sending stays paused (the test send answers 409, sends nothing)."""
    app, web_app, _ = web
    c, session = _session(web_app, NAMES[role])
    assert session["role"] == role
    try:
        for op in _operations(app):
            app.store.set_control("sending", {"paused": True})
            r = _call(c, session["csrf_token"], op, 999_999)
            if allowed(role, op.action):
                assert r.status_code != 403, (role, op.method, op.path, r.text)
                assert r.status_code < 500, (role, op.method, op.path, r.text)
            else:
                assert r.status_code == 403, (role, op.method, op.path, r.status_code)
                assert f"({role})" in r.json()["error"] and r.json()["allowed"] == list(op.roles)
    finally:
        c.__exit__(None, None, None)


def test_the_openapi_document_names_the_roles_and_the_403(web):
    app, web_app, _ = web
    with client(web_app) as c:
        spec = c.get("/api/openapi.json").json()
    for op in _operations(app):
        entry = spec["paths"][op.path][op.method.lower()]
        assert entry["x-roles"] == list(op.roles)
        assert "403" in entry["responses"] and "role" in entry["responses"]["403"]["description"]
    assert "/api/audit" in spec["paths"]


def test_sender_is_refused_review_and_sees_no_edit_button(web):
    app, web_app, releases = web
    r1 = releases["r1"]
    with client(web_app) as c:
        assert login(c, "sam").status_code == 303
        dashboard = c.get("/staff/")
        assert dashboard.status_code == 200
        assert f'href="/staff/releases/{r1.id}/en"' not in dashboard.text  # no way into the review page
        assert 'action="/staff/send/release"' in dashboard.text and 'action="/staff/send/pause"' in dashboard.text
        assert 'action="/staff/releases/' not in dashboard.text  # no language confirmation, no edit
        assert 'id="audit"' not in dashboard.text
        page = c.get(f"/staff/releases/{r1.id}/en")
        assert page.status_code == 403 and "sender" in page.text and "/edit" not in page.text
        assert c.get(f"/staff/releases/{r1.id}/compare?lang=en").status_code == 403
        assert c.get("/staff/quarantine").status_code == 403
        token = csrf_of(dashboard.text)
        for action in ("approve", "edit", "segments", "retranslate"):
            r = c.post(f"/staff/releases/{r1.id}/en/{action}", data={"csrf_token": token, "title": "x", "body": "y"})
            assert r.status_code == 403, action
        assert c.post(f"/staff/releases/{r1.id}/language", data={"csrf_token": token,
                                                                  "language": "mk"}).status_code == 403
        assert app.store.get_translation(r1.id, "en").status.value == "machine"  # nothing changed
        assert c.get("/staff/preview?lang=en").status_code == 200


def test_editor_is_refused_sending_and_may_review(web):
    app, web_app, releases = web
    r1 = releases["r1"]
    with client(web_app) as c:
        assert login(c, "eda").status_code == 303
        dashboard = c.get("/staff/")
        assert 'action="/staff/send/' not in dashboard.text  # no sending button at all
        assert f'href="/staff/releases/{r1.id}/en"' in dashboard.text
        token = csrf_of(dashboard.text)
        for action in ("release", "digest", "test", "retry", "release-held", "pause", "resume"):
            r = c.post(f"/staff/send/{action}", data={"csrf_token": token, "release": str(r1.id), "lang": "en"})
            assert r.status_code == 403 and "editor" in r.text, action
        assert app.store.delivery_counts() == {}  # nothing queued
        assert not app.store.get_control("sending").get("paused")
        page = c.get(f"/staff/releases/{r1.id}/en")
        assert page.status_code == 200 and f"/staff/releases/{r1.id}/en/edit" in page.text
        assert c.post(f"/staff/releases/{r1.id}/en/approve", data={"csrf_token": token}).status_code == 303
        assert app.store.get_translation(r1.id, "en").status.value == "reviewed"


def test_audit_rows_for_login_approve_send_and_users_changes(web, site):
    app, web_app, releases = web
    r1 = releases["r1"]
    with client(web_app) as c:
        assert login(c, "eda").status_code == 303
        token = csrf_of(c.get("/staff/").text)
        assert c.post(f"/staff/releases/{r1.id}/sq/approve", data={"csrf_token": token}).status_code == 303
    with client(web_app) as c:
        _c, session = c, None
        assert login(c, "sam").status_code == 303
        session = c.get("/api/session").json()
        r = c.post("/api/send/release", json={"release": r1.id, "lang": "en"},
                   headers={"X-CSRF-Token": session["csrf_token"]})
        assert r.status_code == 200, r.text
    runner = CliRunner()
    result = runner.invoke(main, ["users", "disable", "eda", "--settings", str(site.settings_file)])
    assert result.exit_code == 0, result.output

    entries = app.store.list_audit(50)
    by_action = {(e.actor, e.action): e for e in entries}
    assert ("eda", "login") in by_action and ("sam", "login") in by_action
    approve = by_action[("eda", "approve")]
    assert approve.target == f"release {r1.id}/sq" and approve.detail["status"] == "reviewed"
    assert approve.detail["via"] == "page" and approve.at.tzinfo is not None
    send = by_action[("sam", "send")]
    assert send.target == f"release {r1.id}" and send.detail["via"] == "api" and send.detail["lang"] == "en"
    disable = next(e for e in entries if e.action == "users-disable")
    assert disable.actor.startswith("cli:") and disable.target == "user eda"
    # the disabled user's rows are still there, by name
    assert [e.action for e in app.store.list_audit(10, actor="eda")] == ["approve", "login"]
    assert entries[0].action == "users-disable"  # latest first
    result = runner.invoke(main, ["users", "remove", "sam", "--yes", "--settings", str(site.settings_file)])
    assert result.exit_code == 0, result.output
    assert app.store.get_staff_user("sam") is None
    assert [e.action for e in app.store.list_audit(10, actor="sam")] == ["send", "login"]  # outlived the user

    with client(web_app) as c:  # the admin sees them on the dashboard and through the API
        assert login(c, "ada").status_code == 303
        dashboard = c.get("/staff/")
        table = re.search(r'<table id="audit">(.*?)</table>', dashboard.text, re.S).group(1)
        assert "users-disable" in table and f"release {r1.id}/sq" in table and "eda" in table
        assert "users-remove" in table
        api = c.get("/api/audit", params={"actor": "sam", "limit": 20}).json()["items"]
        assert [e["action"] for e in api] == ["send", "login"] and all(e["actor"] == "sam" for e in api)
        assert len(c.get("/api/audit", params={"limit": 2}).json()["items"]) == 2
        users = {u["name"]: u for u in c.get("/api/users").json()["items"]}
        assert users["eda"] == {**users["eda"], "role": "editor", "active": False} and "sam" not in users


def test_cli_roles_add_set_role_and_list(site):
    app, web_app = make_web(site)
    runner = CliRunner()
    settings = ["--settings", str(site.settings_file)]
    result = runner.invoke(main, ["users", "add", "vera", "--role", "sender", "--email", "vera@example.org",
                                  "--password-stdin", *settings], input=PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    assert app.store.get_staff_user("vera").role == "sender"
    assert runner.invoke(main, ["users", "add", "boss", *settings]).exit_code == 0
    assert app.store.get_staff_user("boss").role == "admin"  # the default
    bad = runner.invoke(main, ["users", "add", "x", "--role", "owner", *settings])
    assert bad.exit_code != 0 and "owner" in bad.output

    with client(web_app) as c:  # a new role applies to an open session from its next request
        assert login(c, "vera").status_code == 303
        assert c.get("/staff/quarantine").status_code == 403
        result = runner.invoke(main, ["users", "set-role", "vera", "editor", *settings])
        assert result.exit_code == 0, result.output
        assert c.get("/staff/quarantine").status_code == 200
    assert runner.invoke(main, ["users", "set-role", "nobody", "editor", *settings]).exit_code != 0

    listed = runner.invoke(main, ["users", "list", "--json", *settings])
    rows = {r["name"]: r for r in json.loads(listed.output)}
    assert rows["vera"]["role"] == "editor" and rows["boss"]["role"] == "admin"
    text = runner.invoke(main, ["users", "list", *settings]).output
    assert re.search(r"vera\s+editor", text)
    change = app.store.list_audit(5, actor=None)[0]
    assert change.action == "users-set-role" and change.detail == {"role": "editor", "was": "sender"}
    app.close()


def test_existing_users_become_admin_by_the_migration(tmp_path):
    """A user made before 0014 (no role column yet) is an admin after the upgrade."""
    from sqlalchemy import text

    from publisher.store import Store, db
    from publisher.web.security import hash_password

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = db.make_engine(url)
    db.upgrade(engine, "0012")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO staff_users (name, email, password_hash, active, created_at) "
                          "VALUES ('old', NULL, :h, 1, '2026-01-01 00:00:00')"), {"h": hash_password(PASSWORD)})
    db.upgrade(engine)
    engine.dispose()
    store = Store(url)
    try:
        assert store.get_staff_user("old").role == "admin"
        assert store.set_staff_role("old", "Editor").role == "editor"
        assert store.list_audit() == []
    finally:
        store.close()
