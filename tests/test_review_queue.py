"""The review queue (issue 13) on SQLite and PostgreSQL: the store query, /staff/queue and
GET /api/review-queue — held, failed, stale and machine rows oldest first; staff-done
translations and missing ones absent; filters; links; roles."""

from __future__ import annotations

import datetime as dt

import pytest

from .email_helpers import EN2_BODY, EN2_TITLE, EN_BODY, EN_TITLE, MK2_BODY, MK2_TITLE, SQ_BODY, SQ_TITLE, make_release
from .web_helpers import PASSWORD, add_staff, client, login, make_web


def _seed(store):
    """Oldest first: r1/en held, r1/sq failed, r2/en stale, r3/sq machine; r3/en reviewed,
    r4/en human, r4/sq missing."""
    r1 = make_release(store, 1, "Прва вест за границата", "Прв пасус.")
    r2 = make_release(store, 2, MK2_TITLE, MK2_BODY)
    r3 = make_release(store, 3, "Трета вест", "Текст на трета вест.")
    r4 = make_release(store, 4, "Четврта вест", "Текст на четврта вест.")
    store.save_machine_translation(r1, "en", EN_TITLE, EN_BODY, "apertium",
                                   [{"name": "numbers", "ok": False}, {"name": "length", "ok": True}],
                                   held="a number differs from the source")
    store.save_translation_problem(r1, "sq", "every engine failed: timeout", [{"name": "language", "ok": False}])
    store.save_human_translation(r2, "en", EN2_TITLE, EN2_BODY, editor="ana")
    make_release(store, 2, MK2_TITLE, MK2_BODY + "\n\nНов пасус.")  # a new revision: the human text goes stale
    assert store.mark_stale() == 1
    store.save_machine_translation(r3, "sq", SQ_TITLE, SQ_BODY, "google", [])
    store.save_machine_translation(r3, "en", EN_TITLE, EN_BODY, "apertium", [])
    store.approve_translation(r3, "en", editor="ana")
    store.save_human_translation(r4, "en", EN2_TITLE, EN2_BODY, editor="ana")
    return r1, r2, r3, r4


def test_store_queue_oldest_first_and_filters(store):
    r1, r2, r3, _r4 = _seed(store)
    pairs = store.review_queue()
    assert [(r.id, t.lang, store.review_state(t)) for r, t in pairs] == [
        (r1.id, "en", "held"), (r1.id, "sq", "failed"), (r2.id, "en", "stale"), (r3.id, "sq", "machine")]
    times = [t.updated_at for _r, t in pairs]
    assert times == sorted(times)
    assert [(r.id, t.lang) for r, t in store.review_queue(lang="en")] == [(r1.id, "en"), (r2.id, "en")]
    assert [(r.id, t.lang) for r, t in store.review_queue(states=["held", "stale"])] == [(r1.id, "en"),
                                                                                          (r2.id, "en")]
    assert store.review_queue(lang="sq", states=["held"]) == []
    with pytest.raises(Exception, match="unknown review state.*held, failed, stale, machine"):
        store.review_queue(states=["approved"])


@pytest.fixture
def web(site):
    app, web_app = make_web(site)
    add_staff(app, "ana", role="editor")
    add_staff(app, "sam", "sam@example.org", role="sender")
    with client(web_app) as c:
        yield app, c
    app.close()


def test_queue_page_rows_links_and_filters(web):
    app, c = web
    r1, r2, r3, _r4 = _seed(app.store)
    login(c)
    page = c.get("/staff/queue")
    assert page.status_code == 200
    table = page.text.split('id="queue"')[1]
    links = [f"/staff/releases/{r1.id}/en", f"/staff/releases/{r1.id}/sq", f"/staff/releases/{r2.id}/en",
             f"/staff/releases/{r3.id}/sq"]
    positions = [table.index(f'href="{link}"') for link in links]
    assert positions == sorted(positions)
    assert f"/staff/releases/{r3.id}/en" not in table and "/staff/releases/4/" not in table
    assert "a number differs from the source" in table and "numbers" in table and "held for review" not in table
    assert "every engine failed: timeout" in table and "language" in table
    for state in ("held", "failed", "stale", "machine"):
        assert f"<td>{state}</td>" in table
    assert "CET" in table  # Europe/Skopje local time
    for link in links:
        assert c.get(link).status_code == 200, link
    only_en = c.get("/staff/queue?lang=en").text.split('id="queue"')[1]
    assert f"/staff/releases/{r1.id}/en" in only_en and f"/staff/releases/{r2.id}/en" in only_en
    assert "/sq" not in only_en
    stale = c.get("/staff/queue?state=stale").text.split('id="queue"')[1]
    assert f"/staff/releases/{r2.id}/en" in stale and f"/staff/releases/{r1.id}/" not in stale
    assert c.get("/staff/queue?state=approved").status_code == 400
    dashboard = c.get("/staff/")
    assert 'href="/staff/queue"' in dashboard.text
    assert '<a href="/staff/queue">Review queue</a>: <strong>4</strong>' in dashboard.text


def test_queue_api_same_rows_and_roles(web):
    app, c = web
    r1, r2, r3, _r4 = _seed(app.store)
    auth = ("ana", PASSWORD)
    data = c.get("/api/review-queue", auth=auth).json()
    assert data["count"] == 4
    assert [(i["release_id"], i["lang"], i["state"]) for i in data["items"]] == [
        (r1.id, "en", "held"), (r1.id, "sq", "failed"), (r2.id, "en", "stale"), (r3.id, "sq", "machine")]
    first = data["items"][0]
    assert first["error"] == "a number differs from the source" and first["failed_checks"] == ["numbers"]
    assert first["link"] == f"/staff/releases/{r1.id}/en"
    assert dt.datetime.fromisoformat(first["since"]).tzinfo is not None
    filtered = c.get("/api/review-queue?lang=en&state=held,stale", auth=auth).json()
    assert [(i["release_id"], i["lang"]) for i in filtered["items"]] == [(r1.id, "en"), (r2.id, "en")]
    assert c.get("/api/review-queue?state=approved", auth=auth).status_code == 422
    assert c.get("/api/review-queue?lang=de", auth=auth).status_code == 422
    refused = c.get("/api/review-queue", auth=("sam", PASSWORD))
    assert refused.status_code == 403 and refused.json()["role"] == "sender"
    login(c, "sam")
    assert c.get("/staff/queue").status_code == 403
    assert 'href="/staff/queue"' not in c.get("/staff/").text
