"""Store methods for the audit log (issue 13): every staff action, who did it, on what and
when (mixed into Store). The actor is stored as the user's name (text), so the row survives
the user being disabled or deleted."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from .schema import AuditRow, utcnow

MAX_AUDIT_ROWS = 1000  # one read at most


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: dt.datetime
    actor: str
    action: str
    target: str
    detail: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at.isoformat(), "actor": self.actor, "action": self.action,
                "target": self.target, "detail": dict(self.detail)}


def _entry(row: AuditRow) -> AuditEntry:
    return AuditEntry(row.id, row.at, row.actor, row.action, row.target or "", dict(row.detail or {}))


class AuditStoreMixin:
    def session(self) -> Any: ...  # provided by Store

    def add_audit(self, actor: str, action: str, target: str = "", detail: dict[str, Any] | None = None,
                  at: dt.datetime | None = None) -> AuditEntry:
        row = AuditRow(at=at or utcnow(), actor=(actor or "?")[:120], action=action[:64], target=(target or "")[:255],
                       detail=dict(detail or {}))
        with self.session() as session:
            session.add(row)
            session.flush()
            return _entry(row)

    def list_audit(self, limit: int = 20, actor: str | None = None) -> list[AuditEntry]:
        """The latest entries first (``actor``: only this one's)."""
        query = select(AuditRow).order_by(AuditRow.at.desc(), AuditRow.id.desc())
        if actor:
            query = query.where(AuditRow.actor == actor)
        with self.session() as session:
            return [_entry(r) for r in session.scalars(query.limit(max(1, min(limit, MAX_AUDIT_ROWS))))]
