"""Presentation helpers shared by the CLI (and later the web pages): JSON shapes and times."""

from __future__ import annotations

import datetime as dt
from typing import Any

from .models import QuarantineItem, StoredRelease, StoredTranslation


def show_time(value: dt.datetime | None, zone: dt.tzinfo) -> str:
    """A stored UTC time shown in the site's zone, e.g. '2024-03-12 10:00 CET'."""
    if value is None:
        return "-"
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def release_json(release: StoredRelease, zone: dt.tzinfo, body: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": release.id,
        "uid": release.uid,
        "source": release.source,
        "source_guid": release.source_guid,
        "link": release.link,
        "slug": release.slug,
        "title": release.title,
        "language": release.language,
        "language_status": release.language_status,  # ok | held | confirmed (issue 9)
        "detected_language": release.detected_language,
        "flags": list(release.flags),
        "author": release.author,
        "categories": list(release.categories),
        "published_at": release.published_at.isoformat(),
        "published_local": release.published_at.astimezone(zone).isoformat(),
        "revision": release.revision,
        "content_hash": release.content_hash,
        "created_at": release.created_at.isoformat(),
        "updated_at": release.updated_at.isoformat(),
        "archive": release.archive,  # never mailed (issue 10; docs/delivery.md)
        "publishable_at": release.publishable_at.isoformat() if release.publishable_at else None,
    }
    if body:
        data["paragraphs"] = release.paragraphs
    return data


def quarantine_json(item: QuarantineItem, zone: dt.tzinfo) -> dict[str, Any]:
    return {
        "id": item.id,
        "source": item.source,
        "ref": item.ref,
        "reason": item.reason,
        "content_type": item.content_type,
        "size": item.size,
        "sha256": item.raw_sha256,
        "stored_path": item.stored_path,
        "created_at": item.created_at.isoformat(),
        "created_local": item.created_at.astimezone(zone).isoformat(),
    }


def translation_json(t: StoredTranslation, zone: dt.tzinfo, body: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "release_id": t.release_id,
        "lang": t.lang,
        "status": t.status.value,
        "title": t.title,
        "engine": t.engine,
        "machine": t.machine,
        "source_hash": t.source_hash,
        "source_revision": t.source_revision,
        "error": t.error,
        "attempts": t.attempts,
        "editor": t.editor,
        "qa": list(t.qa),
        "created_at": t.created_at.isoformat(),
        "updated_at": t.updated_at.isoformat(),
        "updated_local": t.updated_at.astimezone(zone).isoformat(),
        "reviewed_at": t.reviewed_at.isoformat() if t.reviewed_at else None,
        "usage": {engine: dict(counts) for engine, counts in t.usage.items()},  # tokens, requests per engine
    }
    if body:
        data["paragraphs"] = t.paragraphs
    return data
