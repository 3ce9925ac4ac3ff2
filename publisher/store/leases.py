"""Store methods for the scheduler: a lease row in the ``control`` table, and quarantine clean-up.

A lease is the control row ``lease:<name>`` holding ``{"owner", "expires"}``. Taking or renewing
it is a compare-and-set on the row's ``updated_at`` (the row's version): the UPDATE only matches
when nobody wrote the row since we read it, so of two processes racing for an expired lease
exactly one wins, on SQLite and on PostgreSQL alike. Times come from the caller's clock; the
processes sharing a database are expected to have synchronised clocks (NTP).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from .schema import ControlRow, QuarantineRow, utcnow

LEASE = "lease:{name}"


class LeaseStoreMixin:
    session: Any  # provided by Store

    def acquire_lease(self, name: str, owner: str, seconds: float, now: dt.datetime | None = None) -> bool:
        """Take the lease ``name`` for ``owner`` (or renew it) until now + seconds. True when
        ``owner`` holds it afterwards; False when another owner's lease has not expired yet."""
        now = now or utcnow()
        key = LEASE.format(name=name)
        value = {"owner": owner, "expires": (now + dt.timedelta(seconds=seconds)).isoformat(),
                 "since": now.isoformat()}
        with self.session() as session:
            row = session.get(ControlRow, key)
            if row is not None:
                return self._renew_lease(session, row, owner, value, now)
        try:
            with self.session() as session:
                session.add(ControlRow(key=key, value=value, updated_at=now))
        except IntegrityError:
            return False  # another process inserted it first
        return True

    def _renew_lease(self, session: Any, row: Any, owner: str, value: dict[str, Any], now: dt.datetime) -> bool:
        current = dict(row.value or {})
        mine = current.get("owner") == owner
        expires = current.get("expires")
        if not mine and expires and dt.datetime.fromisoformat(expires) > now:
            return False
        if mine and current.get("since"):
            value["since"] = current["since"]
        key, version = row.key, row.updated_at
        session.expunge(row)
        result = session.execute(
            update(ControlRow)
            .where(ControlRow.key == key, ControlRow.updated_at == version)
            .values(value=value, updated_at=max(now, version + dt.timedelta(microseconds=1)))
        )
        return result.rowcount == 1

    def release_lease(self, name: str, owner: str) -> bool:
        """Give the lease up (only if ``owner`` holds it): a follower may take it at once."""
        key = LEASE.format(name=name)
        with self.session() as session:
            row = session.get(ControlRow, key)
            if row is None or (row.value or {}).get("owner") != owner:
                return False
            session.execute(delete(ControlRow).where(ControlRow.key == key, ControlRow.updated_at == row.updated_at))
            return True

    def lease_holder(self, name: str, now: dt.datetime | None = None) -> dict[str, Any] | None:
        """``{"owner", "expires", "since"}`` of a lease that has not expired, else None."""
        now = now or utcnow()
        with self.session() as session:
            row = session.get(ControlRow, LEASE.format(name=name))
            value = dict(row.value or {}) if row is not None else {}
        expires = value.get("expires")
        if not expires or dt.datetime.fromisoformat(expires) <= now:
            return None
        return value

    def purge_quarantine(self, before: dt.datetime) -> list[str | None]:
        """Delete quarantine rows created before ``before``; returns, per deleted row, the file
        it points to or None (the caller removes the files: the store touches only the database)."""
        with self.session() as session:
            rows = session.execute(
                select(QuarantineRow.id, QuarantineRow.stored_path).where(QuarantineRow.created_at < before)
            ).all()
            if rows:
                session.execute(delete(QuarantineRow).where(QuarantineRow.id.in_([r.id for r in rows])))
            return [r.stored_path for r in rows]
