"""The send ledger (mixed into Store through MailStoreMixin).

The rules: a row per (message key, recipient), inserted once (a second enqueue of the same key
is a no-op, so a manual send never duplicates a scheduled one); a sender claims rows under a
lease with a claim token (PostgreSQL: FOR UPDATE SKIP LOCKED, so several senders never wait for
or take each other's rows; SQLite: one writer at a time and a conditional UPDATE); only the
holder of the claim may mark a row sent, retry, failed or held, and "sent" is written only after
the transport accepted the message.

**Who may receive it is decided at the last moment.** The claim and the "handed to the
transport" mark (``begin_send``, the last write before ``transport.send``) both carry the
condition :func:`may_receive` in the very UPDATE that changes the row: a row whose recipient is
unsubscribed, suppressed/bounced, erased or has not confirmed becomes ``skipped`` with that
reason in the same transaction, and is never sent. A staff test message (kind ``test``) goes to
any address; a confirmation (kind ``confirm``) to a subscriber who has not confirmed yet.

**One Message-ID per delivery.** The first attempt records its Message-ID on the row and no
later claim clears it: every retry, ``release_held`` and ``on_ambiguous = "resend"`` sends the
same Message-ID again (the renderer takes the row's). ``handed_at`` says the current attempt is
with the transport; a row still ``sending`` with it set when its lease ran out is *ambiguous*.

Reasons (``reason``): skipped → unsubscribed | suppressed | bounced | erased | unconfirmed;
held → ambiguous; failed → permanent (5xx to RCPT/DATA: never queued again) | refused (5xx to
MAIL FROM: our side) | gave-up (transient, max_attempts reached) | render.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, bindparam, case, func, not_, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..models import Delivery, DeliveryStatus
from .schema import DeliveryRow, SubscriberRow, utcnow

D = DeliveryStatus
_T = DeliveryRow.__table__
_S = SubscriberRow.__table__
ANY_ADDRESS_KINDS = ("test",)  # staff test sends: an address that need not be a subscriber
UNCONFIRMED_KINDS = ("confirm",)  # what a subscriber who has not confirmed yet may receive
PERMANENT = "permanent"
AMBIGUOUS = "ambiguous"
_DUE = (D.QUEUED.value, D.RETRY.value)


def _subscriber_status():
    """The recipient's subscriber status now ("erased" when the row has no subscriber)."""
    status = select(_S.c.status).where(_S.c.id == _T.c.subscriber_id).correlate(_T).scalar_subquery()
    return func.coalesce(status, "erased")


def may_receive():
    """SQL condition on a ledger row: its recipient may receive this message now."""
    status = _subscriber_status()
    return or_(_T.c.kind.in_(ANY_ADDRESS_KINDS), status == "confirmed",
               and_(_T.c.kind.in_(UNCONFIRMED_KINDS), status == "pending"))


def _skip_reason():
    status = _subscriber_status()
    return case((status == "pending", "unconfirmed"), else_=status)


def _skipped_values() -> dict[str, Any]:
    return {"status": D.SKIPPED.value, "reason": _skip_reason(), "claim": None, "lease_until": None,
            "handed_at": None}


class Handover(enum.Enum):
    """What ``begin_send`` did: only BEGUN may be handed to the transport."""

    BEGUN = "begun"
    SKIPPED = "skipped"  # the recipient may no longer receive mail: the row is skipped
    LOST = "lost"  # the claim is void (another sender recovered the row)

    def __bool__(self) -> bool:
        return self is Handover.BEGUN


def _delivery(row: DeliveryRow) -> Delivery:
    return Delivery(
        id=row.id, message_key=row.message_key, subscriber_id=row.subscriber_id, recipient=row.recipient,
        kind=row.kind, lang=row.lang, payload=dict(row.payload or {}), status=DeliveryStatus(row.status),
        attempts=row.attempts, claim=row.claim, lease_until=row.lease_until, next_attempt_at=row.next_attempt_at,
        last_error=row.last_error, message_id=row.message_id, created_at=row.created_at, sent_at=row.sent_at,
        reason=row.reason, handed_at=row.handed_at,
    )


