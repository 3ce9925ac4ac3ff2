"""The review queue (issue 13): every translation waiting for staff — held by a check, failed,
stale or unreviewed machine output — oldest first, for the staff page and the JSON API alike."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from ..errors import PublisherError
from ..render import show_time
from ..store.translations import HELD_PREFIX, REVIEW_STATES
from .actions import ActionError

if TYPE_CHECKING:
    from ..app import App


def waited(since: dt.datetime, now: dt.datetime) -> str:
    """How long, roughly: '3 d 4 h', '2 h 5 min', '7 min'."""
    minutes = max(0, int((now - since).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {mins} min"
    return f"{mins} min"


def _why(error: str | None, qa: tuple[Any, ...]) -> tuple[str, list[str]]:
    failed = [str(c.get("name")) for c in qa if isinstance(c, dict) and not c.get("ok", True) and c.get("name")]
    text = (error or "").removeprefix(HELD_PREFIX)
    return text, failed


def review_queue(app: App, lang: str | None = None, state: str | None = None,
                 now: dt.datetime | None = None) -> dict[str, Any]:
    """{"items": [...], "count": n, "states": REVIEW_STATES}; ``state``: one state or several,
    comma-separated (400 naming the known ones otherwise)."""
    site = app.settings.site
    if lang and lang not in site.languages:
        raise ActionError(f"unknown language {lang!r}; use one of {', '.join(site.languages)}", 400)
    states = [s.strip() for s in state.split(",") if s.strip()] if state else None
    try:
        pairs = app.store.review_queue(lang=lang or None, states=states)
    except PublisherError as exc:
        raise ActionError(str(exc), 400) from exc
    now = now or dt.datetime.now(dt.UTC)
    zone = site.zone
    items = []
    for release, t in pairs:
        since = t.updated_at or t.created_at
        error, failed = _why(t.error, t.qa)
        items.append({
            "release_id": release.id, "title": release.title, "lang": t.lang,
            "state": app.store.review_state(t), "error": error or None, "failed_checks": failed,
            "since": since.isoformat(), "since_local": show_time(since, zone), "waited": waited(since, now),
            "link": f"/staff/releases/{release.id}/{t.lang}",
        })
    return {"items": items, "count": len(items), "states": list(REVIEW_STATES)}
