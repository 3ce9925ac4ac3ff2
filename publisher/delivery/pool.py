"""A pool of SMTP connections for one sender (``[mail] connections``).

Each connection is a worker thread running the single-connection loop of dispatch.py with its
own owner name (``OWNER#k``), so each has its own ledger claims and at most one row handed over
without an answer: a kill -9 leaves at most one ambiguous row per connection. The connections
share the transport's rate limit (``SmtpTransport.sibling``). Dead senders' rows are recovered
once, before any worker claims. A worker that raises stops the others between messages (their
unsent rows go back to the queue) and the exception is raised again to the caller.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable
from typing import Any

from .base import Transport

log = logging.getLogger(__name__)


def transports_for(transport: Transport, connections: int) -> list[Transport]:
    """The given transport and ``connections - 1`` siblings; a transport without
    ``sibling()`` (the outbox) is used alone."""
    sibling = getattr(transport, "sibling", None)
    if connections <= 1 or sibling is None:
        return [transport]
    return [transport] + [sibling() for _ in range(connections - 1)]


def merge(into: Any, reports: list[Any]) -> Any:
    """The sum of several DispatchReports (counts added, lists joined, flags or-ed)."""
    for field in dataclasses.fields(into):
        name = field.name
        if name == "remaining":
            continue
        value = getattr(into, name)
        for report in reports:
            other = getattr(report, name)
            if isinstance(value, bool):
                value = value or other
            elif isinstance(value, list):
                value = value + other
            else:
                value = value + other
        setattr(into, name, value)
    return into


def run_pool(base: Any, transports: list[Transport], make: Callable[..., Any],
             progress: Callable[[Any], None] | None, run_one: Callable[[Any], Any],
             store: Any, message_key: str | None) -> Any:
    """Run one worker per transport in its own thread; return ``base`` (the recovery's
    report) plus every worker's report."""
    lock = threading.Lock()
    failed = threading.Event()
    errors: list[BaseException] = []
    workers: list[Any] = []

    def tick(_report: Any) -> None:
        if progress is None:
            return
        with lock:
            progress(merge(dataclasses.replace(base, ambiguous=list(base.ambiguous)),
                           [w.report for w in workers]))

    for k, transport in enumerate(transports, start=1):
        workers.append(make(k, transport, tick, failed.is_set))

    def work(worker: Any) -> None:
        try:
            run_one(worker)
        except BaseException as exc:  # noqa: BLE001 - raised again below, in the caller's thread
            log.exception("sending connection %s failed", worker.owner)
            errors.append(exc)
            failed.set()

    threads = [threading.Thread(target=work, args=(w,), name=f"send-{w.owner}", daemon=True) for w in workers]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join()
    finally:
        for transport in transports[1:]:  # the first one is the caller's to close
            try:
                transport.close()
            except Exception:  # noqa: BLE001
                log.exception("closing an SMTP connection of the pool failed")
    if errors:
        raise errors[0]
    report = merge(base, [w.report for w in workers])
    report.stopped = any(w.report.stopped for w in workers)
    report.paused = any(w.report.paused for w in workers)
    counts = store.delivery_counts(message_key)
    report.remaining = {s: counts.get(s, 0) for s in ("queued", "retry", "sending")}
    return report
