#!/usr/bin/env python3
"""Sending throughput against a ceiling measured in the same run, and the ledger's peak memory.

A counting SMTP sink (aiosmtpd, tests/smtp_server.py) runs in its own process on loopback. Then:
  ceiling   one rendered digest's bytes sent N times with plain smtplib over one persistent
            connection (sendmail per message; no database, no personalisation)
  dispatch  a digest queued for N confirmed subscribers in a fresh store, sent by
            dispatch_pending + SmtpTransport with the service's real Renderer: claim in batches
            under a lease, render (Jinja2, gettext, inlined CSS once per language; per recipient
            the address, Message-ID and signed unsubscribe/preferences links substituted),
            begin_send / send / mark_sent (one commit per message)
The ceiling is measured before and after dispatch; the ratio uses their mean.
  memory    a child process queues M deliveries into a fresh store and claims them all in
            batches; its peak RSS (ru_maxrss, interpreter and libraries included) is printed.

    .venv/bin/python bench/send_bench.py [--messages 10000] [--memory-rows 100000] [--db-url URL]

Without --db-url the store is a fresh SQLite file; pass a PostgreSQL URL of an empty, migrated
database (it is emptied first) to measure that backend.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import smtplib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from publisher.delivery.dispatch import dispatch_pending
from publisher.delivery.options import MailSettings
from publisher.delivery.smtp import SmtpTransport
from publisher.store import Store

SENDER = "newsletter@news.example.org"
KEY = "digest:en:daily:2026-12-01"
TO, MID, TOKEN = "to-placeholder@placeholder.invalid", "midplaceholder", "tokenplaceholder"


def seed(store: Store, n: int) -> tuple[list[int], list[tuple[int, str]]]:
    """Five releases with English translations and ``n`` confirmed English subscribers."""
    import hashlib

    from publisher.models import CleanRelease, SubscriberStatus

    sample = (ROOT / "tests" / "data" / "iom-border-chiefs-meeting.mk.txt").read_text(encoding="utf-8")
    paragraphs = sample.split("\n\n")[1:5]
    ids = []
    for i in range(5):
        title, body = f"ИОМ: вест {i}", "\n\n".join(paragraphs)
        clean = CleanRelease(source="bench", ref=f"{i}", raw=b"", content_type="text/plain", title=title, body=body,
                             content_hash=hashlib.sha256(f"{i}{body}".encode()).hexdigest(), guid=f"g{i}", link=None,
                             published_at=dt.datetime(2026, 12, 1, 8, i, tzinfo=dt.timezone.utc), language="mk")
        release = store.save_release(clean)[1]
        store.save_machine_translation(release, "en", f"IOM: news item {i} on border management in the Western Balkans",
                                       "The International Organization for Migration met the heads of border services "
                                       "of the Western Balkans in Skopje. " * 6 + "\n\nSecond paragraph.", "apertium", [])
        ids.append(release.id)
    recipients = []
    for i in range(n):
        sub, _ = store.add_subscriber(f"user{i}@example.org", "en", "daily", status=SubscriberStatus.CONFIRMED)
        recipients.append((sub.id, sub.email))
    return ids, recipients


def real_renderer(store: Store, folder: Path):
    """The renderer the service uses (Jinja2 + gettext + inlined CSS once, per-recipient
    substitution), without DKIM (which the MTA can do; see docs/delivery.md)."""
    from publisher.delivery.options import DigestSettings, DkimSettings
    from publisher.delivery.render import Renderer
    from publisher.delivery.tokens import Tokens
    from publisher.settings import SiteSettings

    mail = MailSettings.model_validate({"from": f"IOM North Macedonia <{SENDER}>", "transport": "smtp"},
                                       context={"base_dir": folder})
    return Renderer(SiteSettings(), mail, DigestSettings(), DkimSettings(), store, Tokens("bench-secret"), [],
                    {"en": "machine"})


def start_sink() -> tuple[subprocess.Popen, int]:
    from tests.smtp_server import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "smtp_server.py"), "--port", str(port)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().startswith("listening"), "sink did not start"
    return proc, port


def ceiling(port: int, data: bytes, n: int) -> float:
    conn = smtplib.SMTP("127.0.0.1", port)
    started = time.perf_counter()
    for i in range(n):
        conn.sendmail(SENDER, [f"s{i}@example.org"], data)
    elapsed = time.perf_counter() - started
    conn.quit()
    return n / elapsed


def fresh_store(db_url: str | None, folder: Path) -> Store:
    if db_url is None:
        return Store.upgraded(f"sqlite:///{folder / 'bench.db'}")
    from sqlalchemy import text

    from publisher.store.schema import Base

    store = Store.upgraded(db_url)
    with store.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(Base.metadata.tables)} RESTART IDENTITY CASCADE"))
    return store


def prepare(n: int, db_url: str | None, folder: Path):  # type: ignore[no-untyped-def]
    """A fresh store with the digest queued for n subscribers, the real renderer, and the bytes
    of one rendered message (the ceiling sends those)."""
    store = fresh_store(db_url, folder)
    ids, recipients = seed(store, n)
    t0 = time.perf_counter()
    store.enqueue(KEY, "digest", "en", {"releases": ids, "period": "2026-12-01", "frequency": "daily"}, recipients)
    queued = time.perf_counter() - t0
    renderer = real_renderer(store, folder)
    [first] = store.list_deliveries(message_key=KEY, recipient=recipients[0][1], limit=1)
    return store, renderer, renderer.render(first).data, queued


def dispatch(port: int, store: Store, renderer, n: int, queued: float) -> dict:  # type: ignore[no-untyped-def]
    options = MailSettings(transport="smtp", smtp_port=port, rate_per_second=10_000, batch_size=100)
    transport = SmtpTransport(options, max_messages_per_connection=n + 1)
    started = time.perf_counter()
    report = dispatch_pending(store, transport, renderer.render, options, "bench", prepare=renderer.prepare)
    elapsed = time.perf_counter() - started
    transport.close()
    assert report.sent == n and store.delivery_counts() == {"sent": n}, report
    store.close()
    return {"rate": n / elapsed, "seconds": elapsed, "enqueue_seconds": queued}


def memory_child(rows: int, db_url: str | None) -> None:
    """Runs in a child process: queue ``rows`` deliveries and claim them all; print peaks."""
    with tempfile.TemporaryDirectory() as tmp:
        store = fresh_store(db_url, Path(tmp))
        started = time.perf_counter()
        for start in range(0, rows, 10_000):  # a digest planner hands over subscribers in pages
            store.enqueue(KEY, "test", "en", {}, [(None, f"user{i}@example.org") for i in range(start, min(rows, start + 10_000))])  # no subscriber: a test kind (the recipient check lets it through)
        queued = time.perf_counter() - started
        claimed = 0
        lease = dt.timedelta(minutes=5)
        while batch := store.claim("mem", 100, lease):
            claimed += len(batch)
        store.close()
    print(json.dumps({"rows": rows, "claimed": claimed, "queue_seconds": queued,
                      "claim_seconds": time.perf_counter() - started - queued,
                      "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--memory-rows", type=int, default=100_000)
    parser.add_argument("--db-url", default=None, help="PostgreSQL URL of an empty migrated database")
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_rows, args.db_url)
        return
    sink, port = start_sink()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            store, renderer, data, queued = prepare(args.messages, args.db_url, Path(tmp))
            before = ceiling(port, data, args.messages)
            ours = dispatch(port, store, renderer, args.messages, queued)
            after = ceiling(port, data, args.messages)
    finally:
        sink.terminate()
        sink.wait()
    best = (before + after) / 2
    backend = "postgresql" if args.db_url else "sqlite"
    print(f"message size            {len(data):,} bytes; {args.messages:,} messages; store {backend}")
    print(f"ceiling (plain smtplib) {before:,.0f} / {after:,.0f} msg/s (before / after)")
    print(f"dispatch_pending        {ours['rate']:,.0f} msg/s ({ours['seconds']:.1f}s; enqueue {ours['enqueue_seconds']:.2f}s)")
    print(f"ratio                   {ours['rate'] / best:.0%} of the ceiling (aim >= 70%)")
    command = [sys.executable, __file__, "--memory-child", "--memory-rows", str(args.memory_rows)]
    if args.db_url:
        command += ["--db-url", args.db_url]
    out = subprocess.run(command, capture_output=True, text=True, check=True, env=dict(os.environ))
    mem = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"memory                  {mem['rows']:,} queued in {mem['queue_seconds']:.1f}s, {mem['claimed']:,} claimed in "
          f"{mem['claim_seconds']:.1f}s: peak RSS of that process {mem['maxrss_mb']:.0f} MB (aim < 200 MB)")


if __name__ == "__main__":
    main()
