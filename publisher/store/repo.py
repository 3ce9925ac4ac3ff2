"""Store: every read and write of the database goes through this class."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from ..models import (
    CleanRelease,
    IngestOutcome,
    LanguageStatus,
    QuarantineItem,
    SourceState,
    StoredRelease,
    StoredRevision,
)
from . import db
from .rows import _release
from .schema import QuarantineRow, ReleaseRow, RevisionRow, SourceStateRow, utcnow
from .leases import LeaseStoreMixin
from .mail import MailStoreMixin
from .memory import MemoryStoreMixin
from .search import SearchStoreMixin
from .translations import TranslationStoreMixin
from .users import UserStoreMixin
from .audit import AuditStoreMixin


def release_uid(clean: CleanRelease) -> str:
    """Stable opaque id: from the source guid, else the canonical link, else the content."""
    if clean.guid:
        key = f"guid\0{clean.source}\0{clean.guid}"
    elif clean.link:
        key = f"link\0{clean.link}"
    else:
        key = f"hash\0{clean.content_hash}"
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:24]


def _apply_language(row: ReleaseRow, clean: CleanRelease) -> None:
    """The language a release is published in, and whether it is held. A staff confirmation
    stays across revisions as long as the text is still found in the same language."""
    confirmed = row.language_status == LanguageStatus.CONFIRMED.value
    if not (confirmed and row.detected_language == clean.detected_language):
        row.language, row.language_status = clean.language, clean.language_status
    row.detected_language = clean.detected_language


def _quarantine(row: QuarantineRow, size: int) -> QuarantineItem:
    return QuarantineItem(
        id=row.id,
        source=row.source,
        ref=row.ref,
        reason=row.reason,
        content_type=row.content_type,
        size=size,
        raw_sha256=row.raw_sha256,
        stored_path=row.stored_path,
        created_at=row.created_at,
    )


class Store(TranslationStoreMixin, SearchStoreMixin, MemoryStoreMixin, MailStoreMixin, UserStoreMixin, LeaseStoreMixin,
            AuditStoreMixin):
    def __init__(self, url: str, echo: bool = False, check: bool = True):
        self.url = url
        self.engine: Engine = db.make_engine(url, echo=echo)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        if check:
            db.check_current(self.engine)

    # ------------------------------------------------------------------ lifecycle
    @classmethod
    def upgraded(cls, url: str, echo: bool = False) -> Store:
        """Open the store after applying pending migrations."""
        store = cls(url, echo=echo, check=False)
        store.upgrade()
        return store

    def upgrade(self) -> tuple[set[str], set[str]]:
        before = db.current(self.engine)
        db.upgrade(self.engine)
        return before, db.current(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions() as session, session.begin():
            yield session

    # ------------------------------------------------------------------ releases
    def _match(self, session: Session, clean: CleanRelease) -> ReleaseRow | None:
        """Dedupe: source guid, then canonical link, then hash of normalised title+body."""
        if clean.guid:
            row = session.scalars(
                select(ReleaseRow).where(
                    ReleaseRow.source == clean.source, ReleaseRow.source_guid == clean.guid
                )
            ).first()
            if row is not None:
                return row
        if clean.link:
            row = session.scalars(select(ReleaseRow).where(ReleaseRow.link == clean.link)).first()
            if row is not None:
                return row
        return session.scalars(
            select(ReleaseRow).where(ReleaseRow.content_hash == clean.content_hash)
        ).first()

    def save_release(self, clean: CleanRelease, archive: bool = False) -> tuple[IngestOutcome, StoredRelease]:
        """Store a new release, a new revision of a known one, or nothing if unchanged.
        ``archive``: a new release is never mailed (ingest decides; a revision keeps the flag)."""
        try:
            return self._save_release(clean, archive)
        except IntegrityError:
            # another process stored the same release between our lookup and insert
            return self._save_release(clean, archive)

    def _save_release(self, clean: CleanRelease, archive: bool = False) -> tuple[IngestOutcome, StoredRelease]:
        now = utcnow()
        with self.session() as session:
            row = self._match(session, clean)
            if (
                row is not None
                and row.content_hash == clean.content_hash
                and (row.embargo_until, row.expires_at) == (clean.embargo_until, clean.expires_at)
                and row.body_html == clean.body_html  # issue 9: emphasis alone is a change too
            ):
                return IngestOutcome.UNCHANGED, _release(row)
            if row is None:
                row = ReleaseRow(
                    uid=release_uid(clean),
                    source=clean.source,
                    source_guid=clean.guid,
                    link=clean.link,
                    revision=1,
                    created_at=now,
                    archive=archive,
                )
                outcome = IngestOutcome.NEW
                session.add(row)
            else:
                row.revision += 1
                outcome = IngestOutcome.UPDATED
                row.link = row.link or clean.link
            row.slug = clean.slug
            row.title = clean.title
            row.body = clean.body
            row.body_html = clean.body_html  # issue 9
            _apply_language(row, clean)
            row.flags = list(clean.flags)
            row.author = clean.author
            row.categories = list(clean.categories)
            row.published_at = clean.published_at
            row.content_hash = clean.content_hash
            row.embargo_until = clean.embargo_until
            row.expires_at = clean.expires_at
            row.publishable_at = max(row.created_at, clean.embargo_until or row.created_at)  # issue 10
            row.updated_at = now
            row.revisions.append(
                RevisionRow(
                    revision=row.revision,
                    title=clean.title,
                    body=clean.body,
                    content_hash=clean.content_hash,
                    ref=clean.ref,
                    content_type=clean.content_type,
                    raw=clean.raw,
                    fetched_at=now,
                )
            )
            session.flush()
            return outcome, _release(row)

    def list_releases(
        self,
        limit: int = 50,
        offset: int = 0,
        source: str | None = None,
        language: str | None = None,
        language_status: str | None = None,
    ) -> list[StoredRelease]:
        query = select(ReleaseRow).order_by(ReleaseRow.published_at.desc(), ReleaseRow.id.desc())
        if source:
            query = query.where(ReleaseRow.source == source)
        if language:
            query = query.where(ReleaseRow.language == language)
        if language_status:
            query = query.where(ReleaseRow.language_status == language_status)
        with self.session() as session:
            return [_release(r) for r in session.scalars(query.limit(limit).offset(offset))]

    def confirm_release_language(self, key: int | str, language: str) -> StoredRelease | None:
        """Staff decided the language of a (held) release: it is published in ``language``
        from now on and translated from it. When the language changes, machine output made
        from the old assumption is dropped (translated again from the right language) and
        staff translations become stale. None: no such release."""
        from .schema import TranslationRow

        with self.session() as session:
            row = self._get(session, key)
            if row is None:
                return None
            now = utcnow()
            if row.language != language:
                for variant in session.scalars(select(TranslationRow).where(TranslationRow.release_id == row.id)):
                    if variant.status in ("reviewed", "human", "stale"):
                        variant.status, variant.updated_at = "stale", now
                    else:
                        session.delete(variant)
            if row.language_status == LanguageStatus.HELD.value:  # visible from now on (mail windows, issue 10)
                row.publishable_at = max(now, row.embargo_until or now)
            row.language, row.language_status, row.updated_at = language, LanguageStatus.CONFIRMED.value, now
            session.flush()
            return _release(row)

    def count_releases(self) -> int:
        with self.session() as session:
            return session.scalar(select(func.count(ReleaseRow.id))) or 0

    def get_release(self, key: int | str) -> StoredRelease | None:
        """By numeric id or by uid."""
        with self.session() as session:
            row = self._get(session, key)
            return _release(row) if row is not None else None

    def _get(self, session: Session, key: int | str) -> ReleaseRow | None:
        if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
            return session.get(ReleaseRow, int(key))
        return session.scalars(select(ReleaseRow).where(ReleaseRow.uid == key)).first()

    def revisions(self, key: int | str) -> list[StoredRevision]:
        with self.session() as session:
            row = self._get(session, key)
            if row is None:
                return []
            query = (
                select(
                    RevisionRow.revision,
                    RevisionRow.title,
                    RevisionRow.content_hash,
                    RevisionRow.ref,
                    RevisionRow.content_type,
                    func.length(RevisionRow.raw),
                    RevisionRow.fetched_at,
                )
                .where(RevisionRow.release_id == row.id)
                .order_by(RevisionRow.revision)
            )
            return [StoredRevision(*values) for values in session.execute(query)]

    def raw_revision(self, key: int | str, revision: int | None = None) -> bytes | None:
        """The original bytes of a revision (the latest by default)."""
        with self.session() as session:
            row = self._get(session, key)
            if row is None:
                return None
            wanted = revision or row.revision
            return session.scalar(
                select(RevisionRow.raw).where(
                    RevisionRow.release_id == row.id, RevisionRow.revision == wanted
                )
            )

    # ------------------------------------------------------------------ quarantine
    def add_quarantine(
        self,
        source: str,
        ref: str,
        reason: str,
        raw: bytes,
        content_type: str = "application/octet-stream",
        stored_path: str | None = None,
    ) -> QuarantineItem:
        with self.session() as session:
            row = QuarantineRow(
                source=source,
                ref=ref,
                reason=reason,
                raw=raw,
                raw_sha256=hashlib.sha256(raw).hexdigest(),
                content_type=content_type,
                stored_path=stored_path,
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()
            return _quarantine(row, len(raw))

    def list_quarantine(self, limit: int = 100, source: str | None = None) -> list[QuarantineItem]:
        query = (
            select(QuarantineRow, func.length(QuarantineRow.raw))
            .order_by(QuarantineRow.created_at.desc(), QuarantineRow.id.desc())
            .limit(limit)
        )
        if source:
            query = query.where(QuarantineRow.source == source)
        with self.session() as session:
            return [_quarantine(row, size or 0) for row, size in session.execute(query)]

    def quarantine_raw(self, item_id: int) -> bytes | None:
        with self.session() as session:
            return session.scalar(select(QuarantineRow.raw).where(QuarantineRow.id == item_id))

    # ------------------------------------------------------------------ source state
    def get_source_state(self, source: str) -> SourceState:
        with self.session() as session:
            row = session.get(SourceStateRow, source)
            if row is None:
                return SourceState(source, {}, None, None, None)
            return SourceState(
                source, dict(row.state or {}), row.last_run_at, row.last_success_at, row.last_error
            )

    def save_source_state(
        self, source: str, state: dict[str, Any], error: str | None = None, when: dt.datetime | None = None
    ) -> None:
        when = when or utcnow()
        with self.session() as session:
            row = session.get(SourceStateRow, source)
            if row is None:
                row = SourceStateRow(source=source)
                session.add(row)
            row.state = state
            row.last_run_at = when
            row.last_error = error
            if error is None:
                row.last_success_at = when
