"""The send ledger and subscribers in the store, on real SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading

from publisher.models import DeliveryStatus, SubscriberStatus
from publisher.store import Store

LEASE = dt.timedelta(minutes=5)


def test_enqueue_is_idempotent_per_message_and_recipient(store):
    recipients = [(None, f"user{i}@example.org") for i in range(5)]
    assert store.enqueue("digest:en:daily:2026-11-29", "digest", "en", {"releases": [1]}, recipients) == 5
    assert store.enqueue("digest:en:daily:2026-11-29", "digest", "en", {"releases": [1]}, recipients) == 0
    assert store.enqueue("digest:en:daily:2026-11-30", "digest", "en", {}, recipients[:2]) == 2
    assert store.delivery_counts() == {"queued": 7}


def test_claim_mark_and_only_the_claim_holder_may_finish(store):
    store.enqueue("release:abc:en", "release", "en", {}, [(None, "a@example.org"), (None, "b@example.org")])
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
    store.enqueue("k", "digest", "en", {}, [(None, "a@example.org"), (None, "b@example.org")])
    claimed = store.claim("dead-sender", 10, dt.timedelta(seconds=-1))  # already expired
    assert len(claimed) == 2
    held = store.recover_expired(resend=False)
    assert {d.status for d in held} == {DeliveryStatus.HELD}
    assert not store.mark_sent(claimed[0])  # the dead sender's claim is void
    assert store.claim("sender", 10, LEASE) == []
    assert store.requeue() == 2
    assert len(store.claim("sender", 10, LEASE)) == 2


def test_two_senders_never_take_the_same_row(db_url):
    setup = Store(db_url)
    setup.enqueue("bulk", "digest", "en", {}, [(None, f"u{i}@example.org") for i in range(400)])
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
