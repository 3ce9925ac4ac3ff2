"""Stored rows → the models the rest of the service sees (shared by the store's mixins)."""

from __future__ import annotations

from ..models import LanguageStatus, StoredRelease
from .schema import ReleaseRow


def _release(row: ReleaseRow) -> StoredRelease:
    return StoredRelease(
        id=row.id,
        uid=row.uid,
        source=row.source,
        source_guid=row.source_guid,
        link=row.link,
        slug=row.slug,
        title=row.title,
        body=row.body,
        language=row.language,
        flags=tuple(row.flags or ()),
        author=row.author,
        categories=tuple(row.categories or ()),
        published_at=row.published_at,
        revision=row.revision,
        content_hash=row.content_hash,
        created_at=row.created_at,
        updated_at=row.updated_at,
        embargo_until=row.embargo_until,
        expires_at=row.expires_at,
        language_status=row.language_status or LanguageStatus.OK.value,
        detected_language=row.detected_language,
        archive=bool(row.archive),
        publishable_at=row.publishable_at,
        body_html=row.body_html,  # issue 9
    )