_MINE = and_(_T.c.id == bindparam("b_id"), _T.c.claim == bindparam("b_claim"), _T.c.status == D.SENDING.value)
_BEGIN = update(_T).where(_MINE, may_receive()).values(message_id=bindparam("b_mid"), handed_at=bindparam("b_at"))
_SKIP = update(_T).where(_MINE, not_(may_receive())).values(**_skipped_values())
_SENT = (
    update(_T)
    .where(_T.c.id == bindparam("s_id"), _T.c.claim == bindparam("s_claim"), _T.c.status == D.SENDING.value)
    .values(status=D.SENT.value, claim=None, lease_until=None, sent_at=bindparam("s_at"),
            message_id=bindparam("s_mid"), last_error=None, reason=None)
)


_ASYNC_COMMIT = text("SET LOCAL synchronous_commit = off")


def _async_commit(conn: Any) -> None:
    """PostgreSQL: this transaction's commit does not wait for the WAL flush (docs/delivery.md,
    "Commits"). The server has the change when COMMIT returns, so a killed sender loses
    nothing; only a crash of the database server itself can lose the last ~0.6 s of them."""
    if conn.dialect.name == "postgresql":
        conn.execute(_ASYNC_COMMIT)


def _begin(conn: Any, delivery: Delivery, message_id: str) -> Handover:
    params = {"b_id": delivery.id, "b_claim": delivery.claim, "b_mid": message_id, "b_at": utcnow()}
    if conn.execute(_BEGIN, params).rowcount:
        return Handover.BEGUN
    if conn.execute(_SKIP, params).rowcount:
        return Handover.SKIPPED
    return Handover.LOST


