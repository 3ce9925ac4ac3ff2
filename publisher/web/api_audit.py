"""The JSON API's models for the audit log and the staff users (issue 13; api.py declares the
operations, the store keeps the rows: publisher.store.audit, publisher.store.users)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from .api_models import Out, Params


class AuditQuery(Params):
    limit: int = Field(20, ge=1, le=1000, description="how many entries, latest first")
    actor: str | None = Field(None, min_length=1, max_length=120, pattern=r"^[^\x00]+$",
                              description="only this staff user's actions (the name, or cli:USER for the CLI)")


class AuditEntryOut(Out):
    id: int
    at: str = Field(description="when, ISO 8601 in UTC")
    actor: str = Field(description="who: the staff user's name (kept after the user is disabled or deleted)")
    action: str = Field(description="what: one of the actions of publisher/web/roles.py, login, logout, or a "
                                    "users-… change from the CLI")
    target: str = Field(description="on what: release 5/en, digest daily, an address, a user…")
    detail: dict[str, Any] = Field(description="the request's options and a short summary of the result")


class AuditOut(Out):
    items: list[AuditEntryOut]


class StaffUserOut(Out):
    name: str
    role: str = Field(description="admin | editor | sender")
    email: str | None
    active: bool = Field(description="false: disabled (`publisher users disable`), no login")
    last_login_at: str | None


class StaffUsersOut(Out):
    items: list[StaffUserOut]


def users_json(users: list[Any]) -> dict[str, Any]:
    return {"items": [{"name": u.name, "role": u.role, "email": u.email, "active": u.active,
                       "last_login_at": u.last_login_at.isoformat() if u.last_login_at else None} for u in users]}


OUTPUTS = [AuditEntryOut, AuditOut, StaffUserOut, StaffUsersOut]
