"""A real sender process for the kill test: Store + SmtpTransport + dispatch_pending.

    python tests/sender_process.py DB_URL SMTP_PORT [--owner NAME] [--on-ambiguous hold|resend]
                                   [--batch N] [--lease SECONDS] [--connections N]

Prints READY once the store and transport exist (just before dispatching), then one JSON line
with the report when the queue is done. The test kills it with SIGKILL at random moments.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from smtp_server import render_delivery

from publisher.delivery.dispatch import dispatch_pending
from publisher.delivery.options import MailSettings
from publisher.delivery.smtp import SmtpTransport
from publisher.store import Store


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("db_url")
    parser.add_argument("smtp_port", type=int)
    parser.add_argument("--owner", default=f"sender-{os.getpid()}")
    parser.add_argument("--on-ambiguous", choices=["hold", "resend"], default="hold")
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--lease", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=1)
    args = parser.parse_args(argv)
    options = MailSettings(
        transport="smtp", smtp_port=args.smtp_port, rate_per_second=10_000, batch_size=args.batch,
        lease_seconds=args.lease, on_ambiguous=args.on_ambiguous, retry_seconds=0, timeout_seconds=10,
        connections=args.connections,
    )
    store = Store(args.db_url)
    transport = SmtpTransport(options)
    print("READY", flush=True)
    try:
        report = dispatch_pending(store, transport, render_delivery, options, args.owner)
    finally:
        transport.close()
        store.close()
    print(json.dumps({"sent": report.sent, "held": report.held, "resent": report.resent, "skipped": report.skipped,
                      "requeued": report.requeued, "failed": report.failed, "retried": report.retried,
                      "ambiguous": [d.id for d in report.ambiguous], "remaining": report.remaining}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
