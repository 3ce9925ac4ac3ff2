"""Store methods for subscribers, the send ledger and control switches (mixed into Store).

The ledger's rules: a row per (message key, recipient), inserted once (a second enqueue of the
same key is a no-op, so a manual send never duplicates a scheduled one); a sender claims rows
under a lease with a claim token (PostgreSQL: FOR UPDATE SKIP LOCKED, so several senders never
wait for or take each other's rows; SQLite: one writer at a time and a conditional UPDATE);
only the holder of the claim may mark a row sent, retry or failed, and "sent" is written only
after the transport accepted the message. A lease that expires means the sender died with the
message in flight: the row is held for staff (or queued again, by setting), never silently
resent.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..errors import PublisherError
from ..models import Delivery, DeliveryStatus, Frequency, Subscriber, SubscriberStatus
from .schema import ControlRow, DeliveryRow, SubscriberRow, utcnow

D = DeliveryStatus


def _subscriber(row: SubscriberRow) -> Subscriber:
    return Subscriber(
        id=row.id, email=row.email, lang=row.lang, frequency=Frequency(row.frequency),
        status=SubscriberStatus(row.status), consent_source=row.consent_source, hard_bounces=row.hard_bounces,
        token_version=row.token_version, created_at=row.created_at, confirmed_at=row.confirmed_at,
        unsubscribed_at=row.unsubscribed_at,
    )


def _delivery(row: DeliveryRow) -> Delivery:
    return Delivery(
        id=row.id, message_key=row.message_key, subscriber_id=row.subscriber_id, recipient=row.recipient,
        kind=row.kind, lang=row.lang, payload=dict(row.payload or {}), status=DeliveryStatus(row.status),
        attempts=row.attempts, claim=row.claim, lease_until=row.lease_until, next_attempt_at=row.next_attempt_at,
        last_error=row.last_error, message_id=row.message_id, created_at=row.created_at, sent_at=row.sent_at,
    )


_T = DeliveryRow.__table__
_BEGIN = (
    update(_T)
    .where(_T.c.id == bindparam("b_id"), _T.c.claim == bindparam("b_claim"), _T.c.status == D.SENDING.value)
    .values(message_id=bindparam("b_mid"))
)
_SENT = (
    update(_T)
    .where(_T.c.id == bindparam("s_id"), _T.c.claim == bindparam("s_claim"), _T.c.status == D.SENDING.value)
    .values(status=D.SENT.value, claim=None, lease_until=None, sent_at=bindparam("s_at"),
            message_id=bindparam("s_mid"), last_error=None)
)


class MailStoreMixin:
    # ------------------------------------------------------------------ subscribers
    def add_subscriber(
        self, email: str, lang: str, frequency: Frequency | str, status: SubscriberStatus = SubscriberStatus.PENDING,
        consent_source: str = "",
    ) -> tuple[Subscriber, bool]:
        """(subscriber, created). An existing address keeps its row; one that had left and
        subscribes again starts over as ``status``."""
        now = utcnow()
        with self.session() as session:
            row = session.scalars(select(SubscriberRow).where(SubscriberRow.email == email)).first()
            if row is not None:
                if row.status in (SubscriberStatus.UNSUBSCRIBED.value,) and status is not None:
                    row.status, row.lang, row.frequency = status.value, lang, Frequency(frequency).value
                    row.consent_source, row.unsubscribed_at, row.updated_at = consent_source, None, now
                    row.token_version += 1
                    row.confirmed_at = now if status is SubscriberStatus.CONFIRMED else None
                return _subscriber(row), False
            row = SubscriberRow(
                email=email, lang=lang, frequency=Frequency(frequency).value, status=status.value,
                consent_source=consent_source, hard_bounces=0, token_version=1, created_at=now, updated_at=now,
                confirmed_at=now if status is SubscriberStatus.CONFIRMED else None,
            )
            session.add(row)
            session.flush()
            return _subscriber(row), True

    def get_subscriber(self, key: int | str) -> Subscriber | None:
        with self.session() as session:
            row = self._subscriber_row(session, key)
            return _subscriber(row) if row is not None else None

    def get_subscribers(self, ids: Sequence[int]) -> list[Subscriber]:
        """Several subscribers by id in one query (unknown ids are left out)."""
        found: list[Subscriber] = []
        with self.session() as session:
            for start in range(0, len(ids), 1000):
                chunk = list(ids[start : start + 1000])
                found.extend(_subscriber(r) for r in session.scalars(select(SubscriberRow).where(SubscriberRow.id.in_(chunk))))
        return found

    def _subscriber_row(self, session: Any, key: int | str) -> SubscriberRow | None:
        if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
            return session.get(SubscriberRow, int(key))
        return session.scalars(select(SubscriberRow).where(SubscriberRow.email == key)).first()

    def list_subscribers(
        self, status: str | None = None, lang: str | None = None, frequency: str | None = None, limit: int | None = None
    ) -> list[Subscriber]:
        query = select(SubscriberRow).order_by(SubscriberRow.id)
        if status:
            query = query.where(SubscriberRow.status == status)
        if lang:
            query = query.where(SubscriberRow.lang == lang)
        if frequency:
            query = query.where(SubscriberRow.frequency == frequency)
        if limit:
            query = query.limit(limit)
        with self.session() as session:
            return [_subscriber(r) for r in session.scalars(query)]

    def subscriber_counts(self) -> dict[str, dict[str, int]]:
        """{status: {lang: count}}."""
        query = select(SubscriberRow.status, SubscriberRow.lang, func.count()).group_by(
            SubscriberRow.status, SubscriberRow.lang
        )
        out: dict[str, dict[str, int]] = {}
        with self.session() as session:
            for status, lang, count in session.execute(query):
                out.setdefault(status, {})[lang] = count
        return out

    def set_subscriber_status(self, key: int | str, status: SubscriberStatus) -> Subscriber:
        now = utcnow()
        with self.session() as session:
            row = self._subscriber_row(session, key)
            if row is None:
                raise PublisherError(f"no subscriber {key!r}; `publisher subscribers list` shows them")
            row.status, row.updated_at = status.value, now
            if status is SubscriberStatus.CONFIRMED and row.confirmed_at is None:
                row.confirmed_at = now
            if status is SubscriberStatus.UNSUBSCRIBED:
                row.unsubscribed_at = now
            return _subscriber(row)

    def update_subscriber(self, key: int | str, lang: str | None = None, frequency: str | None = None) -> Subscriber:
        with self.session() as session:
            row = self._subscriber_row(session, key)
            if row is None:
                raise PublisherError(f"no subscriber {key!r}")
            if lang:
                row.lang = lang
            if frequency:
                row.frequency = Frequency(frequency).value
            row.updated_at = utcnow()
            return _subscriber(row)

    def record_bounce(self, subscriber_id: int, limit: int) -> Subscriber | None:
        """A hard bounce; after ``limit`` of them the subscriber is suppressed."""
        with self.session() as session:
            row = session.get(SubscriberRow, subscriber_id)
            if row is None:
                return None
            row.hard_bounces += 1
            if row.hard_bounces >= limit and row.status == SubscriberStatus.CONFIRMED.value:
                row.status = SubscriberStatus.SUPPRESSED.value
            row.updated_at = utcnow()
            return _subscriber(row)

    def delete_subscriber(self, key: int | str) -> bool:
        """GDPR erasure: the row goes; the ledger keeps only a hash of the address."""
        with self.session() as session:
            row = self._subscriber_row(session, key)
            if row is None:
                return False
            digest = "erased:" + hashlib.sha256(row.email.encode()).hexdigest()[:32]
            session.execute(
                update(DeliveryRow).where(DeliveryRow.recipient == row.email).values(recipient=digest, subscriber_id=None)
            )
            session.delete(row)
            return True

    # ------------------------------------------------------------------ ledger
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
        now = utcnow()
        token = f"{owner}:{uuid.uuid4().hex[:12]}"
        with self.session() as session:
            due = (
                select(DeliveryRow.id)
                .where(DeliveryRow.status.in_([D.QUEUED.value, D.RETRY.value]), DeliveryRow.next_attempt_at <= now)
                .order_by(DeliveryRow.next_attempt_at, DeliveryRow.id)
                .limit(limit)
            )
            if message_key:
                due = due.where(DeliveryRow.message_key == message_key)
            if session.bind.dialect.name == "postgresql":
                due = due.with_for_update(skip_locked=True)
            # one UPDATE whose subquery picks the rows: on SQLite the statement takes the write
            # lock before it reads (no stale read to upgrade); on PostgreSQL the subquery skips
            # rows another sender has locked. The status condition makes a double claim impossible.
            session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id.in_(due.scalar_subquery()),
                       DeliveryRow.status.in_([D.QUEUED.value, D.RETRY.value]))
                .values(status=D.SENDING.value, claim=token, lease_until=now + lease, attempts=DeliveryRow.attempts + 1,
                        message_id=None)  # set again by begin_send: "handed to the transport" marker
                .execution_options(synchronize_session=False)
            )
            rows = session.scalars(select(DeliveryRow).where(DeliveryRow.claim == token).order_by(DeliveryRow.id))
            return [_delivery(r) for r in rows]

    def _finish(self, delivery: Delivery, **values: Any) -> bool:
        with self.session() as session:
            result = session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.id == delivery.id, DeliveryRow.claim == delivery.claim,
                       DeliveryRow.status == D.SENDING.value)
                .values(claim=None, lease_until=None, **values)
            )
            return bool(result.rowcount)

    def begin_send(self, delivery: Delivery, message_id: str) -> bool:
        """Record that this claimed row is about to be handed to the transport (with the
        Message-ID it goes out with). From here until it is marked, a crash makes it ambiguous;
        a claimed row without this mark was never handed over and is safe to queue again."""
        with self.engine.begin() as conn:
            return bool(conn.execute(_BEGIN, {"b_id": delivery.id, "b_claim": delivery.claim, "b_mid": message_id}).rowcount)

    def mark_sent_and_begin(
        self, delivery: Delivery, message_id: str | None, following: Delivery, following_message_id: str
    ) -> tuple[bool, bool]:
        """``mark_sent(delivery)`` and ``begin_send(following)`` in one transaction: one commit
        per message, and never more than one message of a sender in flight. (Core statements
        built once: this runs once per message sent.)"""
        with self.engine.begin() as conn:
            sent = conn.execute(_SENT, {"s_id": delivery.id, "s_claim": delivery.claim, "s_mid": message_id,
                                        "s_at": utcnow()}).rowcount
            began = conn.execute(_BEGIN, {"b_id": following.id, "b_claim": following.claim,
                                          "b_mid": following_message_id}).rowcount
            return bool(sent), bool(began)

    def requeue_unsent_expired(self, now: dt.datetime | None = None) -> int:
        """Rows whose sender died before handing them to the transport (no ``begin_send``
        mark): queued again, the attempt not counted. Call before ``recover_expired`` with the
        same ``now``, so a lease running out between the two calls cannot make rows that were
        never handed over look ambiguous."""
        with self.session() as session:
            result = session.execute(
                update(DeliveryRow)
                .where(DeliveryRow.status == D.SENDING.value, DeliveryRow.lease_until < (now or utcnow()),
                       DeliveryRow.message_id.is_(None))
                .values(status=D.QUEUED.value, claim=None, lease_until=None,
                        attempts=func.max(DeliveryRow.attempts - 1, 0) if session.bind.dialect.name == "sqlite"
                        else func.greatest(DeliveryRow.attempts - 1, 0))
            )
            return result.rowcount or 0

    def mark_sent(self, delivery: Delivery, message_id: str | None = None) -> bool:
        return self._finish(delivery, status=D.SENT.value, sent_at=utcnow(), message_id=message_id, last_error=None)

    def mark_retry(self, delivery: Delivery, error: str, next_attempt_at: dt.datetime) -> bool:
        return self._finish(delivery, status=D.RETRY.value, last_error=error, next_attempt_at=next_attempt_at)

    def mark_failed(self, delivery: Delivery, error: str) -> bool:
        return self._finish(delivery, status=D.FAILED.value, last_error=error)

    def release_claim(self, delivery: Delivery) -> bool:
        """Give an unsent row back (shutdown before it was handed to the transport)."""
        return self._finish(delivery, status=D.QUEUED.value, attempts=max(0, delivery.attempts - 1))

    def recover_expired(self, resend: bool = False, now: dt.datetime | None = None) -> list[Delivery]:
        """Rows whose sender died while they were in flight: held for staff, or queued again.
        ``now``: the cutoff for "lease ran out" (default: the current time)."""
        now = now or utcnow()
        with self.session() as session:
            rows = session.scalars(
                select(DeliveryRow).where(DeliveryRow.status == D.SENDING.value, DeliveryRow.lease_until < now)
            ).all()
            for row in rows:
                row.status = D.QUEUED.value if resend else D.HELD.value
                row.last_error = "was in flight when its sender stopped (lease expired); " + (
                    "queued again by setting" if resend else "held: it may or may not have been delivered"
                )
                row.claim, row.lease_until = None, None
            return [_delivery(r) for r in rows]

    def requeue(self, statuses: Sequence[DeliveryStatus] = (D.FAILED, D.HELD), message_key: str | None = None) -> int:
        with self.session() as session:
            statement = update(DeliveryRow).where(DeliveryRow.status.in_([s.value for s in statuses]))
            if message_key:
                statement = statement.where(DeliveryRow.message_key == message_key)
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

    # ------------------------------------------------------------------ control
    def get_control(self, key: str) -> dict[str, Any]:
        with self.session() as session:
            row = session.get(ControlRow, key)
            return dict(row.value) if row is not None else {}

    def set_control(self, key: str, value: dict[str, Any]) -> None:
        with self.session() as session:
            row = session.get(ControlRow, key)
            if row is None:
                session.add(ControlRow(key=key, value=value, updated_at=utcnow()))
            else:
                row.value, row.updated_at = value, utcnow()

    def purge_control(self, key: str) -> None:
        with self.session() as session:
            session.execute(delete(ControlRow).where(ControlRow.key == key))
