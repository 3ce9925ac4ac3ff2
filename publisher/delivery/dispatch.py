"""dispatch_pending: carry out the send ledger through a transport.

The steps, and what a crash at each one leaves behind:

1. ``requeue_unsent_expired`` + ``recover_expired``: rows of a dead sender. Rows it had claimed
   but never handed to its transport go back to the queue; the (at most one per sender) row it
   had handed over without an answer is *ambiguous*: held for staff, or queued again when
   ``on_ambiguous = "resend"``.
2. claim a batch under a lease (``batch_size``, ``lease_seconds``); rows whose recipient may no
   longer receive mail become ``skipped`` in the same statement.
3. per row: ``render(delivery) -> OutgoingMessage`` (with the row's Message-ID once it has one);
   ``begin_send`` records the Message-ID ("handed over") before ``transport.send``, and checks
   the recipient once more in that same write (``skipped`` if they left meanwhile); when the
   transport returns, ``mark_sent`` of this row and ``begin_send`` of the next are one commit.
   So one commit per message, and a kill at any moment leaves at most one message of this
   sender ambiguous.
4. transient ``SendError`` → ``retry`` at now + retry_seconds * 2^(attempt-1), ``failed``
   (reason ``gave-up``) once attempts reach ``max_attempts``; permanent → ``failed`` with the
   server's code and reply (reason ``permanent`` for a 5xx to RCPT/DATA, never queued again), and
   a hard bounce is counted towards suppressing the subscriber. *Ambiguous* (the whole message
   went out, no clear answer came back) → ``held`` (reason ``ambiguous``), like a row of a killed
   sender: never sent again unless staff release it (or ``on_ambiguous = "resend"``).
5. ``stop`` (a ``threading.Event``, e.g. set by SIGTERM) is checked between messages: the rows of
   the batch not yet handed over are released back to the queue, and the call returns.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

from ..models import Delivery
from ..store.ledger import Handover
from .base import OutgoingMessage, SendError, Transport
from .options import MailSettings
from .smtp import Withdrawn

log = logging.getLogger(__name__)

Render = Callable[[Delivery], OutgoingMessage]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class DispatchReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    held: int = 0  # ambiguous rows held for staff by this run (dead senders' and no clear answer)
    skipped: int = 0  # the recipient may no longer receive mail: skipped, never sent
    released: int = 0  # claimed rows given back unsent because of ``stop``
    requeued: int = 0  # rows of dead senders never handed over: queued again
    resent: int = 0  # ambiguous rows queued again (on_ambiguous = "resend")
    bounces: int = 0
    lost_claims: int = 0  # rows another sender recovered while this one held them (lease too short)
    paused: bool = False
    stopped: bool = False
    ambiguous: list[Delivery] = field(default_factory=list)
    remaining: dict[str, int] = field(default_factory=dict)  # queued/retry/sending left at the end

    @property
    def done(self) -> int:
        return self.sent + self.failed

    def summary(self) -> str:
        if self.paused:
            return "sending is paused (`publisher send resume`); nothing sent"
        parts = [f"{self.sent} sent", f"{self.retried} to retry", f"{self.failed} failed"]
        if self.skipped:
            parts.append(f"{self.skipped} skipped (the recipient may no longer receive mail)")
        if self.held:
            parts.append(f"{self.held} held (handed over without a clear answer; see `publisher send status`,"
                         " `publisher send release-held`)")
        if self.resent:
            parts.append(f"{self.resent} ambiguous queued again")
        if self.released:
            parts.append(f"{self.released} released unsent")
        left = {k: v for k, v in self.remaining.items() if v}
        if left:
            parts.append("left: " + ", ".join(f"{v} {k}" for k, v in sorted(left.items())))
        return "; ".join(parts)


def backoff(options: MailSettings, attempts: int) -> dt.timedelta:
    """Delay before the next try after ``attempts`` tries: retry_seconds, doubling."""
    return dt.timedelta(seconds=options.retry_seconds * 2 ** max(0, attempts - 1))


def _batch_limit(options: MailSettings) -> int:
    """Never claim more than the rate limit lets us send in half the lease (the connections of
    a pool share the rate)."""
    rate = options.rate_per_second / max(1, options.connections)
    return max(1, min(options.batch_size, int(options.lease_seconds * rate / 2)))


def dispatch_pending(
    store,
    transport: Transport,
    render: Render,
    options: MailSettings,
    owner: str,
    *,
    message_key: str | None = None,
    stop: threading.Event | None = None,
    progress: Callable[[DispatchReport], None] | None = None,
    clock: Callable[[], dt.datetime] = _utcnow,
    sleep: Callable[[float], None] = time.sleep,
    wait_for_retries: bool = False,
    poll_seconds: float = 1.0,
    prepare: Callable[[list[Delivery]], None] | None = None,
) -> DispatchReport:
    """Send due rows (all, or one ``message_key``'s) until none is due. With
    ``wait_for_retries`` keep going (sleeping ``poll_seconds``) until nothing is queued or
    waiting for a retry. ``prepare(batch)``, if given, is called with each claimed batch before
    any of it is rendered (the renderer loads the batch's subscribers in one query).

    ``options.connections`` > 1 and a transport that can open siblings (``SmtpTransport``):
    that many connections, each in its own thread with its own claims (owner ``OWNER#k``) and
    its own "handed over" row, sharing the transport's rate limit (see pool.py)."""
    from .pool import transports_for

    transports = transports_for(transport, options.connections)
    if len(transports) == 1:
        dispatcher = _Dispatcher(store, transport, render, options, owner, message_key, stop, progress, clock, sleep)
        dispatcher.prepare = prepare
        dispatcher.recover()
        return dispatcher.run(wait_for_retries, poll_seconds)
    from .pool import run_pool

    def make(k: int, conn: Transport, tick: Callable[[DispatchReport], None],
             halt: Callable[[], bool]) -> _Dispatcher:
        worker = _Dispatcher(store, conn, render, options, f"{owner}#{k}", message_key, stop, tick, clock, sleep)
        worker.prepare, worker.halted = prepare, halt
        return worker

    first = _Dispatcher(store, transport, render, options, owner, message_key, stop, progress, clock, sleep)
    first.recover()  # once, before any connection claims
    return run_pool(first.report, transports, make, progress,
                    lambda worker: worker.run(wait_for_retries, poll_seconds), store, message_key)


class _Dispatcher:
    def __init__(self, store, transport, render, options, owner, message_key, stop, progress, clock, sleep):
        self.store, self.transport, self.render, self.options = store, transport, render, options
        self.owner, self.message_key, self.stop = owner, message_key, stop
        self.progress, self.clock, self.sleep = progress, clock, sleep
        self.report = DispatchReport()
        self.prepare: Callable[[list[Delivery]], None] | None = None
        self.halted: Callable[[], bool] = lambda: False  # a pool stops its workers when one of them fails
        self.writer: ThreadPoolExecutor | None = None  # the ledger commits of a pipelining transport

    def stopping(self) -> bool:
        return (self.stop is not None and self.stop.is_set()) or self.halted()

    def _tick(self) -> None:
        if self.progress is not None:
            self.progress(self.report)

    def run(self, wait_for_retries: bool, poll_seconds: float) -> DispatchReport:
        try:
            return self._run(wait_for_retries, poll_seconds)
        finally:
            if self.writer is not None:  # wait for the last ledger commit
                self.writer.shutdown(wait=True)
                self.writer = None

    def _run(self, wait_for_retries: bool, poll_seconds: float) -> DispatchReport:
        report = self.report
        lease = dt.timedelta(seconds=self.options.lease_seconds)
        while not self.stopping():
            if self.store.get_control("sending").get("paused"):
                report.paused = True
                log.info("sending is paused; %s stops here", self.owner)
                break
            batch, skipped = self.store.claim_batch(self.owner, _batch_limit(self.options), lease,
                                                    message_key=self.message_key)
            report.skipped += skipped
            if skipped:
                self._tick()
            if batch:
                self.send_batch(batch)
                continue
            if skipped:
                continue
            if not wait_for_retries or not self._waiting():
                break
            self.sleep(poll_seconds)
        report.stopped = self.stopping()
        counts = self.store.delivery_counts(self.message_key)
        report.remaining = {s: counts.get(s, 0) for s in ("queued", "retry", "sending")}
        return report

    def _waiting(self) -> bool:
        counts = self.store.delivery_counts(self.message_key)
        return bool(counts.get("queued") or counts.get("retry"))

    def recover(self) -> None:
        report = self.report
        cutoff = _utcnow()  # one cutoff for both: see requeue_unsent_expired
        report.requeued = self.store.requeue_unsent_expired(now=cutoff)
        resend = self.options.on_ambiguous == "resend"
        report.ambiguous = self.store.recover_expired(resend=resend, now=cutoff)
        if resend:
            report.resent = len(report.ambiguous)
        else:
            report.held = len(report.ambiguous)
        for d in report.ambiguous:
            log.warning("delivery %s to %s (%s, Message-ID %s) was in flight when its sender stopped: %s",
                        d.id, d.recipient, d.message_key, d.message_id, "queued again" if resend else "held")
        if report.requeued or report.ambiguous:
            self._tick()

    # ------------------------------------------------------------------ one batch
    def _rendered(self, queue: deque[Delivery]) -> tuple[Delivery, OutgoingMessage] | None:
        """The next row of the batch that renders; rows that cannot be rendered fail."""
        while queue:
            delivery = queue.popleft()
            try:
                message = self.render(delivery)
                if delivery.message_id and message.message_id != delivery.message_id:
                    raise ValueError(f"the message has Message-ID {message.message_id}, the delivery's is "
                                     f"{delivery.message_id} (render must use the row's)")
            except Exception as exc:  # noqa: BLE001 - a bad row must not stop the others
                log.error("cannot render delivery %s (%s to %s): %s", delivery.id, delivery.message_key,
                          delivery.recipient, exc)
                # a recipient erased or gone since the claim is skipped, not failed
                done = self.store.mark_failed(delivery, f"render: {type(exc).__name__}: {exc}", reason="render",
                                              skip_if_gone=True)
                if done is None:
                    self.report.lost_claims += 1
                elif done == "skipped":
                    self.report.skipped += 1
                else:
                    self.report.failed += 1
                self._tick()
                continue
            return delivery, message
        return None

    def _handover(self, state: Handover) -> bool:
        if state is Handover.SKIPPED:
            self.report.skipped += 1
            self._tick()
        elif state is Handover.LOST:
            self.report.lost_claims += 1
        return bool(state)

    def _begun(self, queue: deque[Delivery]) -> tuple[Delivery, OutgoingMessage] | None:
        while not self.stopping():
            item = self._rendered(queue)
            if item is None:
                return None
            if self._handover(self.store.begin_send(item[0], item[1].message_id)):
                return item
        return None

    def send_batch(self, batch: list[Delivery]) -> None:
        if self.prepare is not None:
            try:
                self.prepare(batch)
            except Exception:  # an optimisation only: rendering loads what it needs itself
                log.exception("preparing a batch of %d deliveries failed", len(batch))
        queue = deque(batch)
        current = self._begun(queue)
        commit: _Commit | None = None  # pipelined: the commit that hands ``current`` over, still running
        while current is not None:
            delivery, message = current
            if self.stopping():  # marked, but not handed to the transport yet: give it back too
                if commit is None or commit.began():
                    queue.appendleft(delivery)
                break
            try:
                if commit is None:
                    self.transport.send(message)
                else:
                    self.transport.send(message, ready=commit.began)
            except Withdrawn:  # the commit said skipped or lost: the dot never went out
                current, commit = self._begun(queue), None
                continue
            except SendError as exc:
                if commit is None or commit.began():
                    self.failure(delivery, exc, message.message_id)
                current, commit = self._begun(queue), None
            except Exception as exc:
                log.exception("transport %s crashed on delivery %s", getattr(self.transport, "name", "?"), delivery.id)
                if commit is None or commit.began():
                    self.failure(delivery, SendError(f"transport error: {type(exc).__name__}: {exc}",
                                                     transient=True), message.message_id)
                current, commit = self._begun(queue), None
            else:
                current, commit = self.success(delivery, message, queue)
            self._tick()
        self.release(queue)

    def success(self, delivery: Delivery, message: OutgoingMessage, queue: deque[Delivery]):
        """The server took ``delivery``. Mark it sent and hand the next row over in one commit:
        (next row, None) once committed, or, with a pipelining transport, (next row, the commit
        still running): its message goes out while the commit runs, and its final dot only once
        the commit is done (so never two messages of this connection in flight)."""
        self.report.sent += 1  # the server took it, whatever the ledger says now
        following = None if self.stopping() else self._rendered(queue)
        if following is None:
            self._sent(delivery, self.store.mark_sent(delivery, message.message_id))
            return None, None
        args = (delivery, message.message_id, following[0], following[1].message_id)
        if getattr(self.transport, "pipelines", False):
            if self.writer is None:
                self.writer = ThreadPoolExecutor(1, thread_name_prefix=f"ledger-{self.owner}")
            return following, _Commit(self, delivery, self.writer.submit(self.store.mark_sent_and_begin, *args))
        ok, began = self.store.mark_sent_and_begin(*args)
        self._sent(delivery, ok)
        if self._handover(began):
            return following, None
        return self._begun(queue), None

    def _sent(self, delivery: Delivery, ok: bool) -> None:
        if not ok:
            self.report.lost_claims += 1
            log.warning("delivery %s was sent but its claim had been taken over (lease %ss too short?)",
                        delivery.id, self.options.lease_seconds)

    def failure(self, delivery: Delivery, exc: SendError, message_id: str | None = None) -> None:
        report, options = self.report, self.options
        reason = f"{exc.code} {exc.reply}".strip() if exc.code else str(exc)
        if getattr(exc, "ambiguous", False):
            ok = self.ambiguous(delivery, str(exc), message_id)
        elif exc.transient and delivery.attempts < options.max_attempts:
            when = self.clock() + backoff(options, delivery.attempts)
            ok = self.store.mark_retry(delivery, f"{reason} (attempt {delivery.attempts})", when)
            report.retried += ok
        else:
            if exc.transient:
                reason, why = f"gave up after {delivery.attempts} attempts: {reason}", "gave-up"
            else:
                why = "permanent" if exc.permanent_for_recipient else "refused"
            ok = self.store.mark_failed(delivery, reason, reason=why) is not None
            report.failed += ok
            if exc.bounce and delivery.subscriber_id is not None:
                report.bounces += 1
                self.store.record_bounce(delivery.subscriber_id, options.hard_bounce_limit)
        if not ok:
            report.lost_claims += 1
        log.info("delivery %s to %s: %s", delivery.id, delivery.recipient, exc)

    def ambiguous(self, delivery: Delivery, error: str, message_id: str | None) -> bool:
        """The whole message went out and no clear answer came back: held (or, with
        ``on_ambiguous = "resend"``, retried with the same Message-ID)."""
        if self.options.on_ambiguous == "resend":
            when = self.clock() + backoff(self.options, delivery.attempts)
            ok = self.store.mark_retry(delivery, f"{error} (queued again: on_ambiguous = resend)", when)
            self.report.resent += ok
        else:
            ok = self.store.mark_held(delivery, error)
            self.report.held += ok
        self.report.ambiguous.append(delivery)
        log.warning("delivery %s to %s (%s, Message-ID %s): no clear answer from the server: %s", delivery.id,
                    delivery.recipient, delivery.message_key, message_id, "queued again" if
                    self.options.on_ambiguous == "resend" else "held")
        return ok

    def release(self, queue: deque[Delivery]) -> None:
        for delivery in queue:
            if self.store.release_claim(delivery):
                self.report.released += 1


class _Commit:
    """The running commit "sent (previous row) + handed over (this row)"; ``began()`` waits
    for it once and says whether this row may be handed over (the transport's ``ready``)."""

    def __init__(self, dispatcher: _Dispatcher, previous: Delivery, future: Future):
        self.dispatcher, self.previous, self.future = dispatcher, previous, future
        self._began: bool | None = None

    def began(self) -> bool:
        if self._began is None:
            ok, handover = self.future.result()
            self.dispatcher._sent(self.previous, ok)
            self._began = self.dispatcher._handover(handover)
        return self._began


__all__ = ["DispatchReport", "backoff", "dispatch_pending"]
