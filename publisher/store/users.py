"""Store methods for staff users, their sessions and failed logins, and the numbers the web pages
and /metrics show (mixed into Store).

Passwords are hashed by the caller (publisher.web.security); this module stores hashes only.
Sessions are stored by the sha256 of the cookie's token (publisher.web.auth makes both).
Failed logins: one row per key ("account:<name>", "address:<ip>"); the rule that turns a count
into a lockout is the caller's (``lock_for``), applied in the transaction that counts.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from collections.abc import Callable, Sequence

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..errors import PublisherError
from .schema import (DeliveryRow, LoginAttemptRow, SourceStateRow, StaffSessionRow, StaffUserRow, TranslationRow,
                     utcnow)


@dataclass(frozen=True)
class StaffUser:
    id: int
    name: str
    email: str | None
    password_hash: str
    active: bool
    created_at: dt.datetime
    last_login_at: dt.datetime | None
    role: str = "admin"


# issue 13: what each role may do is publisher/web/roles.py; the store only keeps the name
STAFF_ROLES = ("admin", "editor", "sender")


def check_role(role: str) -> str:
    role = (role or "").strip().lower()
    if role not in STAFF_ROLES:
        raise PublisherError(f"unknown staff role {role!r}; use one of {', '.join(STAFF_ROLES)}")
    return role


def _user(row: StaffUserRow) -> StaffUser:
    return StaffUser(row.id, row.name, row.email, row.password_hash, row.active, row.created_at, row.last_login_at,
                     row.role or "admin")


class UserStoreMixin:
    def session(self) -> Any: ...  # provided by Store

    # ------------------------------------------------------------------ staff users
    def add_staff_user(self, name: str, password_hash: str, email: str | None = None,
                       role: str = "admin") -> StaffUser:
        name, role = name.strip(), check_role(role)
        if not name:
            raise PublisherError("a staff user needs a name")
        with self.session() as session:
            if session.scalars(select(StaffUserRow).where(StaffUserRow.name == name)).first() is not None:
                raise PublisherError(f"staff user {name!r} exists already; pick another name")
            row = StaffUserRow(name=name, email=email, password_hash=password_hash, active=True, created_at=utcnow(),
                               role=role)
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

    def set_staff_password(self, name: str, password_hash: str) -> StaffUser:
        """A new password; every session of the user ends in the same transaction."""
        with self.session() as session:
            row = self._staff_row(session, name)
            row.password_hash = password_hash
            session.execute(delete(StaffSessionRow).where(StaffSessionRow.user_id == row.id))
            return _user(row)

    def set_staff_active(self, name: str, active: bool) -> StaffUser:
        """Enable or disable a user; disabling ends every session of the user."""
        with self.session() as session:
            row = self._staff_row(session, name)
            row.active = active
            if not active:
                session.execute(delete(StaffSessionRow).where(StaffSessionRow.user_id == row.id))
            return _user(row)

    def set_staff_role(self, name: str, role: str) -> StaffUser:
        """A new role; it applies to the user's open sessions from their next request."""
        role = check_role(role)
        with self.session() as session:
            row = self._staff_row(session, name)
            row.role = role
            return _user(row)

    def remove_staff_user(self, name: str) -> StaffUser:
        """Delete a user and their sessions. What they did stays: the audit log, translations and
        memory entries name them as text."""
        with self.session() as session:
            row = self._staff_row(session, name)
            user = _user(row)
            session.execute(delete(StaffSessionRow).where(StaffSessionRow.user_id == row.id))
            session.delete(row)
            return user

    @staticmethod
    def _staff_row(session: Any, name: str) -> StaffUserRow:
        row = session.scalars(select(StaffUserRow).where(StaffUserRow.name == name.strip())).first()
        if row is None:
            raise PublisherError(f"no staff user {name!r}; `publisher users list` shows them")
        return row

    # ------------------------------------------------------------------ staff sessions
    def add_staff_session(self, session_hash: str, user_id: int, expires_at: dt.datetime,
                          now: dt.datetime | None = None) -> None:
        now = now or utcnow()
        with self.session() as session:
            session.execute(delete(StaffSessionRow).where(StaffSessionRow.expires_at <= now))
            session.add(StaffSessionRow(id=session_hash, user_id=user_id, created_at=now, expires_at=expires_at))

    def staff_session_user(self, session_hash: str, now: dt.datetime | None = None) -> StaffUser | None:
        """The active user of an unexpired session, else None."""
        now = now or utcnow()
        query = (select(StaffUserRow).join(StaffSessionRow, StaffSessionRow.user_id == StaffUserRow.id)
                 .where(StaffSessionRow.id == session_hash, StaffSessionRow.expires_at > now,
                        StaffUserRow.active.is_(True)))
        with self.session() as session:
            row = session.scalars(query).first()
            return _user(row) if row is not None else None

    def end_staff_sessions(self, user_id: int) -> int:
        """End every session of one user (logout); returns how many there were."""
        with self.session() as session:
            return session.execute(delete(StaffSessionRow).where(StaffSessionRow.user_id == user_id)).rowcount

    def count_staff_sessions(self, user_id: int, now: dt.datetime | None = None) -> int:
        now = now or utcnow()
        query = select(func.count()).select_from(StaffSessionRow).where(StaffSessionRow.user_id == user_id,
                                                                         StaffSessionRow.expires_at > now)
        with self.session() as session:
            return int(session.scalar(query) or 0)

    # ------------------------------------------------------------------ failed logins
    def login_locked_until(self, keys: Sequence[str], now: dt.datetime) -> dt.datetime | None:
        """The latest lockout among ``keys`` that has not ended yet, else None."""
        query = select(func.max(LoginAttemptRow.locked_until)).where(LoginAttemptRow.key.in_(list(keys)),
                                                                     LoginAttemptRow.locked_until > now)
        with self.session() as session:
            return session.scalar(query)

    def record_login_failure(self, keys: Sequence[str], now: dt.datetime, lock_for: Callable[[str, int], float],
                             quiet_seconds: float) -> None:
        """Count one failed login against each key. ``lock_for(key, failures)``: seconds of
        lockout after this many failures (0: none). A key is forgotten ``quiet_seconds`` after
        its last failure or the end of its lockout, whichever is later. Concurrent processes
        count exactly: the row is written (so locked) before it is read."""
        with self.session() as session:
            dialect = session.bind.dialect.name
            insert = pg_insert if dialect == "postgresql" else sqlite_insert
            session.execute(delete(LoginAttemptRow).where(LoginAttemptRow.forget_at <= now))
            for key in dict.fromkeys(keys):
                session.execute(insert(LoginAttemptRow).values(key=key, failures=0, last_failure_at=now,
                                                               forget_at=now).on_conflict_do_nothing())
                query = select(LoginAttemptRow).where(LoginAttemptRow.key == key)
                if dialect == "postgresql":
                    query = query.with_for_update()
                row = session.scalars(query).one()
                row.failures += 1
                row.last_failure_at = now
                seconds = lock_for(key, row.failures)
                if seconds > 0:
                    row.locked_until = now + dt.timedelta(seconds=seconds)
                row.forget_at = max(now, row.locked_until or now) + dt.timedelta(seconds=quiet_seconds)

    def prune_login_attempts(self, now: dt.datetime | None = None) -> int:
        """Forget keys whose quiet window has passed; returns how many."""
        with self.session() as session:
            return session.execute(delete(LoginAttemptRow).where(LoginAttemptRow.forget_at <= (now or utcnow())
                                                                 )).rowcount

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
