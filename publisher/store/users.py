"""Store methods for staff users and the numbers the web pages and /metrics show (mixed into Store).

Passwords are hashed by the caller (publisher.web.security); this module stores hashes only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, text

from ..errors import PublisherError
from .schema import DeliveryRow, SourceStateRow, StaffUserRow, TranslationRow, utcnow


@dataclass(frozen=True)
class StaffUser:
    id: int
    name: str
    email: str | None
    password_hash: str
    active: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None


def _user(row: StaffUserRow) -> StaffUser:
    return StaffUser(row.id, row.name, row.email, row.password_hash, row.active, row.created_at, row.last_login_at)


class UserStoreMixin:
    def session(self) -> Any: ...  # provided by Store

    # ------------------------------------------------------------------ staff users
    def add_staff_user(self, name: str, password_hash: str, email: str | None = None) -> StaffUser:
        name = name.strip()
        if not name:
            raise PublisherError("a staff user needs a name")
        with self.session() as session:
            if session.scalars(select(StaffUserRow).where(StaffUserRow.name == name)).first() is not None:
                raise PublisherError(f"staff user {name!r} exists already; pick another name")
            row = StaffUserRow(name=name, email=email, password_hash=password_hash, active=True, created_at=utcnow())
            session.add(row)
            session.flush()
            return _user(row)

    def get_staff_user(self, key: int | str) -> StaffUser | None:
        with self.session() as session:
            if isinstance(key, int):
                row = session.get(StaffUserRow, key)
            else:
                row = session.scalars(select(StaffUserRow).where(StaffUserRow.name == key)).first()
            return _user(row) if row is not None else None

    def list_staff_users(self) -> list[StaffUser]:
        with self.session() as session:
            return [_user(r) for r in session.scalars(select(StaffUserRow).order_by(StaffUserRow.name))]

    def update_staff_user(self, user_id: int, password_hash: str | None = None, logged_in: bool = False,
                          active: bool | None = None) -> StaffUser:
        with self.session() as session:
            row = session.get(StaffUserRow, user_id)
            if row is None:
                raise PublisherError(f"no staff user {user_id}")
            if password_hash is not None:
                row.password_hash = password_hash
            if logged_in:
                row.last_login_at = utcnow()
            if active is not None:
                row.active = active
            return _user(row)

    # ------------------------------------------------------------------ health and metrics
    def ping(self) -> None:
        """Raises when the database does not answer."""
        with self.session() as session:
            session.execute(text("SELECT 1"))

    def translation_failures(self) -> dict[str, int]:
        """Failed translations per engine that produced the failure ('none' when no engine ran)."""
        query = (select(func.coalesce(TranslationRow.engine, "none"), func.count())
                 .where(TranslationRow.status == "failed").group_by(TranslationRow.engine))
        with self.session() as session:
            return {engine: count for engine, count in session.execute(query)}

    def last_successful_polls(self) -> dict[str, dt.datetime]:
        query = select(SourceStateRow.source, SourceStateRow.last_success_at).where(
            SourceStateRow.last_success_at.is_not(None))
        with self.session() as session:
            return {source: when for source, when in session.execute(query)}

    def delivery_kind_counts(self) -> dict[tuple[str, str], int]:
        """(kind, status) → rows: sends and failures per kind of message."""
        query = select(DeliveryRow.kind, DeliveryRow.status, func.count()).group_by(DeliveryRow.kind,
                                                                                    DeliveryRow.status)
        with self.session() as session:
            return {(kind, status): count for kind, status, count in session.execute(query)}
