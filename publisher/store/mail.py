"""Store methods for subscribers and control switches (mixed into Store); the send ledger's
methods are in ledger.py (its rules: there).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, func, select, update

from ..errors import PublisherError
from ..models import Frequency, Subscriber, SubscriberStatus
from .ledger import Handover, LedgerStoreMixin, may_receive
from .schema import ControlRow, DeliveryRow, SubscriberRow, utcnow

__all__ = ["Handover", "MailStoreMixin", "may_receive"]


def _subscriber(row: SubscriberRow) -> Subscriber:
    return Subscriber(
        id=row.id, email=row.email, lang=row.lang, frequency=Frequency(row.frequency),
        status=SubscriberStatus(row.status), consent_source=row.consent_source, hard_bounces=row.hard_bounces,
        token_version=row.token_version, created_at=row.created_at, confirmed_at=row.confirmed_at,
        unsubscribed_at=row.unsubscribed_at,
    )


class MailStoreMixin(LedgerStoreMixin):
    """Subscribers and control switches here; the send ledger in ledger.py."""

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
