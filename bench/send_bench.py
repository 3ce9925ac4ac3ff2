#!/usr/bin/env python3
"""Sending throughput against a ceiling measured in the same run, and the ledger's peak memory.

A counting SMTP sink (aiosmtpd, tests/smtp_server.py) runs in its own process on loopback. The
messages are split into --rounds message keys; the rounds alternate (so a noisy, shared machine
hits both sides alike):
  ceiling   one rendered digest's bytes (signed once, with --dkim) sent with plain smtplib over
            C persistent connections in C threads (sendmail per message; no database, no
            personalisation, no per-message signing), C = --connections x --processes
  dispatch  that round's digest, queued for its share of the confirmed subscribers of a fresh
            store, sent by dispatch_pending + SmtpTransport with the service's real Renderer
            (per recipient: address, Message-ID, signed links; DKIM per message with --dkim) and
            [mail] connections = --connections, in --processes sender processes at once
The ratio is (messages / dispatch time) / (messages / ceiling time), summed over the rounds; one
`ratio NN%` line per run.
  memory    (--memory-rows M > 0) a child process queues M deliveries into a fresh store and
            claims them all in batches; its peak RSS (ru_maxrss) is printed.
  dkim      (--dkim) the cost of signing one message with dkimpy and with the fast signer.

    .venv/bin/python bench/send_bench.py [--messages 3000] [--connections N] [--processes P] [--dkim]
                                         [--rounds 6] [--memory-rows 0] [--db-url URL]

Without --db-url the store is a fresh SQLite file; pass a PostgreSQL URL of an empty, migrated
database (it is emptied first) to measure that backend (--processes > 1 needs PostgreSQL).
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


def real_renderer(store: Store, folder: Path, dkim_key: Path | None = None, signer: str = "fast"):
    """The renderer the service uses (Jinja2 + gettext + inlined CSS once, per-recipient
    substitution), DKIM-signing every message when ``dkim_key`` is given."""
    from publisher.delivery.options import DigestSettings, DkimSettings
    from publisher.delivery.render import Renderer
    from publisher.delivery.tokens import Tokens
    from publisher.settings import SiteSettings

    mail = MailSettings.model_validate({"from": f"IOM North Macedonia <{SENDER}>", "transport": "smtp"},
                                       context={"base_dir": folder})
    dkim = DkimSettings.model_validate({"selector": "bench", "domain": "news.example.org", "signer": signer,
                                        "private_key_file": str(dkim_key)} if dkim_key else {},
                                       context={"base_dir": folder})
    return Renderer(SiteSettings(), mail, DigestSettings(), dkim, store, Tokens("bench-secret"), [],
                    {"en": "machine"})


def start_sink() -> tuple[subprocess.Popen, int]:
    from tests.smtp_server import free_port

    port = free_port()
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "smtp_server.py"), "--port", str(port)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().startswith("listening"), "sink did not start"
    return proc, port


def ceiling(port: int, data: bytes, n: int, connections: int) -> float:
    """Seconds to send ``data`` n times over ``connections`` raw smtplib connections at once."""
    import threading

    conns = [smtplib.SMTP("127.0.0.1", port) for _ in range(connections)]

    def run(conn: smtplib.SMTP, k: int) -> None:
        for i in range(k, n, connections):
            conn.sendmail(SENDER, [f"s{i}@example.org"], data)

    threads = [threading.Thread(target=run, args=(c, k)) for k, c in enumerate(conns)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    for conn in conns:
        conn.quit()
    return elapsed


def fresh_store(db_url: str | None, folder: Path) -> Store:
    if db_url is None:
        return Store.upgraded(f"sqlite:///{folder / 'bench.db'}")
    from sqlalchemy import text

    from publisher.store.schema import Base

    store = Store.upgraded(db_url)
    with store.engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {', '.join(Base.metadata.tables)} RESTART IDENTITY CASCADE"))
    return store


def round_key(r: int) -> str:
    return f"digest:en:daily:2026-12-{r + 1:02d}"


def prepare(n: int, rounds: int, db_url: str | None, folder: Path, dkim_key: Path | None,  # type: ignore[no-untyped-def]
            signer: str = "fast"):
    """A fresh store with one digest per round queued for its share of n subscribers, the real
    renderer, and the bytes of one rendered message (the ceiling sends those)."""
    store = fresh_store(db_url, folder)
    ids, recipients = seed(store, n)
    t0 = time.perf_counter()
    for r in range(rounds):
        store.enqueue(round_key(r), "digest", "en", {"releases": ids, "period": f"2026-12-{r + 1:02d}",
                                                     "frequency": "daily"}, recipients[r::rounds])
    queued = time.perf_counter() - t0
    renderer = real_renderer(store, folder, dkim_key, signer)
    for r in range(rounds):  # build each round's template now (once per message, not per recipient)
        [first] = store.list_deliveries(message_key=round_key(r), limit=1)
        data = renderer.render(first).data
    return store, renderer, data, queued


def bench_options(port: int, connections: int) -> MailSettings:
    return MailSettings(transport="smtp", smtp_port=port, rate_per_second=10_000, batch_size=100,
                        connections=connections)


def dispatch_round(port: int, store: Store, renderer, key: str, connections: int) -> tuple[float, int]:  # type: ignore[no-untyped-def]
    options = bench_options(port, connections)
    transport = SmtpTransport(options, max_messages_per_connection=1_000_000)
    started = time.perf_counter()
    report = dispatch_pending(store, transport, renderer.render, options, "bench", message_key=key,
                              prepare=renderer.prepare)
    elapsed = time.perf_counter() - started
    transport.close()
    return elapsed, report.sent


def sender_child(db_url: str, port: int, connections: int, dkim_key: str | None, signer: str) -> None:
    """A sender process for --processes: dispatch each message key read from stdin; print
    one JSON line per key (started and finished on the wall clock, sent)."""
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(db_url)
        renderer = real_renderer(store, Path(tmp), Path(dkim_key) if dkim_key else None, signer)
        print("READY", flush=True)
        for line in sys.stdin:
            key = line.strip()
            started = time.time()
            elapsed, sent = dispatch_round(port, store, renderer, key, connections)
            print(json.dumps({"started": started, "finished": started + elapsed, "sent": sent}), flush=True)
        store.close()


class Senders:
    """--processes P sender processes, started once, each dispatching the same key at once."""

    def __init__(self, count: int, db_url: str, port: int, connections: int, dkim_key: Path | None, signer: str):
        command = [sys.executable, __file__, "--sender-child", "--db-url", db_url, "--port", str(port),
                   "--connections", str(connections), "--dkim-signer", signer]
        command += ["--dkim-key", str(dkim_key)] if dkim_key else []
        self.procs = [subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
                      for _ in range(count)]
        for proc in self.procs:
            assert proc.stdout.readline().strip() == "READY", "sender child did not start"

    def run(self, key: str) -> tuple[float, int]:
        for proc in self.procs:
            proc.stdin.write(key + "\n")
            proc.stdin.flush()
        results = [json.loads(proc.stdout.readline()) for proc in self.procs]
        return (max(r["finished"] for r in results) - min(r["started"] for r in results),
                sum(r["sent"] for r in results))

    def close(self) -> None:
        for proc in self.procs:
            proc.stdin.close()
            proc.wait(timeout=60)


def dkim_costs(dkim_key: Path, data: bytes, n: int = 100) -> dict[str, float]:
    """Milliseconds to sign one message, per signer."""
    from publisher.delivery.mime import DkimSigner

    unsigned = data.split(b"\r\n", 1)[1] if data.startswith(b"DKIM-Signature") else data
    while unsigned[:1] in (b" ", b"\t"):  # the folded rest of the signature header
        unsigned = unsigned.split(b"\r\n", 1)[1]
    costs = {}
    for name in ("dkimpy", "fast"):
        signer = DkimSigner("bench", "news.example.org", dkim_key.read_bytes(), signer=name)
        started = time.perf_counter()
        for _ in range(n):
            signer.sign(unsigned)
        costs[name] = (time.perf_counter() - started) / n * 1000
    return costs


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
    parser.add_argument("--messages", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=6, help="alternating ceiling/dispatch rounds")
    parser.add_argument("--connections", type=int, default=1, help="[mail] connections of each sender")
    parser.add_argument("--processes", type=int, default=1, help="sender processes at once (PostgreSQL)")
    parser.add_argument("--dkim", action="store_true", help="sign every message")
    parser.add_argument("--dkim-signer", choices=["fast", "dkimpy"], default="fast", help="[dkim] signer")
    parser.add_argument("--memory-rows", type=int, default=0)
    parser.add_argument("--db-url", default=None, help="PostgreSQL URL of an empty migrated database")
    parser.add_argument("--memory-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--sender-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--dkim-key", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_rows, args.db_url)
        return
    if args.sender_child:
        sender_child(args.db_url, args.port, args.connections, args.dkim_key, args.dkim_signer)
        return
    if args.processes > 1 and not args.db_url:
        parser.error("--processes > 1 needs --db-url (PostgreSQL)")
    sink, port = start_sink()
    raw = args.connections * args.processes
    ceiling_s = dispatch_s = 0.0
    sent = 0
    try:
        with tempfile.TemporaryDirectory() as tmp:
            dkim_key = None
            if args.dkim:
                dkim_key = Path(tmp) / "dkim.pem"
                subprocess.run(["openssl", "genrsa", "-traditional", "-out", str(dkim_key), "2048"], check=True,
                               capture_output=True)
            store, renderer, data, queued = prepare(args.messages, args.rounds, args.db_url, Path(tmp), dkim_key,
                                                    args.dkim_signer)
            senders = Senders(args.processes, args.db_url, port, args.connections, dkim_key, args.dkim_signer) \
                if args.processes > 1 else None
            try:
                for r in range(args.rounds):
                    share = len(range(r, args.messages, args.rounds))
                    ceiling_s += ceiling(port, data, share, raw)
                    if senders is not None:
                        seconds, done = senders.run(round_key(r))
                    else:
                        seconds, done = dispatch_round(port, store, renderer, round_key(r), args.connections)
                    dispatch_s += seconds
                    sent += done
            finally:
                if senders is not None:
                    senders.close()
            counts = store.delivery_counts()
            costs = dkim_costs(dkim_key, data) if dkim_key else None
            store.close()
    finally:
        sink.terminate()
        sink.wait()
    assert sent == args.messages and counts == {"sent": args.messages}, (sent, counts)
    backend = "postgresql" if args.db_url else "sqlite"
    ceiling_rate, ours = args.messages / ceiling_s, args.messages / dispatch_s
    print(f"message size            {len(data):,} bytes{f' (DKIM-signed, {args.dkim_signer})' if args.dkim else ''}; {args.messages:,} "
          f"messages in {args.rounds} rounds; store {backend}; {args.processes} process(es) x "
          f"{args.connections} connection(s)")
    print(f"ceiling (plain smtplib) {ceiling_rate:,.0f} msg/s over {raw} connection(s) ({ceiling_s:.1f}s)")
    print(f"dispatch_pending        {ours:,.0f} msg/s ({dispatch_s:.1f}s; enqueue {queued:.2f}s)")
    if costs:
        print(f"dkim signing            dkimpy {costs['dkimpy']:.2f} ms/message, fast {costs['fast']:.2f} ms/message")
    print(f"ratio {ours / ceiling_rate:.0%}")
    if args.memory_rows:
        command = [sys.executable, __file__, "--memory-child", "--memory-rows", str(args.memory_rows)]
        if args.db_url:
            command += ["--db-url", args.db_url]
        out = subprocess.run(command, capture_output=True, text=True, check=True, env=dict(os.environ))
        mem = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"memory                  {mem['rows']:,} queued in {mem['queue_seconds']:.1f}s, {mem['claimed']:,} "
              f"claimed in {mem['claim_seconds']:.1f}s: peak RSS of that process {mem['maxrss_mb']:.0f} MB "
              "(aim < 200 MB)")


if __name__ == "__main__":
    main()
