"""Digest planning: which releases go into which digest, in which language, for which period.

Everything here but :func:`gather_candidates` is pure: the same inputs give the same plan,
so a digest run twice (or after a crash) plans the same message key and the ledger refuses
the duplicate.

Keys (the ledger's idempotency keys):
    digest:{frequency}:{lang}:{period}   period = local date "2026-11-29" (daily) or ISO week
                                         "2026-W48" (weekly), in the site's zone
    release:{uid}:{lang}                 an immediate message for one release

Which releases a message holds (docs/delivery.md, "Which releases a message holds"): one rule
for every language. A release is chosen by its stored ``publishable_at`` (when it became
visible: ingested, or its embargo ended if later), never by its published date or by when a
translation came. Archive (a source's first-poll backlog, or dated older than ``backlog_days``
at ingest) is never mailed. A digest holds the releases that became publishable since the last
digest of its group; for a language still waiting for a translation the policy decides:
``wait`` leaves the release out while it is younger than ``wait_hours`` (it comes in a later
digest of that language once translated) and then skips it; ``original`` includes the original
text with a note. Expired releases are never included. Nothing new: no plan, no mail.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field

from .models import StoredRelease, StoredTranslation

DAILY, WEEKLY = "daily", "weekly"
_DAILY_KEY = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_WEEKLY_KEY = re.compile(r"^(\d{4})-W(\d{2})$")


# --------------------------------------------------------------------------- keys and periods
def digest_key(frequency: str, lang: str, period: str) -> str:
    return f"digest:{frequency}:{lang}:{period}"


def release_key(uid: str, lang: str) -> str:
    return f"release:{uid}:{lang}"


def _local(moment: dt.datetime, zone: dt.tzinfo) -> dt.datetime:
    if moment.tzinfo is None:
        raise ValueError("times must be timezone-aware (UTC in the store)")
    return moment.astimezone(zone)


def period_key(frequency: str, moment: dt.datetime, zone: dt.tzinfo) -> str:
    """The period ``moment`` falls in, in the site zone: '2026-11-29' or '2026-W48'."""
    day = _local(moment, zone).date()
    if frequency == DAILY:
        return day.isoformat()
    if frequency == WEEKLY:
        year, week, _ = day.isocalendar()
        return f"{year}-W{week:02d}"
    raise ValueError(f"no digest period for frequency {frequency!r}; use 'daily' or 'weekly'")


def _midnight(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    """Local midnight as an aware UTC time (midnight exists in every zone we care about; if a
    zone skipped it, zoneinfo's fold=0 picks the instant after the gap)."""
    local = dt.datetime(day.year, day.month, day.day, tzinfo=zone)
    return local.astimezone(dt.UTC)


def period_bounds(frequency: str, period: str, zone: dt.tzinfo) -> tuple[dt.datetime, dt.datetime]:
    """[start, end) of a period in UTC; a local day is 23, 24 or 25 hours long across DST."""
    if frequency == DAILY and (m := _DAILY_KEY.match(period)):
        first = dt.date(int(m[1]), int(m[2]), int(m[3]))
        last = first + dt.timedelta(days=1)
    elif frequency == WEEKLY and (m := _WEEKLY_KEY.match(period)):
        first = dt.date.fromisocalendar(int(m[1]), int(m[2]), 1)
        last = first + dt.timedelta(days=7)
    else:
        raise ValueError(f"{period!r} is not a {frequency} period key")
    return _midnight(first, zone), _midnight(last, zone)


def previous_period(frequency: str, period: str, zone: dt.tzinfo) -> str:
    start, _ = period_bounds(frequency, period, zone)
    return period_key(frequency, start - dt.timedelta(seconds=1), zone)


# --------------------------------------------------------------------------- inputs and outputs
@dataclass(frozen=True)
class Candidate:
    """A release with its publishable variant per target language (missing = not publishable).

    ``embargo_until``: not before; ``expires_at``: not after (both optional, aware UTC)."""

    release: StoredRelease
    variants: Mapping[str, StoredTranslation] = field(default_factory=dict)
    embargo_until: dt.datetime | None = None
    expires_at: dt.datetime | None = None


@dataclass(frozen=True)
class PlanItem:
    release_id: int
    uid: str
    lang: str  # the language of the text the subscriber gets
    original: bool  # the source text, because the translation is missing (policy "original")
    machine: bool  # a machine translation (the note applies)
    available_at: dt.datetime


@dataclass(frozen=True)
class DigestPlan:
    message_key: str
    frequency: str
    lang: str
    period: str
    items: tuple[PlanItem, ...]
    cutoff: dt.datetime  # the next plan's ``since``: releases available up to here are covered
    waiting: tuple[int, ...] = ()  # release ids held back for a translation (come later)
    skipped: tuple[tuple[int, str], ...] = ()  # (release id, reason)

    @property
    def release_ids(self) -> list[int]:
        return [item.release_id for item in self.items]

    def payload(self) -> dict:
        """The ledger payload the renderer reads."""
        return {"releases": self.release_ids, "period": self.period, "frequency": self.frequency}


# --------------------------------------------------------------------------- decisions
WAIT, INCLUDE, SKIP = "wait", "include", "skip"


def publishable_at(candidate: Candidate) -> dt.datetime:
    """When the release became visible: the stored time (ingest, or embargo end if later);
    for rows without one, its creation and the candidate's embargo."""
    release = candidate.release
    at = release.publishable_at or release.created_at
    if candidate.embargo_until is not None and candidate.embargo_until > at:
        at = candidate.embargo_until
    return at


def own_language(release: StoredRelease, source_language: str) -> str:
    """The language of the release's own text (the source language unless staff set another)."""
    return release.language or source_language


def decide(
    candidate: Candidate, lang: str, source_language: str, now: dt.datetime, policy: str, wait_hours: float,
) -> tuple[str, PlanItem | None, str]:
    """(verdict, item, reason) for one release in one language at ``now``.

    verdict ``include`` with the item (``available_at`` = the release's publishable time, the
    same in every language); ``wait`` (embargoed, or translation pending within
    ``wait_hours``); ``skip`` with a reason (expired, untranslated too long)."""
    release = candidate.release
    if candidate.expires_at is not None and candidate.expires_at <= now:
        return SKIP, None, "expired"
    start = publishable_at(candidate)
    if start > now:
        return WAIT, None, "embargoed"
    own = own_language(release, source_language)
    if lang == own:
        return INCLUDE, PlanItem(release.id, release.uid, lang, False, False, start), ""
    variant = candidate.variants.get(lang)
    if variant is not None:
        return INCLUDE, PlanItem(release.id, release.uid, lang, False, bool(variant.machine), start), ""
    if policy == "original":
        return INCLUDE, PlanItem(release.id, release.uid, own, True, False, start), ""
    if now - start < dt.timedelta(hours=wait_hours):
        return WAIT, None, "translation pending"
    return SKIP, None, f"no {lang} translation after {wait_hours:g} hours"


def _policy(settings, lang: str, source_language: str) -> str:
    return settings.missing_translation.get(lang, "wait") if lang != source_language else "original"


def _came_late(candidate: Candidate, lang: str, at: dt.datetime, since: dt.datetime, policy: str,
               wait_hours: float) -> bool:
    """A release from before ``since`` that the last digest of this language left waiting for
    its translation, which has come since: it belongs to this digest (policy ``wait``)."""
    if policy != "wait" or at <= since - dt.timedelta(hours=wait_hours):
        return False
    variant = candidate.variants.get(lang)
    return variant is not None and variant.updated_at > since


def plan_digest(
    candidates: Iterable[Candidate], *, frequency: str, lang: str, source_language: str, now: dt.datetime,
    zone: dt.tzinfo, since: dt.datetime | None, settings, already_sent: Collection[int] = (),
) -> DigestPlan | None:
    """The digest for ``lang`` and the period ``now`` falls in, or None when nothing is new.

    It holds the releases that became publishable in (``since``, ``now``] — the same set in
    every language — plus, under policy ``wait``, the ones an earlier digest of this language
    left waiting whose translation has come. Archive never. ``since``: the cutoff of the last
    digest sent to this group (None: the first digest, which covers the previous period only).
    ``settings``: DigestSettings (``missing_translation``, ``wait_hours``, ``max_items``).
    ``already_sent``: release ids an earlier digest of this group carried.
    """
    if frequency not in (DAILY, WEEKLY):
        raise ValueError(f"digests are daily or weekly, not {frequency!r}")
    period = period_key(frequency, now, zone)
    if since is None:
        since = period_bounds(frequency, previous_period(frequency, period, zone), zone)[0]
    policy = _policy(settings, lang, source_language)
    items: list[PlanItem] = []
    waiting: list[int] = []
    skipped: list[tuple[int, str]] = []
    seen: set[int] = set()
    for candidate in candidates:
        release = candidate.release
        if release.archive or release.id in seen or release.id in already_sent:
            continue
        seen.add(release.id)
        at = publishable_at(candidate)
        if at > now:
            continue  # not visible yet: the digest of the period it becomes visible in
        own = own_language(release, source_language)
        if at <= since and (lang == own or not _came_late(candidate, lang, at, since, policy, settings.wait_hours)):
            continue  # an earlier digest's
        verdict, item, reason = decide(candidate, lang, source_language, now, policy, settings.wait_hours)
        if verdict == INCLUDE and item is not None:
            items.append(item)
        elif verdict == WAIT:
            waiting.append(release.id)
        elif verdict == SKIP:
            skipped.append((release.id, reason))
    if not items:
        return None
    items.sort(key=lambda i: (i.available_at, i.release_id), reverse=True)
    if len(items) > settings.max_items:
        skipped.extend((i.release_id, "over max_items") for i in items[settings.max_items:])
        items = items[: settings.max_items]
    return DigestPlan(
        message_key=digest_key(frequency, lang, period), frequency=frequency, lang=lang, period=period,
        items=tuple(items), cutoff=now, waiting=tuple(waiting), skipped=tuple(skipped),
    )


def plan_release(
    candidate: Candidate, lang: str, source_language: str, now: dt.datetime, settings,
) -> tuple[str, PlanItem | None, str]:
    """One release in ``lang`` (immediate mail, staff send): (verdict, item, message key).
    Who receives it is the caller's: see sending.queue_immediate and queue_release."""
    verdict, item, _ = decide(candidate, lang, source_language, now, _policy(settings, lang, source_language),
                              settings.wait_hours)
    return verdict, item, release_key(candidate.release.uid, lang)


# --------------------------------------------------------------------------- reading the store
def gather_candidates(
    store, languages: Iterable[str], source_language: str, policies: Mapping[str, str], limit: int = 200,
) -> list[Candidate]:
    """The newest releases with their publishable variants (reads the store; not pure). A
    release listed without a variant in a language is an original in that language."""
    by_id: dict[int, tuple[StoredRelease, dict[str, StoredTranslation]]] = {}
    for lang in dict.fromkeys([source_language, *languages]):
        policy = "machine" if lang == source_language else policies.get(lang, "machine")
        for release, variant in store.publishable(lang, source_language, policy, limit):
            entry = by_id.setdefault(release.id, (release, {}))
            if variant is not None and lang != own_language(release, source_language):
                entry[1][lang] = variant
    ordered = sorted(by_id.values(), key=lambda pair: (pair[0].published_at, pair[0].id), reverse=True)
    return [Candidate(release, variants) for release, variants in ordered]
