"""Crash safety of the sender: kill -9 a real sender process at random moments during a real
SMTP send, start it again until the queue is done, and count what the server received.

What must hold (issues 5 and 10): every recipient who may receive mail gets the message at
least once, or its row is reported ``held`` (reason ``ambiguous``); nobody gets it twice unless
its row was ambiguous (in flight at a kill: at most one per kill); nothing stays queued or in
flight. With ``on_ambiguous = "resend"`` the ambiguous rows are sent again, with the Message-ID
of their first attempt, and nothing is held. Nobody who may not receive mail gets anything: some
recipients are unsubscribed, suppressed or unconfirmed from the start, and some more leave
(unsubscribed, suppressed, erased) between two kills; from then on they get nothing more.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import selectors
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from publisher.models import DeliveryStatus, SubscriberStatus
from publisher.store import Store

from .smtp_server import SmtpTestServer

SCRIPT = Path(__file__).with_name("sender_process.py")
N = 300
KILLS = 12
LEASE = 5.0  # the smallest lease the settings allow; a killed sender's rows wait this long


def start(db_url: str, port: int, *args: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, str(SCRIPT), db_url, str(port), "--lease", str(LEASE), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def wait_ready(proc: subprocess.Popen, timeout: float = 30.0) -> None:
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        if not sel.select(timeout):
            proc.kill()
            raise AssertionError("sender did not start: " + proc.stderr.read())
    line = proc.stdout.readline()
    assert line.strip() == "READY", line + proc.stderr.read()


def finish(proc: subprocess.Popen, timeout: float = 60.0) -> dict:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


# recipients r000..r299; these may not receive mail from the start (never queued by the service,
# but queued here as if they had left between queueing and sending)
NOT_RECEIVING = {3: SubscriberStatus.UNSUBSCRIBED, 50: SubscriberStatus.SUPPRESSED, 77: SubscriberStatus.PENDING,
                 150: SubscriberStatus.BOUNCED, 299: SubscriberStatus.UNSUBSCRIBED}
LEAVING = range(200, 215)  # leave after the 4th kill: 200-204 unsubscribe, 205-209 suppressed, 210-214 erased


def address(i: int) -> str:
    return f"r{i:03d}@example.org"


def seed_queue(db_url: str) -> None:
    store = Store(db_url)
    recipients = []
    for i in range(N):
        sub, _ = store.add_subscriber(address(i), "en", "daily", NOT_RECEIVING.get(i, SubscriberStatus.CONFIRMED))
        recipients.append((sub.id, sub.email))
    store.enqueue("digest:en:daily:2026-12-01", "digest", "en", {}, recipients)
    store.close()


def leave(store: Store) -> None:
    for i in LEAVING:
        if i < 205:
            store.set_subscriber_status(address(i), SubscriberStatus.UNSUBSCRIBED)
        elif i < 210:
            store.set_subscriber_status(address(i), SubscriberStatus.SUPPRESSED)
        else:
            assert store.delete_subscriber(address(i))


def wait_for_leases(store: Store) -> None:
    """Sleep until every lease of a killed sender has run out."""
    sending = store.list_deliveries(status="sending", limit=N)
    if sending:
        until = max(d.lease_until for d in sending)
        time.sleep(max(0.0, (until - dt.datetime.now(dt.UTC)).total_seconds()) + 0.2)


@pytest.mark.parametrize(("on_ambiguous", "connections"), [("hold", 1), ("resend", 1), ("hold", 3)])
def test_kill_the_sender_at_random_moments(db_url, on_ambiguous, connections):
    """With ``connections`` > 1 each connection has its own claims and its own row in flight:
    a kill leaves at most one ambiguous row per connection. On PostgreSQL the ledger's
    status updates commit asynchronously (synchronous_commit = off): a killed sender must
    lose none of them."""
    seed = int(os.environ.get("CRASH_SEED", time.time_ns() % 10**9))
    rng = random.Random(seed)
    note = f"(seed {seed}; rerun with CRASH_SEED={seed})"
    seed_queue(db_url)
    store = Store(db_url)
    started = time.monotonic()
    kills = runs = 0
    left_with: Counter[str] = Counter()
    with SmtpTestServer() as server:
        for n in range(KILLS):
            if n == 4:  # between two runs: some people leave; what they have got so far is all they get
                leave(store)
                left_with = Counter({address(i): server.counts()[address(i)] for i in LEAVING})
            proc = start(db_url, server.port, "--on-ambiguous", on_ambiguous, "--batch", "20",
                         "--connections", str(connections))
            runs += 1
            wait_ready(proc)
            time.sleep(rng.uniform(0.0, 0.3))
            if proc.poll() is None:
                proc.kill()  # SIGKILL: no cleanup of any kind
                kills += 1
            proc.wait(timeout=10)
            proc.stdout.close()
            proc.stderr.close()
        reports = []
        while True:  # start it again until nothing is queued or in flight
            counts = store.delivery_counts()
            if not (counts.get("queued") or counts.get("retry") or counts.get("sending")):
                break
            if not counts.get("queued") and not counts.get("retry"):
                wait_for_leases(store)
            assert time.monotonic() - started < 180, f"queue not done: {counts} {note}"
            reports.append(finish(start(db_url, server.port, "--on-ambiguous", on_ambiguous,
                                        "--connections", str(connections))))
            runs += 1
        received = server.received()
    rows = {d.recipient: d for d in store.list_deliveries(limit=2 * N) if not d.recipient.startswith("erased:")}
    erased = [d for d in store.list_deliveries(limit=2 * N) if d.recipient.startswith("erased:")]
    counts = store.delivery_counts()
    store.close()
    got = Counter(r for m in received for r in m.recipients)
    by_id = {m.message_id: m.recipients[0] for m in received}
    duplicates = {r: c for r, c in got.items() if c > 1}
    held = [r for r, d in rows.items() if d.status is DeliveryStatus.HELD]
    never = {address(i) for i in NOT_RECEIVING}
    ambiguous = sum(r["held"] + r["resent"] for r in reports)
    skipped = {r for r, d in rows.items() if d.status is DeliveryStatus.SKIPPED}
    print(f"\n[{on_ambiguous}, {connections} connection(s)] {runs} runs, {kills} kills, {len(received)} messages received for {N} rows, "
          f"held {len(held)} ({sum(got[r] for r in held)} of them had arrived), duplicates {len(duplicates)}, "
          f"skipped {len(skipped) + len(erased)}, ambiguous recovered by the last runs {ambiguous}, "
          f"{time.monotonic() - started:.1f}s {note}")

    # a run may end by itself when every due row is done and only killed runs' leases remain
    assert kills >= KILLS // 2, f"most runs must be killed mid-send {note}"
    assert len(rows) + len(erased) == N and set(got) <= set(rows) | {address(i) for i in LEAVING}
    # nobody who may not receive mail got anything, nor anything more after they left
    assert not never & set(got), f"sent to someone who may not receive mail {note}"
    assert {address(i): got[address(i)] for i in LEAVING} == dict(left_with), note
    assert never <= skipped and {d.reason for d in erased} <= {"erased", None}, note
    for recipient in skipped:
        assert rows[recipient].reason in ("unsubscribed", "suppressed", "bounced", "unconfirmed"), rows[recipient]
    detail = [(r, rows[r].attempts, rows[r].message_id, got[r]) for r in held + list(duplicates)]
    assert len(held) + len(duplicates) <= kills * connections, \
        f"more than one ambiguous row per connection and kill {detail} {note}"
    for m in received:  # every copy carries the Message-ID of its ledger row (one per delivery)
        row = rows.get(m.recipients[0])
        assert row is None or row.message_id == m.message_id, (m.recipients, m.message_id, row, note)
    for recipient, row in rows.items():
        if row.status is DeliveryStatus.SENT:  # sent: the server has the very message the ledger names
            assert got[recipient] >= 1 and by_id.get(row.message_id) == recipient, (recipient, note)
    receiving = set(rows) - skipped
    if on_ambiguous == "hold":
        assert set(counts) <= {"sent", "held", "skipped"}, (counts, note)
        assert not duplicates, f"nothing may be sent twice when ambiguous rows are held {note}"
        for recipient in receiving:  # held rows: 0 or 1 copies, and staff can see which Message-ID
            row = rows[recipient]
            assert got[recipient] == 1 or row.status is DeliveryStatus.HELD, (recipient, note)
            if row.status is DeliveryStatus.HELD:
                assert row.message_id and row.reason == "ambiguous" and "held" in row.last_error
    else:
        assert set(counts) <= {"sent", "skipped"}, (counts, note)
        assert receiving <= set(got), f"every recipient who may receive mail received it {note}"
        for recipient, copies in duplicates.items():  # only rows handed over more than once
            assert rows[recipient].attempts >= copies, (recipient, note)


@pytest.mark.parametrize("connections", [1, 2])
def test_two_sender_processes_share_one_queue(db_url, connections):
    seed_queue(db_url)
    with SmtpTestServer() as server:
        procs = [start(db_url, server.port, "--owner", name, "--batch", "7", "--connections", str(connections))
                 for name in ("one", "two")]
        reports = [finish(p) for p in procs]
        got = server.counts()
    receiving = N - len(NOT_RECEIVING)
    assert len(got) == receiving and set(got.values()) == {1} and not set(got) & {address(i) for i in NOT_RECEIVING}
    assert sum(r["sent"] for r in reports) == receiving
    assert sum(r["skipped"] for r in reports) == len(NOT_RECEIVING)
    store = Store(db_url)
    assert store.delivery_counts() == {"sent": receiving, "skipped": len(NOT_RECEIVING)}
    store.close()