class LedgerStoreMixin:
    def enqueue(
        self, message_key: str, kind: str, lang: str, payload: dict[str, Any],
        recipients: Iterable[tuple[int | None, str]], not_before: dt.datetime | None = None,
    ) -> int:
        """Queue one message per recipient; rows that already exist are left alone.
        Returns how many rows were new."""
        now = utcnow()
        rows = [
            {"message_key": message_key, "subscriber_id": sid, "recipient": address, "kind": kind, "lang": lang,
             "payload": payload, "status": D.QUEUED.value, "attempts": 0, "next_attempt_at": not_before or now,
             "created_at": now}
            for sid, address in recipients
        ]
        if not rows:
            return 0
        added = 0
        with self.session() as session:
            dialect = session.bind.dialect.name
            insert = pg_insert if dialect == "postgresql" else sqlite_insert
            for start in range(0, len(rows), 1000):
                statement = (
                    insert(DeliveryRow)
                    .values(rows[start : start + 1000])
                    .on_conflict_do_nothing(index_elements=["message_key", "recipient"])
                    .returning(DeliveryRow.id)
                )
                added += len(session.execute(statement).all())
        return added

    def claim(self, owner: str, limit: int, lease: dt.timedelta, message_key: str | None = None) -> list[Delivery]:
        """Take up to ``limit`` due rows under a lease. Returns them with the claim token."""
        return self.claim_batch(owner, limit, lease, message_key)[0]

    def claim_batch(
        self, owner: str, limit: int, lease: dt.timedelta, message_key: str | None = None
    ) -> tuple[list[Delivery], int]:
        """(claimed rows, rows skipped because their recipient may no longer receive mail)."""
        now = utcnow()
        token = f"{owner}:{uuid.uuid4().hex[:12]}"
        with self.session() as session:
            _async_commit(session.connection())
            due = (
                select(_T.c.id)
                .where(_T.c.status.in_(_DUE), _T.c.next_attempt_at <= now)
                .order_by(_T.c.next_attempt_at, _T.c.id)
                .limit(limit)
            )
            if message_key:
                due = due.where(_T.c.message_key == message_key)
            if session.bind.dialect.name == "postgresql":
                # lock the due rows first (skipping those another sender has locked), then change
                # exactly those: a LIMIT … SKIP LOCKED subquery inside the UPDATE may run again
                ids = list(session.scalars(due.with_for_update(skip_locked=True)))
                if not ids:
                    return [], 0
                picked = _T.c.id.in_(ids)
            else:
                # the UPDATE's subquery picks the rows: the statement takes the write lock before
                # it reads (no stale read to upgrade)
                picked = _T.c.id.in_(due.scalar_subquery())
            # The status condition makes a double claim impossible, and may_receive() in the same
            # statement (and transaction) that nobody who left is claimed.
            skipped = session.execute(
                update(_T).where(picked, _T.c.status.in_(_DUE), not_(may_receive())).values(**_skipped_values())
            ).rowcount or 0
            session.execute(
                update(_T)
                .where(picked, _T.c.status.in_(_DUE), may_receive())
                .values(status=D.SENDING.value, claim=token, lease_until=now + lease, attempts=_T.c.attempts + 1,
                        handed_at=None)  # set by begin_send: "handed to the transport"; message_id stays
            )
            rows = session.scalars(select(DeliveryRow).where(DeliveryRow.claim == token).order_by(DeliveryRow.id))
            return [_delivery(r) for r in rows], skipped

    def _finish(self, delivery: Delivery, **values: Any) -> bool:
        with self.session() as session:
            _async_commit(session.connection())
            result = session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id == delivery.id, DeliveryRow.claim == delivery.claim,
                       DeliveryRow.status == D.SENDING.value)
                .values(claim=None, lease_until=None, **values)
            )
            return bool(result.rowcount)

    def begin_send(self, delivery: Delivery, message_id: str) -> Handover:
        """Record that this claimed row is about to be handed to the transport, with its
        Message-ID, if its recipient may still receive it (else it is skipped, same
        transaction). From here until it is marked, a crash makes it ambiguous; a claimed row
        without this mark was never handed over and is safe to queue again."""
        with self.engine.begin() as conn:
            _async_commit(conn)
            return _begin(conn, delivery, message_id)

    def mark_sent_and_begin(
        self, delivery: Delivery, message_id: str | None, following: Delivery, following_message_id: str
    ) -> tuple[bool, Handover]:
        """``mark_sent(delivery)`` and ``begin_send(following)`` in one transaction: one commit
        per message, and never more than one message of a sender in flight. (Core statements
        built once: this runs once per message sent.)"""
        with self.engine.begin() as conn:
            _async_commit(conn)
            sent = conn.execute(_SENT, {"s_id": delivery.id, "s_claim": delivery.claim, "s_mid": message_id,
                                        "s_at": utcnow()}).rowcount
            return bool(sent), _begin(conn, following, following_message_id)

    def requeue_unsent_expired(self, now: dt.datetime | None = None) -> int:
        """Rows whose sender died before handing them to the transport (no ``begin_send``
        mark): queued again, the attempt not counted. Call before ``recover_expired`` with the
        same ``now``, so a lease running out between the two calls cannot make rows that were
        never handed over look ambiguous."""
        with self.session() as session:
            result = session.execute(
                update(_T)
                .where(_T.c.status == D.SENDING.value, _T.c.lease_until < (now or utcnow()), _T.c.handed_at.is_(None))
                .values(status=D.QUEUED.value, claim=None, lease_until=None,
                        attempts=func.max(_T.c.attempts - 1, 0) if session.bind.dialect.name == "sqlite"
                        else func.greatest(_T.c.attempts - 1, 0))
            )
            return result.rowcount or 0

    def mark_sent(self, delivery: Delivery, message_id: str | None = None) -> bool:
        return self._finish(delivery, status=D.SENT.value, sent_at=utcnow(), message_id=message_id, last_error=None,
                            reason=None)

    def mark_retry(self, delivery: Delivery, error: str, next_attempt_at: dt.datetime) -> bool:
        return self._finish(delivery, status=D.RETRY.value, last_error=error, next_attempt_at=next_attempt_at)

    def mark_failed(self, delivery: Delivery, error: str, reason: str | None = None,
                    skip_if_gone: bool = False) -> DeliveryStatus | None:
        """Failed with the error and its reason; None if the claim is void. ``skip_if_gone``: a
        recipient who may no longer receive mail makes it ``skipped`` instead (same transaction)."""
        with self.engine.begin() as conn:
            _async_commit(conn)
            params = {"b_id": delivery.id, "b_claim": delivery.claim}
            if skip_if_gone and conn.execute(_SKIP, params).rowcount:
                return D.SKIPPED
            done = conn.execute(update(_T).where(_MINE).values(status=D.FAILED.value, last_error=error, reason=reason,
                                                               claim=None, lease_until=None), params).rowcount
            return D.FAILED if done else None

    def mark_held(self, delivery: Delivery, error: str, reason: str = AMBIGUOUS) -> bool:
        """Handed over without a clear answer: for staff (``release_held``), never retried."""
        return self._finish(delivery, status=D.HELD.value, last_error=error, reason=reason)

    def release_claim(self, delivery: Delivery) -> bool:
        """Give an unsent row back (shutdown before it was handed to the transport)."""
        return self._finish(delivery, status=D.QUEUED.value, attempts=max(0, delivery.attempts - 1), handed_at=None)

    def recover_expired(self, resend: bool = False, now: dt.datetime | None = None) -> list[Delivery]:
        """Rows whose sender died while they were in flight: held (reason "ambiguous") for
        staff, or queued again with their Message-ID. ``now``: the cutoff for "lease ran out"."""
        now = now or utcnow()
        with self.session() as session:
            rows = session.scalars(
                select(DeliveryRow).where(DeliveryRow.status == D.SENDING.value, DeliveryRow.lease_until < now)
            ).all()
            for row in rows:
                row.status = D.QUEUED.value if resend else D.HELD.value
                row.reason = None if resend else AMBIGUOUS
                row.last_error = "was in flight when its sender stopped (lease expired); " + (
                    "queued again by setting" if resend else "held: it may or may not have been delivered"
                )
                row.claim, row.lease_until = None, None
            return [_delivery(r) for r in rows]

    def requeue_failed(self, message_key: str | None = None) -> dict[str, Any]:
        """``retry-failed``: failed rows queued again, except permanent failures (the server
        refused the recipient or the message) and rows whose recipient may no longer receive
        mail. Held rows are never touched here (``release_held``)."""
        failed = [_T.c.status == D.FAILED.value]
        if message_key:
            failed.append(_T.c.message_key == message_key)
        not_permanent = func.coalesce(_T.c.reason, "") != PERMANENT
        with self.session() as session:
            queued = session.execute(
                update(_T).where(*failed, not_permanent, may_receive())
                .values(status=D.QUEUED.value, next_attempt_at=utcnow(), attempts=0, reason=None)
            ).rowcount or 0
            permanent = session.scalar(select(func.count()).where(*failed, _T.c.reason == PERMANENT))
            gone = session.scalar(select(func.count()).where(*failed, not_permanent, not_(may_receive())))
        return {"queued_again": queued, "kept": {"permanent": permanent or 0, "may_not_receive": gone or 0}}

    def release_held(self, message_key: str | None = None) -> int:
        """Staff: queue held rows again on purpose; each keeps its original Message-ID, so a
        client that got the first copy can recognise the second one."""
        where = [_T.c.status == D.HELD.value]
        if message_key:
            where.append(_T.c.message_key == message_key)
        with self.session() as session:
            result = session.execute(update(_T).where(*where).values(status=D.QUEUED.value, next_attempt_at=utcnow(),
                                                                      attempts=0, reason=None))
            return result.rowcount or 0

    def requeue(self, statuses: Sequence[DeliveryStatus] = (D.FAILED,), message_key: str | None = None) -> int:
        """Low level: rows in ``statuses`` queued again as they are (no recipient check here;
        the claim still skips anyone who may not receive mail)."""
        with self.session() as session:
            statement = update(_T).where(_T.c.status.in_([s.value for s in statuses]))
            if message_key:
                statement = statement.where(_T.c.message_key == message_key)
            result = session.execute(statement.values(status=D.QUEUED.value, next_attempt_at=utcnow(), attempts=0))
            return result.rowcount or 0

    def delivery_counts(self, message_key: str | None = None) -> dict[str, int]:
        query = select(DeliveryRow.status, func.count()).group_by(DeliveryRow.status)
        if message_key:
            query = query.where(DeliveryRow.message_key == message_key)
        with self.session() as session:
            return {status: count for status, count in session.execute(query)}

    def list_deliveries(
        self, status: str | None = None, message_key: str | None = None, recipient: str | None = None, limit: int = 100
    ) -> list[Delivery]:
        query = select(DeliveryRow).order_by(DeliveryRow.id.desc()).limit(limit)
        if status:
            query = query.where(DeliveryRow.status == status)
        if message_key:
            query = query.where(DeliveryRow.message_key == message_key)
        if recipient:
            query = query.where(DeliveryRow.recipient == recipient)
        with self.session() as session:
            return [_delivery(r) for r in session.scalars(query)]

    def message_keys(self, prefix: str) -> set[str]:
        with self.session() as session:
            return set(session.scalars(select(DeliveryRow.message_key).where(DeliveryRow.message_key.like(f"{prefix}%")).distinct()))
