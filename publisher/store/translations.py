"""Store methods for translations (mixed into Store); the translation memory is in memory.py."""

from __future__ import annotations

import datetime as dt

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from ..errors import PublisherError
from ..models import STAFF_STATUSES, LanguageStatus, StoredRelease, StoredTranslation, TranslationStatus
from .memory import HUMAN
from .rows import _release
from .schema import ReleaseRow, TranslationRow, utcnow

S = TranslationStatus
HELD_PREFIX = "held for review: "  # issue 11: a machine row whose error starts so failed a quality check
REVIEW_STATES = ("held", "failed", "stale", "machine")  # the review queue's states (issue 13)


def _translation(row: TranslationRow) -> StoredTranslation:
    return StoredTranslation(
        id=row.id, release_id=row.release_id, lang=row.lang, status=TranslationStatus(row.status),
        title=row.title, body=row.body, engine=row.engine, machine=row.machine,
        source_hash=row.source_hash, source_revision=row.source_revision, qa=tuple(row.qa or ()),
        error=row.error, attempts=row.attempts, editor=row.editor, created_at=row.created_at,
        updated_at=row.updated_at, reviewed_at=row.reviewed_at, usage=dict(row.usage or {}),
        body_html=row.body_html,
    )


def _add_usage(row: TranslationRow, usage: dict[str, dict[str, int]] | None) -> None:
    """Sum what this attempt cost into the row (engine → requests, tokens)."""
    if not usage:
        return
    total = {engine: dict(counts) for engine, counts in (row.usage or {}).items()}
    for engine, counts in usage.items():
        into = total.setdefault(engine, {})
        for key, value in counts.items():
            into[key] = into.get(key, 0) + int(value)
    row.usage = total


