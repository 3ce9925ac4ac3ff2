"""The send ledger and subscribers in the store, on real SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading

from publisher.models import DeliveryStatus, SubscriberStatus
from publisher.store import Store
from publisher.store.ledger import Handover

LEASE = dt.timedelta(minutes=5)


def test_enqueue_is_idempotent_per_message_and_recipient(store):
    recipients = [(None, f"user{i}@example.org") for i in range(5)]
    assert store.enqueue("digest:en:daily:2026-11-29", "digest", "en", {"releases": [1]}, recipients) == 5
    assert store.enqueue("digest:en:daily:2026-11-29", "digest", "en", {"releases": [1]}, recipients) == 0
    assert store.enqueue("digest:en:daily:2026-11-30", "digest", "en", {}, recipients[:2]) == 2
    assert store.delivery_counts() == {"queued": 7}


def test_claim_mark_and_only_the_claim_holder_may_finish(store):
    store.enqueue("test:abc", "test", "en", {}, [(None, "a@example.org"), (None, "b@example.org")])
    first = store.claim("sender-1", 1, LEASE)
    assert len(first) == 1 and first[0].status is DeliveryStatus.SENDING and first[0].attempts == 1
    second = store.claim("sender-2", 10, LEASE)
    assert [d.recipient for d in second] == ["b@example.org"]
    assert store.claim("sender-3", 10, LEASE) == []
    assert store.mark_sent(first[0], "<id1@example.org>")
    assert not store.mark_sent(first[0], "<again>")  # already finished: nothing changes
    assert store.mark_retry(second[0], "451 try later", dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1))
    again = store.claim("sender-1", 10, LEASE)
    assert [d.recipient for d in again] == ["b@example.org"] and again[0].attempts == 2
    assert store.mark_failed(again[0], "550 no such user")
    assert store.delivery_counts() == {"sent": 1, "failed": 1}
    [failed] = store.list_deliveries(status="failed")
    assert failed.last_error == "550 no such user"


def test_expired_lease_is_held_not_resent_unless_asked(store):
    store.enqueue("k", "test", "en", {}, [(None, "a@example.org"), (None, "b@example.org")])
    claimed = store.claim("dead-sender", 10, dt.timedelta(seconds=-1))  # already expired
    assert len(claimed) == 2
    held = store.recover_expired(resend=False)
    assert {d.status for d in held} == {DeliveryStatus.HELD} and {d.reason for d in held} == {"ambiguous"}
    assert not store.mark_sent(claimed[0])  # the dead sender's claim is void
    assert store.claim("sender", 10, LEASE) == []
    assert store.requeue_failed()["queued_again"] == 0  # retry-failed never touches held rows
    assert store.release_held(message_key="other") == 0
    assert store.release_held(message_key="k") == 2
    assert len(store.claim("sender", 10, LEASE)) == 2


def test_two_senders_never_take_the_same_row(db_url):
    setup = Store(db_url)
    setup.enqueue("bulk", "test", "en", {}, [(None, f"u{i}@example.org") for i in range(400)])
    setup.close()
    taken: dict[str, list[int]] = {"a": [], "b": []}

    def sender(name: str) -> None:
        store = Store(db_url)
        while batch := store.claim(name, 7, LEASE):
            for delivery in batch:
                assert store.mark_sent(delivery)
                taken[name].append(delivery.id)
        store.close()

    threads = [threading.Thread(target=sender, args=(n,)) for n in taken]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    ids = taken["a"] + taken["b"]
    assert len(ids) == 400 and len(set(ids)) == 400
    check = Store(db_url)
    assert check.delivery_counts() == {"sent": 400}
    check.close()


def test_subscribers_add_confirm_bounce_and_erase(store):
    sub, created = store.add_subscriber("ana@example.org", "sq", "daily", consent_source="web")
    assert created and sub.status is SubscriberStatus.PENDING and sub.confirmed_at is None
    again, created = store.add_subscriber("ana@example.org", "en", "weekly")
    assert not created and again.id == sub.id and again.lang == "sq"
    store.set_subscriber_status(sub.id, SubscriberStatus.CONFIRMED)
    assert store.get_subscriber("ana@example.org").confirmed_at is not None
    store.record_bounce(sub.id, limit=2)
    assert store.record_bounce(sub.id, limit=2).status is SubscriberStatus.SUPPRESSED
    store.enqueue("confirm:1", "confirm", "sq", {}, [(sub.id, sub.email)])
    assert store.delete_subscriber("ana@example.org")
    assert store.get_subscriber(sub.id) is None
    [row] = store.list_deliveries()
    assert row.recipient.startswith("erased:") and "ana" not in row.recipient and row.subscriber_id is None
    unsub, _ = store.add_subscriber("bo@example.org", "en", "weekly", status=SubscriberStatus.CONFIRMED)
    store.set_subscriber_status(unsub.id, SubscriberStatus.UNSUBSCRIBED)
    back, created = store.add_subscriber("bo@example.org", "mk", "daily")
    assert not created and back.status is SubscriberStatus.PENDING and back.lang == "mk"
    assert back.token_version == unsub.token_version + 1  # old links stop working


def test_control_switches(store):
    assert store.get_control("sending") == {}
    store.set_control("sending", {"paused": True, "by": "ana"})
    assert store.get_control("sending")["paused"] is True
    store.set_control("sending", {"paused": False})
    assert store.get_control("sending") == {"paused": False}


def test_who_may_receive_is_checked_by_the_claim_and_by_the_handover(store):
    subs = {name: store.add_subscriber(f"{name}@example.org", "en", "daily", status)[0]
            for name, status in (("ok", SubscriberStatus.CONFIRMED), ("left", SubscriberStatus.UNSUBSCRIBED),
                                 ("sup", SubscriberStatus.SUPPRESSED), ("bnc", SubscriberStatus.BOUNCED),
                                 ("new", SubscriberStatus.PENDING), ("gone", SubscriberStatus.CONFIRMED),
                                 ("late", SubscriberStatus.CONFIRMED))}
    store.enqueue("digest:x", "digest", "en", {}, [(s.id, s.email) for s in subs.values()])
    store.enqueue("confirm:new", "confirm", "en", {}, [(subs["new"].id, "new@example.org")])
    store.enqueue("test:x", "test", "en", {}, [(None, "staff@example.org")])
    store.delete_subscriber("gone@example.org")
    claimed, skipped = store.claim_batch("s", 100, LEASE)
    assert skipped == 5
    assert sorted(d.recipient for d in claimed) == ["late@example.org", "new@example.org", "ok@example.org",
                                                    "staff@example.org"]
    reasons = {d.recipient.split("@")[0]: d.reason for d in store.list_deliveries(status="skipped")}
    assert reasons.pop(next(r for r in reasons if r.startswith("erased:"))) == "erased"
    assert reasons == {"left": "unsubscribed", "sup": "suppressed", "bnc": "bounced", "new": "unconfirmed"}
    # someone who leaves after the claim is still not handed over
    late = next(d for d in claimed if d.recipient == "late@example.org")
    store.set_subscriber_status(late.subscriber_id, SubscriberStatus.UNSUBSCRIBED)
    assert store.begin_send(late, "<late@x>") is Handover.SKIPPED
    [row] = store.list_deliveries(recipient="late@example.org")
    assert (row.status, row.reason, row.claim, row.handed_at) == (DeliveryStatus.SKIPPED, "unsubscribed", None, None)
    for d in claimed:
        if d.recipient != "late@example.org":
            assert store.begin_send(d, f"<{d.id}@x>") is Handover.BEGUN
    # failures: retry-failed takes back only the transient ones of people who may receive
    ok, new, staff = (next(d for d in claimed if d.recipient.startswith(n)) for n in ("ok", "new", "staff"))
    assert store.mark_failed(ok, "gave up after 6 attempts: 451 busy", reason="gave-up") is DeliveryStatus.FAILED
    assert store.mark_failed(staff, "550 5.1.1 no such user", reason="permanent") is DeliveryStatus.FAILED
    assert store.mark_failed(new, "render: boom", reason="render") is DeliveryStatus.FAILED
    store.set_subscriber_status(new.subscriber_id, SubscriberStatus.UNSUBSCRIBED)
    assert store.requeue_failed() == {"queued_again": 1, "kept": {"permanent": 1, "may_not_receive": 1}}
    [again] = store.claim("s", 10, LEASE)
    assert again.id == ok.id and again.message_id == f"<{ok.id}@x>"  # the first attempt's Message-ID


def test_migration_0007_gives_old_rows_their_reasons(tmp_path):
    from sqlalchemy import text

    from publisher.store import db as store_db

    engine = store_db.make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    store_db.upgrade(engine, "0006")
    rows = [("held", "was in flight"), ("failed", "550 5.1.1 no such user"), ("failed", "gave up after 6 attempts: 451"),
            ("failed", "render: x"), ("sent", None)]
    with engine.begin() as conn:
        for i, (status, error) in enumerate(rows):
            conn.execute(text("INSERT INTO deliveries (message_key, recipient, kind, lang, payload, status, attempts,"
                              " next_attempt_at, created_at, last_error) VALUES ('m', :r, 'digest', 'en', '{}', :s, 1,"
                              " '2026-12-01 00:00:00', '2026-12-01 00:00:00', :e)"),
                         {"r": f"u{i}@x.org", "s": status, "e": error})
    store_db.upgrade(engine, "0007")
    with engine.begin() as conn:
        reasons = [r for (r,) in conn.execute(text("SELECT reason FROM deliveries ORDER BY id"))]
    engine.dispose()
    assert reasons == ["ambiguous", "permanent", "gave-up", "render", None]
