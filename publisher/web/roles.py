"""Staff roles (issue 13): what each role may do, in one place, for the staff pages and the
JSON API alike, and the one way a staff action is done (``perform``: checked, then written to
the audit log).

- admin: everything, and the staff users (the CLI) and the audit log;
- editor: review, edit, approve, re-translate, confirm a release's language, the quarantine;
- sender: send now (a release, a digest), test send, retry, pause/resume, release held.
Every role sees the dashboard and the digest preview."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from ..errors import PublisherError
from ..store.users import STAFF_ROLES

if TYPE_CHECKING:
    from ..app import App

ADMIN, EDITOR, SENDER = STAFF_ROLES
ALL = (ADMIN, EDITOR, SENDER)
EDITORS = (ADMIN, EDITOR)
SENDERS = (ADMIN, SENDER)

# action → the roles that may do it (pages, forms and API operations name one of these)
PERMISSIONS: dict[str, tuple[str, ...]] = {
    "view": ALL,  # dashboard, /api/status, /api/session, the held list
    "preview": ALL,  # the digest preview (nothing queued)
    "review": EDITORS,  # the review and compare pages, GET a translation
    "edit": EDITORS,
    "approve": EDITORS,
    "retranslate": EDITORS,
    "confirm_language": EDITORS,
    "quarantine": EDITORS,
    "send": SENDERS,  # send a release or a digest now
    "test": SENDERS,
    "retry": SENDERS,
    "pause": SENDERS,  # and resume
    "release_held": SENDERS,
    "audit": (ADMIN,),
    "users": (ADMIN,),
}

# what is written to the audit log: every action that changes something (reads are not logged)
AUDITED = {"edit", "approve", "retranslate", "confirm_language", "send", "test", "retry", "pause", "release_held",
           "users"}

T = TypeVar("T")


class Forbidden(PublisherError):
    """The user's role may not do this (HTTP 403)."""

    def __init__(self, role: str, action: str):
        allowed = PERMISSIONS.get(action, ())
        who = " or ".join(allowed) if allowed else "nobody"
        super().__init__(f"your role ({role}) may not {action.replace('_', ' ')}; that needs the role {who}")
        self.role, self.action = role, action


def roles_for(action: str) -> tuple[str, ...]:
    return PERMISSIONS.get(action, ())


def allowed(role: str | None, action: str) -> bool:
    return role in PERMISSIONS.get(action, ())


def require(user: Any, action: str) -> None:
    role = getattr(user, "role", None) or "?"
    if not allowed(role, action):
        raise Forbidden(role, action)


def perform(app: App, user: Any, action: str, target: str, call: Callable[[], T],
            detail: dict[str, Any] | None = None) -> T:
    """Check the role, do the action, and log it when it succeeded (actions in AUDITED)."""
    require(user, action)
    result = call()
    if action in AUDITED:
        record(app, user.name, action, target, {**(detail or {}), **_outcome(result)})
    return result


def record(app: App, actor: str, action: str, target: str = "", detail: dict[str, Any] | None = None) -> None:
    app.store.add_audit(actor, action, target, detail)


def _outcome(result: Any) -> dict[str, Any]:
    """A short summary of an action's result for the log (never whole texts)."""
    if not isinstance(result, dict):
        return {}
    keep = ("status", "paused", "released", "queued_again", "language", "message", "recipient", "memory_added",
            "memory_changed")
    summary = {k: result[k] for k in keep if k in result and isinstance(result[k], (str, int, bool, type(None)))}
    if isinstance(result.get("messages"), list):
        summary["queued"] = {m.get("key"): m.get("queued") for m in result["messages"] if isinstance(m, dict)}
    return summary