class TranslationStoreMixin:
    """Needs ``self.session()`` and ``self._get(session, key)`` from Store."""

    def session(self) -> Any: ...  # provided by Store

    def _get(self, session: Session, key: int | str) -> ReleaseRow | None: ...  # provided by Store

    # ------------------------------------------------------------------ reading
    def get_translation(self, release_key: int | str, lang: str) -> StoredTranslation | None:
        with self.session() as session:
            release = self._get(session, release_key)
            if release is None:
                return None
            row = self._row(session, release.id, lang)
            return _translation(row) if row is not None else None

    def list_translations(
        self, lang: str | None = None, status: str | None = None, release_id: int | None = None, limit: int = 200
    ) -> list[StoredTranslation]:
        query = select(TranslationRow).order_by(TranslationRow.updated_at.desc(), TranslationRow.id.desc())
        if lang:
            query = query.where(TranslationRow.lang == lang)
        if status:
            query = query.where(TranslationRow.status == status)
        if release_id:
            query = query.where(TranslationRow.release_id == release_id)
        with self.session() as session:
            return [_translation(r) for r in session.scalars(query.limit(limit))]

    def translation_usage_totals(self) -> dict[str, dict[str, int]]:
        """engine → requests and tokens summed over every stored translation (all attempts)."""
        totals: dict[str, dict[str, int]] = {}
        with self.session() as session:
            for usage in session.scalars(select(TranslationRow.usage).where(TranslationRow.usage.is_not(None))):
                for engine, counts in (usage or {}).items():
                    into = totals.setdefault(engine, {})
                    for key, value in counts.items():
                        into[key] = into.get(key, 0) + int(value)
        return totals

    def translation_counts(self) -> dict[str, dict[str, int]]:
        """{lang: {status: count}}."""
        query = select(TranslationRow.lang, TranslationRow.status, func.count()).group_by(
            TranslationRow.lang, TranslationRow.status
        )
        counts: dict[str, dict[str, int]] = {}
        with self.session() as session:
            for lang, status, count in session.execute(query):
                counts.setdefault(lang, {})[status] = count
        return counts

    def review_queue(
        self, lang: str | None = None, states: Iterable[str] | None = None, limit: int = 200
    ) -> list[tuple[StoredRelease, StoredTranslation]]:
        """Translations waiting for staff, oldest first (by the row's last change): ``held``
        (machine output that failed a check, its error starting with HELD_PREFIX), ``failed``,
        ``stale`` (staff text of an older revision) and ``machine`` (unchecked-by-staff output).
        Reviewed and human translations are done; a release with no row yet (or a pending one)
        waits for the engine, not for staff. ``states``: a subset of REVIEW_STATES."""
        wanted = list(REVIEW_STATES if states is None else states)
        unknown = [s for s in wanted if s not in REVIEW_STATES]
        if unknown:
            raise PublisherError(f"unknown review state(s) {', '.join(map(repr, unknown))}; "
                                 f"use {', '.join(REVIEW_STATES)}")
        t = TranslationRow
        held = and_(t.status == S.MACHINE.value, t.error.is_not(None), t.error.like(HELD_PREFIX + "%"))
        conditions = {
            "held": held,
            "failed": t.status == S.FAILED.value,
            "stale": t.status == S.STALE.value,
            "machine": and_(t.status == S.MACHINE.value, or_(t.error.is_(None), ~t.error.like(HELD_PREFIX + "%"))),
        }
        if not wanted:
            return []
        query = (select(ReleaseRow, TranslationRow).join(ReleaseRow, ReleaseRow.id == t.release_id)
                 .where(or_(*(conditions[s] for s in wanted)), t.lang != ReleaseRow.language)
                 .order_by(t.updated_at, t.id).limit(limit))
        if lang:
            query = query.where(t.lang == lang)
        with self.session() as session:
            return [(_release(r), _translation(row)) for r, row in session.execute(query)]

    @staticmethod
    def review_state(translation: StoredTranslation) -> str:
        """The queue's name for a translation's state (REVIEW_STATES), or its status."""
        if translation.status is S.MACHINE and (translation.error or "").startswith(HELD_PREFIX):
            return "held"
        return translation.status.value

    # ------------------------------------------------------------------ publishing
    @staticmethod
    def publishable_statuses(policy: str) -> list[str]:
        """Statuses a variant may be published with: staff-approved ones always; machine
        output under the ``machine`` policy, and under ``checked`` when no check failed
        (``publishable_condition``; ``is_publishable`` for one variant). Stale and failed never."""
        statuses = [S.REVIEWED.value, S.HUMAN.value]
        if policy in ("machine", "checked"):
            statuses.append(S.MACHINE.value)
        return statuses

    @classmethod
    def publishable_condition(cls, policy: str) -> Any:
        """The SQL condition on TranslationRow for a variant published under ``policy``:
        under ``checked`` a machine variant held for review (a failed check) is left out."""
        condition = TranslationRow.status.in_(cls.publishable_statuses(policy))
        if policy == "checked":
            condition = and_(condition, or_(TranslationRow.status != S.MACHINE.value, TranslationRow.error.is_(None)))
        return condition

    @classmethod
    def is_publishable(cls, translation: StoredTranslation, policy: str) -> bool:
        if translation.status.value not in cls.publishable_statuses(policy):
            return False
        return not (policy == "checked" and translation.status is S.MACHINE and translation.error)

    def publishable(
        self, lang: str, source_language: str, policy: str = "machine", limit: int = 50,
        now: dt.datetime | None = None,
    ) -> list[tuple[StoredRelease, StoredTranslation | None]]:
        """Newest first: the releases whose own language is ``lang`` (the originals, variant
        None) and the releases whose ``lang`` variant may be published, with that variant.
        Left out: releases under embargo (embargo_until after ``now``) and releases held for a
        language mismatch (``language_status`` held; issue 9). ``source_language`` is kept for
        the callers: every release carries its own language (the source language unless staff
        confirmed another), so an Albanian original is in the sq list and its Macedonian
        translation in the mk one."""

        query = self._publishable_query((ReleaseRow, TranslationRow), lang, policy, limit, now)
        with self.session() as session:
            return [(_release(r), _translation(t) if t is not None and r.language != lang else None)
                    for r, t in session.execute(query)]

    def publishable_keys(
        self, lang: str, source_language: str, policy: str = "machine", limit: int = 50,
        now: dt.datetime | None = None,
    ) -> list[tuple[Any, ...]]:
        """The same selection as ``publishable`` as light rows, no text: (release id, uid,
        content hash, updated, published, author, categories, language, variant status,
        machine, variant updated; the variant's are None for an original). Every change of a
        release or a variant moves one of these, so a hash of them tells whether a feed must
        be rebuilt without loading any body."""
        columns: tuple[Any, ...] = (
            ReleaseRow.id, ReleaseRow.uid, ReleaseRow.content_hash, ReleaseRow.updated_at, ReleaseRow.published_at,
            ReleaseRow.author, ReleaseRow.categories, ReleaseRow.language,
            TranslationRow.status, TranslationRow.machine, TranslationRow.updated_at,
        )
        with self.session() as session:
            return [tuple(row) for row in session.execute(self._publishable_query(columns, lang, policy, limit, now))]

    def _publishable_query(self, columns: tuple[Any, ...], lang: str, policy: str, limit: int,
                           now: dt.datetime | None) -> Any:
        now = now or utcnow()
        variant = and_(TranslationRow.release_id == ReleaseRow.id, TranslationRow.lang == lang,
                       self.publishable_condition(policy))
        query = (
            select(*columns)
            .outerjoin(TranslationRow, variant)
            .where(
                ReleaseRow.language_status != LanguageStatus.HELD.value,  # the hold: no reader sees it
                or_(ReleaseRow.embargo_until.is_(None), ReleaseRow.embargo_until <= now),
                or_(ReleaseRow.language == lang, TranslationRow.id.is_not(None)),
            )
        )
        return query.order_by(ReleaseRow.published_at.desc(), ReleaseRow.id.desc()).limit(limit)

    def published_languages(
        self, release_ids: Sequence[int], policies: dict[str, str]
    ) -> dict[int, list[str]]:
        """release id → languages other than its own in which it may be published (for
        hreflang links; its own language always is, unless it is held)."""
        if not release_ids:
            return {}
        found: dict[int, list[str]] = {rid: [] for rid in release_ids}
        with self.session() as session:
            rows = session.execute(
                select(TranslationRow.release_id, TranslationRow.lang, TranslationRow.status, TranslationRow.error)
                .join(ReleaseRow, ReleaseRow.id == TranslationRow.release_id)
                .where(TranslationRow.release_id.in_(list(release_ids)), TranslationRow.lang != ReleaseRow.language,
                       ReleaseRow.language_status != LanguageStatus.HELD.value)
            )
            for rid, lang, status, error in rows:
                policy = policies.get(lang, "machine")
                if status in self.publishable_statuses(policy) and not (
                        policy == "checked" and status == S.MACHINE.value and error):
                    found[rid].append(lang)
        return {rid: sorted(langs) for rid, langs in found.items()}

    # ------------------------------------------------------------------ planning
    def mark_stale(self) -> int:
        """Staff translations of an older revision become stale (never overwritten)."""
        with self.session() as session:
            rows = session.execute(
                select(TranslationRow)
                .join(ReleaseRow, ReleaseRow.id == TranslationRow.release_id)
                .where(
                    TranslationRow.status.in_([s.value for s in STAFF_STATUSES]),
                    TranslationRow.source_hash != ReleaseRow.content_hash,
                )
            ).scalars().all()
            for row in rows:
                row.status = S.STALE.value
                row.updated_at = utcnow()
            return len(rows)

    def translation_work(
        self, langs: Sequence[str], max_attempts: int, release_key: int | str | None = None
    ) -> list[tuple[StoredRelease, str]]:
        """(release, lang) pairs that need a machine translation now, oldest release first:
        no row yet; pending; machine or failed output of an older revision; failed with
        attempts left. Staff translations (reviewed, human, stale) are never in this list,
        nor a release into its own language, nor a release held for a language mismatch
        (translated once staff confirm its language, from that language)."""

        work: list[tuple[StoredRelease, str]] = []
        with self.session() as session:
            releases_query = select(ReleaseRow).where(
                ReleaseRow.language_status != LanguageStatus.HELD.value
            ).order_by(ReleaseRow.published_at, ReleaseRow.id)
            if release_key is not None:
                release = self._get(session, release_key)
                if release is None:
                    raise PublisherError(f"no release {release_key!r}; `publisher releases list` shows the ids")
                releases_query = releases_query.where(ReleaseRow.id == release.id)
            for lang in langs:
                t = TranslationRow
                query = (
                    releases_query.outerjoin(t, and_(t.release_id == ReleaseRow.id, t.lang == lang))
                    .where(
                        ReleaseRow.language != lang,
                        or_(
                            t.id.is_(None),
                            t.status == S.PENDING.value,
                            and_(t.status == S.MACHINE.value, t.source_hash != ReleaseRow.content_hash),
                            and_(
                                t.status == S.FAILED.value,
                                or_(t.source_hash != ReleaseRow.content_hash, t.attempts < max_attempts),
                            ),
                        )
                    )
                )
                work.extend((_release(row), lang) for row in session.scalars(query))
        work.sort(key=lambda pair: (pair[0].published_at, pair[0].id, pair[1]))
        return work

    # ------------------------------------------------------------------ writing
    def _row(self, session: Session, release_id: int, lang: str) -> TranslationRow | None:
        return session.scalars(
            select(TranslationRow).where(TranslationRow.release_id == release_id, TranslationRow.lang == lang)
        ).first()

    def _upsert(self, session: Session, release: StoredRelease, lang: str) -> TranslationRow:
        row = self._row(session, release.id, lang)
        if row is None:
            row = TranslationRow(release_id=release.id, lang=lang, status=S.PENDING.value, title="", body="",
                                 source_hash=release.content_hash, source_revision=release.revision,
                                 attempts=0, qa=[], machine=True, created_at=utcnow())
            session.add(row)
        return row

    def save_machine_translation(
        self, release: StoredRelease, lang: str, title: str, body: str, engine: str,
        qa: Iterable[dict[str, Any]], force: bool = False, usage: dict[str, dict[str, int]] | None = None,
        body_html: str | None = None, held: str | None = None, machine: bool | None = None,
    ) -> StoredTranslation:
        """Store accepted machine output. A staff translation is never overwritten unless
        ``force`` (staff asked for a re-translation). ``body_html``: its structure (issue 9).
        ``held``: the quality checks it failed (issue 11), kept in ``error`` as
        "held for review: …"; under ``publish = "checked"`` it is then not published.
        ``machine``: whether a machine made the words (default: unless the engine is ``human``,
        a text assembled only from staff memory, issue 11; readers then see no machine note)."""
        with self.session() as session:
            row = self._upsert(session, release, lang)
            _add_usage(row, usage)
            if row.status in {s.value for s in STAFF_STATUSES} | {S.STALE.value} and not force:
                return _translation(row)
            row.status, row.title, row.body, row.engine = S.MACHINE.value, title, body, engine
            row.machine = engine != HUMAN if machine is None else machine
            row.body_html = body_html
            row.source_hash, row.source_revision = release.content_hash, release.revision
            row.qa, row.editor, row.reviewed_at = list(qa), None, None
            row.error = HELD_PREFIX + held if held else None
            row.attempts += 1
            row.updated_at = utcnow()
            session.flush()
            return _translation(row)

    def save_translation_problem(
        self, release: StoredRelease, lang: str, error: str, qa: Iterable[dict[str, Any]] = (),
        status: TranslationStatus = S.FAILED, usage: dict[str, dict[str, int]] | None = None,
    ) -> StoredTranslation:
        """Record why no translation could be made (failed) or is waiting (pending)."""
        with self.session() as session:
            row = self._upsert(session, release, lang)
            _add_usage(row, usage)
            if row.status in {s.value for s in STAFF_STATUSES} | {S.STALE.value}:
                return _translation(row)
            if row.source_hash != release.content_hash:
                row.attempts = 0
            row.status, row.error, row.qa = status.value, error, list(qa)
            row.source_hash, row.source_revision = release.content_hash, release.revision
            if status is S.FAILED:
                row.attempts += 1
            row.updated_at = utcnow()
            session.flush()
            return _translation(row)

    def save_human_translation(
        self, release: StoredRelease, lang: str, title: str, body: str, editor: str | None = None,
        qa: Iterable[dict[str, Any]] | None = None,
    ) -> StoredTranslation:
        """A staff translation. ``qa``: the checks run on the staff text (shown on the review
        page); without it the earlier checks are kept as they were."""
        with self.session() as session:
            row = self._upsert(session, release, lang)
            now = utcnow()
            row.status, row.title, row.body, row.engine, row.machine = S.HUMAN.value, title, body, "human", False
            row.source_hash, row.source_revision = release.content_hash, release.revision
            row.error, row.editor, row.reviewed_at, row.updated_at = None, editor, now, now
            if qa is not None:
                row.qa = list(qa)
            session.flush()
            return _translation(row)

    def approve_translation(self, release: StoredRelease, lang: str, editor: str | None = None) -> StoredTranslation:
        with self.session() as session:
            row = self._row(session, release.id, lang)
            if row is None or row.status not in (S.MACHINE.value, S.STALE.value, S.REVIEWED.value):
                state = row.status if row is not None else "not translated yet"
                raise PublisherError(
                    f"release {release.id} has no machine translation into {lang} to approve ({state}); "
                    "translate it first or store a human translation with `publisher translations edit`"
                )
            now = utcnow()
            row.status, row.editor, row.reviewed_at, row.updated_at = S.REVIEWED.value, editor, now, now
            row.error = None  # staff reviewed what the checks flagged
            row.source_hash, row.source_revision = release.content_hash, release.revision
            session.flush()
            return _translation(row)
