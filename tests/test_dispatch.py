"""dispatch_pending over real SMTP (aiosmtpd on loopback) and the real store (SQLite, PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import threading
from collections import Counter
from pathlib import Path

import pytest

from publisher.delivery.base import OutgoingMessage
from publisher.delivery.dispatch import backoff, dispatch_pending
from publisher.delivery.options import MailSettings
from publisher.delivery.outbox import OutboxTransport
from publisher.delivery.smtp import SmtpTransport
from publisher.models import DeliveryStatus, SubscriberStatus
from publisher.store import Store
from publisher.store.ledger import Handover

from .smtp_server import SmtpTestServer, render_delivery

LEASE = dt.timedelta(minutes=5)


def mail(port: int = 25, **extra) -> MailSettings:
    return MailSettings(**{"transport": "smtp", "smtp_port": port, "rate_per_second": 5000, "batch_size": 10,
                           "retry_seconds": 60, "timeout_seconds": 5} | extra)


def queue(store: Store, key: str, n: int, prefix: str = "u") -> list[int]:
    ids = []
    for i in range(n):
        sub, _ = store.add_subscriber(f"{prefix}{i}@example.org", "en", "daily", SubscriberStatus.CONFIRMED)
        ids.append(sub.id)
    store.enqueue(key, "digest", "en", {}, [(sid, f"{prefix}{i}@example.org") for i, sid in enumerate(ids)])
    return ids


@pytest.fixture
def server():
    with SmtpTestServer() as s:
        yield s


def test_sends_everything_once_and_a_second_run_sends_nothing(store, server):
    queue(store, "digest:en:daily:1", 23)
    queue(store, "digest:en:daily:2", 4, prefix="w")
    ticks = []
    transport = SmtpTransport(mail(server.port))
    report = dispatch_pending(store, transport, render_delivery, mail(server.port), "t1", progress=ticks.append)
    assert (report.sent, report.failed, report.retried, report.held) == (27, 0, 0, 0)
    assert report.remaining == {"queued": 0, "retry": 0, "sending": 0} and len(ticks) == 27
    counts = server.counts()
    assert len(counts) == 27 and set(counts.values()) == {1}
    received = {m.recipients[0]: m.message_id for m in server.received()}
    for d in store.list_deliveries(limit=100):
        assert d.status is DeliveryStatus.SENT and d.message_id == received[d.recipient] and d.sent_at
    again = dispatch_pending(store, transport, render_delivery, mail(server.port), "t1")
    assert again.sent == 0 and len(server.received()) == 27
    transport.close()
    assert transport.connections == 1


def test_only_the_given_message_key(store, server):
    queue(store, "release:7:en", 5)
    queue(store, "digest:en:daily:1", 6, prefix="d")
    with SmtpTransport(mail(server.port)) as transport:
        report = dispatch_pending(store, transport, render_delivery, mail(server.port), "t", message_key="release:7:en")
    assert report.sent == 5 and report.remaining["queued"] == 0
    assert store.delivery_counts() == {"sent": 5, "queued": 6}
    assert all(r.startswith("u") for r in server.counts())


def test_bounces_retries_give_up_and_render_errors(store, server):
    ids = queue(store, "k", 6)
    server.reply("u1@example.org", rcpt="550 5.1.1 no such user")
    server.reply("u2@example.org", data="451 4.3.0 try again later")
    past = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)  # backoff from a past clock: due again at once

    def render(delivery):
        if delivery.recipient == "u3@example.org":
            raise ValueError("template digest.html.j2: 'title' is undefined")
        return render_delivery(delivery)

    opts = mail(server.port, max_attempts=3, hard_bounce_limit=1)
    with SmtpTransport(opts) as transport:
        report = dispatch_pending(store, transport, render, opts, "t", clock=lambda: past)
    assert (report.sent, report.failed, report.retried, report.bounces) == (3, 3, 2, 1)
    rows = {d.recipient: d for d in store.list_deliveries()}
    assert rows["u1@example.org"].status is DeliveryStatus.FAILED
    assert rows["u1@example.org"].last_error == "550 5.1.1 no such user"
    assert store.get_subscriber(ids[1]).status is SubscriberStatus.SUPPRESSED
    assert store.get_subscriber(ids[2]).status is SubscriberStatus.CONFIRMED  # transient: no bounce
    busy = rows["u2@example.org"]
    assert busy.status is DeliveryStatus.FAILED and busy.attempts == 3
    assert busy.last_error.startswith("gave up after 3 attempts: 451 4.3.0 try again later")
    assert rows["u3@example.org"].status is DeliveryStatus.FAILED
    assert "render: ValueError" in rows["u3@example.org"].last_error
    assert set(server.counts()) == {"u0@example.org", "u4@example.org", "u5@example.org"}


def test_transient_failure_waits_with_exponential_backoff(store, server):
    queue(store, "k", 1)
    server.reply(None, data="421 4.4.2 shutting down")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    opts = mail(server.port, retry_seconds=60)
    with SmtpTransport(opts) as transport:
        report = dispatch_pending(store, transport, render_delivery, opts, "t", clock=lambda: now)
    assert report.retried == 1 and report.remaining["retry"] == 1
    [row] = store.list_deliveries()
    assert row.status is DeliveryStatus.RETRY and row.next_attempt_at == now + dt.timedelta(seconds=60)
    assert "421" in row.last_error
    assert [backoff(opts, n).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]


def test_paused_sends_nothing_until_resumed(store, server):
    queue(store, "k", 3)
    store.set_control("sending", {"paused": True})
    with SmtpTransport(mail(server.port)) as transport:
        report = dispatch_pending(store, transport, render_delivery, mail(server.port), "t")
        assert report.paused and report.sent == 0 and "paused" in report.summary()
        assert server.received() == [] and store.delivery_counts() == {"queued": 3}
        store.set_control("sending", {"paused": False})
        assert dispatch_pending(store, transport, render_delivery, mail(server.port), "t").sent == 3


def test_stop_releases_the_rest_of_the_batch(store, server):
    queue(store, "k", 12)
    stop = threading.Event()

    def progress(report):
        if report.sent == 3:
            stop.set()

    with SmtpTransport(mail(server.port)) as transport:
        report = dispatch_pending(store, transport, render_delivery, mail(server.port), "t", stop=stop,
                                  progress=progress)
        assert report.stopped and report.sent == 3 and report.released == 7
        assert store.delivery_counts() == {"sent": 3, "queued": 9}
        assert {d.attempts for d in store.list_deliveries(status="queued")} == {0}
        rest = dispatch_pending(store, transport, render_delivery, mail(server.port), "t")
    assert rest.sent == 9 and set(server.counts().values()) == {1} and len(server.counts()) == 12


def test_a_dead_senders_rows_unsent_go_back_and_the_one_in_flight_is_held(store, server):
    queue(store, "k", 5)
    dead = store.claim("dead", 5, dt.timedelta(seconds=-1))  # its lease has run out
    assert store.begin_send(dead[0], "<inflight@x>")
    with SmtpTransport(mail(server.port)) as transport:
        report = dispatch_pending(store, transport, render_delivery, mail(server.port), "t")
    assert (report.requeued, report.held, report.sent) == (4, 1, 4)
    [held] = store.list_deliveries(status="held")
    assert held.id == dead[0].id and held.message_id == "<inflight@x>" and "held" in held.last_error
    assert held.reason == "ambiguous"
    assert dead[0].recipient not in server.counts()
    assert not store.mark_sent(dead[0])  # the dead sender's claim is void


def test_resend_setting_sends_the_ambiguous_row_again(store, server):
    queue(store, "k", 3)
    dead = store.claim("dead", 3, dt.timedelta(seconds=-1))
    assert store.begin_send(dead[1], "<inflight@x>")
    opts = mail(server.port, on_ambiguous="resend")
    with SmtpTransport(opts) as transport:
        report = dispatch_pending(store, transport, render_delivery, opts, "t")
    assert (report.requeued, report.resent, report.held, report.sent) == (2, 1, 0, 3)
    assert [d.id for d in report.ambiguous] == [dead[1].id]
    assert store.delivery_counts() == {"sent": 3}
    # sent again with the Message-ID it was first handed over with
    assert {m.message_id for m in server.received() if m.recipients == (dead[1].recipient,)} == {"<inflight@x>"}
    assert store.list_deliveries(recipient=dead[1].recipient)[0].message_id == "<inflight@x>"


def test_ledger_begin_send_marks_and_claim_checks(store):
    store.enqueue("k", "test", "en", {}, [(None, "a@x.org"), (None, "b@x.org"), (None, "c@x.org")])
    a, b, c = store.claim("s", 3, LEASE)
    assert store.begin_send(a, "<a@x>") is Handover.BEGUN
    assert store.mark_sent_and_begin(a, "<a@x>", b, "<b@x>") == (True, Handover.BEGUN)
    assert store.mark_sent_and_begin(a, "<a@x>", c, "<c@x>") == (False, Handover.BEGUN)  # a already finished
    assert store.mark_retry(b, "451", dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    [again] = store.claim("s", 3, LEASE)
    # a new claim clears the "handed over" mark but the delivery keeps its Message-ID
    assert again.id == b.id and again.handed_at is None and again.message_id == "<b@x>"
    assert store.begin_send(b, "<b@x>") is Handover.LOST  # the old claim token is void
    assert store.requeue_unsent_expired() == 0  # leases still running
    stale = store.claim("gone", 1, dt.timedelta(seconds=-1))
    assert stale == [] and store.release_claim(again)
    [gone] = store.claim("gone", 1, dt.timedelta(seconds=-1))
    assert gone.attempts == 2 and store.requeue_unsent_expired() == 1
    row = store.list_deliveries(recipient="b@x.org")[0]
    assert row.status is DeliveryStatus.QUEUED and row.attempts == 1 and row.claim is None
    assert store.recover_expired() == []  # c's lease is still running
    assert {d.recipient: d.status for d in store.list_deliveries()}["c@x.org"] is DeliveryStatus.SENDING


def test_recovery_uses_one_cutoff_so_unsent_rows_never_look_ambiguous(store):
    store.enqueue("k", "test", "en", {}, [(None, f"{c}@x.org") for c in "abcd"])
    claimed = store.claim("dead", 4, dt.timedelta(seconds=30))
    assert store.begin_send(claimed[0], "<a@x>")
    before = dt.datetime.now(dt.UTC)
    after = before + dt.timedelta(seconds=60)  # as if the lease ran out between the two calls
    assert store.requeue_unsent_expired(now=before) == 0 and store.recover_expired(now=before) == []
    assert store.requeue_unsent_expired(now=after) == 3
    [held] = store.recover_expired(now=after)
    assert held.id == claimed[0].id and held.status is DeliveryStatus.HELD and held.reason == "ambiguous"
    assert store.delivery_counts() == {"queued": 3, "held": 1}


def test_two_senders_share_one_queue_and_send_each_message_once(db_url, server):
    setup = Store(db_url)
    setup.enqueue("bulk", "test", "en", {}, [(None, f"u{i}@example.org") for i in range(300)])
    setup.close()
    reports = {}

    def sender(name: str) -> None:
        store = Store(db_url)
        opts = mail(server.port, batch_size=7)
        with SmtpTransport(opts) as transport:
            reports[name] = dispatch_pending(store, transport, render_delivery, opts, name)
        store.close()

    threads = [threading.Thread(target=sender, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    counts = server.counts()
    assert len(counts) == 300 and set(counts.values()) == {1}
    assert reports["a"].sent + reports["b"].sent == 300 and reports["a"].sent > 0 and reports["b"].sent > 0
    assert reports["a"].lost_claims == reports["b"].lost_claims == 0
    check = Store(db_url)
    assert check.delivery_counts() == {"sent": 300}
    check.close()


def test_outbox_dispatch_writes_one_file_per_message_and_resend_overwrites(store, tmp_path: Path):
    queue(store, "k", 4)
    opts = MailSettings(outbox_dir=tmp_path / "outbox", rate_per_second=1000)

    def render(d):  # a stable Message-ID per (message key, recipient): a resend is the same file
        m = render_delivery(d)
        mid = f"<k.{d.recipient}>"
        return OutgoingMessage(m.recipient, m.sender, m.data.replace(m.message_id.encode(), mid.encode()), mid)

    transport = OutboxTransport(opts)
    assert dispatch_pending(store, transport, render, opts, "t").sent == 4
    store.requeue([DeliveryStatus.SENT])
    assert dispatch_pending(store, transport, render, opts, "t").sent == 4
    files = list((tmp_path / "outbox").iterdir())
    assert len(files) == 4
    assert Counter(b"To: u" in f.read_bytes() for f in files) == {True: 4}


def test_a_pool_of_connections_sends_each_message_once_with_its_own_claims(store, server):
    queue(store, "digest:en:daily:pool", 45)
    ticks = []
    opts = mail(server.port, batch_size=4, connections=3)
    transport = SmtpTransport(opts)
    report = dispatch_pending(store, transport, render_delivery, opts, "pool", progress=ticks.append)
    transport.close()
    assert (report.sent, report.failed, report.held, report.lost_claims) == (45, 0, 0, 0)
    assert report.remaining == {"queued": 0, "retry": 0, "sending": 0}
    counts = server.counts()
    assert len(counts) == 45 and set(counts.values()) == {1}
    assert max(t.sent for t in ticks) == 45  # progress sees the sum of the connections
    received = {m.recipients[0]: m.message_id for m in server.received()}
    assert all(d.message_id == received[d.recipient] for d in store.list_deliveries(limit=100))


def test_a_pool_stops_between_messages_and_gives_the_rest_back(store, server):
    queue(store, "k", 60)
    stop = threading.Event()

    def progress(report):
        if report.sent >= 5:
            stop.set()

    opts = mail(server.port, batch_size=10, connections=3)
    with SmtpTransport(opts) as transport:
        report = dispatch_pending(store, transport, render_delivery, opts, "p", stop=stop, progress=progress)
    counts = store.delivery_counts()
    assert report.stopped and counts.get("sending", 0) == 0
    assert counts["sent"] == report.sent == len(server.received()) and counts["queued"] == 60 - report.sent
    assert report.released >= 1  # claimed, not yet handed over: given back
    with SmtpTransport(opts) as transport:
        rest = dispatch_pending(store, transport, render_delivery, opts, "p")
    assert rest.sent == 60 - report.sent and set(server.counts().values()) == {1} and len(server.counts()) == 60


def test_the_connections_of_a_pool_share_one_rate_limit():
    lock = threading.Lock()
    now = [0.0]

    def clock():
        with lock:
            return now[0]

    def sleep(seconds):  # virtual time: sleeping moves the clock
        with lock:
            now[0] = max(now[0], clock_at[threading.get_ident()] + seconds)

    clock_at: dict[int, float] = {}

    def worker(transport):
        for _ in range(4):
            clock_at[threading.get_ident()] = clock()
            transport.limiter.wait()

    first = SmtpTransport(mail(rate_per_second=10), clock=clock, sleep=sleep)
    pool = [first, first.sibling(), first.sibling()]
    assert all(t.limiter is first.limiter for t in pool)
    threads = [threading.Thread(target=worker, args=(t,)) for t in pool]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    # 12 sends at 10/s spread over the three connections: the last starts 1.1 s after the first
    assert now[0] >= 1.1 - 1e-9


def test_pipelined_handover_withdraws_a_message_whose_recipient_left_before_its_final_dot(store, server):
    """The "handed over" mark of a row commits while its message goes out; the final dot waits
    for it. Someone who unsubscribes after the claim gets nothing: the commit skips the row
    and the connection is dropped before the dot."""
    ids = queue(store, "k", 6)

    def render(delivery):
        if delivery.recipient == "u3@example.org":  # leaves between the claim and the handover
            store.set_subscriber_status(ids[3], SubscriberStatus.UNSUBSCRIBED)
        return render_delivery(delivery)

    opts = mail(server.port)
    transport = SmtpTransport(opts)
    report = dispatch_pending(store, transport, render, opts, "t")
    transport.close()
    assert (report.sent, report.skipped, report.lost_claims) == (5, 1, 0)
    assert "u3@example.org" not in server.counts() and "u3@example.org" not in server.message_ids()
    assert len(server.counts()) == 5 and set(server.counts().values()) == {1}
    rows = {d.recipient: d for d in store.list_deliveries()}
    assert rows["u3@example.org"].status is DeliveryStatus.SKIPPED and rows["u3@example.org"].reason == "unsubscribed"
    assert transport.connections == 2  # the withdrawn message cost its connection
