"""Digest planning: which releases go into which digest, in which language, for which period.

Everything here but :func:`gather_candidates` is pure: the same inputs give the same plan,
so a digest run twice (or after a crash) plans the same message key and the ledger refuses
the duplicate.

Keys (the ledger's idempotency keys):
    digest:{frequency}:{lang}:{period}   period = local date "2026-11-29" (daily) or ISO week
                                         "2026-W48" (weekly), in the site's zone
    release:{uid}:{lang}                 an immediate message for one release

A release is *available* in a language once it is published, past its embargo, and (for a
target language) has a publishable variant; :func:`plan_digest` takes the releases that
became available after the last digest's cutoff. When a variant is missing the language's
policy decides: ``wait`` leaves the release out while it is younger than ``wait_hours`` (it
comes in a later digest once translated) and then skips it; ``original`` includes the
source text with a note. Expired releases are never included. Nothing new: no plan, no mail.
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


def decide(
    candidate: Candidate, lang: str, source_language: str, now: dt.datetime, policy: str, wait_hours: float,
) -> tuple[str, PlanItem | None, str]:
    """(verdict, item, reason) for one release in one language at ``now``.

    verdict ``include`` with the item; ``wait`` (embargoed, or translation pending within
    ``wait_hours``); ``skip`` with a reason (expired, untranslated too long)."""
    release = candidate.release
    if candidate.expires_at is not None and candidate.expires_at <= now:
        return SKIP, None, "expired"
    start = release.published_at
    if candidate.embargo_until is not None and candidate.embargo_until > start:
        start = candidate.embargo_until
    if start > now:
        return WAIT, None, "embargoed" if candidate.embargo_until and candidate.embargo_until > now else "scheduled"
    if lang == source_language:
        return INCLUDE, PlanItem(release.id, release.uid, lang, False, False, start), ""
    variant = candidate.variants.get(lang)
    if variant is not None:
        available = max(start, variant.updated_at)
        return INCLUDE, PlanItem(release.id, release.uid, lang, False, bool(variant.machine), available), ""
    if policy == "original":
        return INCLUDE, PlanItem(release.id, release.uid, source_language, True, False, start), ""
    if now - start < dt.timedelta(hours=wait_hours):
        return WAIT, None, "translation pending"
    return SKIP, None, f"no {lang} translation after {wait_hours:g} hours"


def plan_digest(
    candidates: Iterable[Candidate], *, frequency: str, lang: str, source_language: str, now: dt.datetime,
    zone: dt.tzinfo, since: dt.datetime | None, settings, already_sent: Collection[int] = (),
) -> DigestPlan | None:
    """The digest for ``lang`` and the period ``now`` falls in, or None when nothing is new.

    ``since``: the cutoff of the last digest sent to this group (None: the first digest, which
    covers the previous period only, not the whole archive). ``settings``: DigestSettings
    (``missing_translation``, ``wait_hours``, ``max_items``). ``already_sent``: release ids an
    earlier digest of this group carried (an update to a translation does not send it again).
    """
    if frequency not in (DAILY, WEEKLY):
        raise ValueError(f"digests are daily or weekly, not {frequency!r}")
    period = period_key(frequency, now, zone)
    if since is None:
        since = period_bounds(frequency, previous_period(frequency, period, zone), zone)[0]
    policy = settings.missing_translation.get(lang, "wait") if lang != source_language else "original"
    items: list[PlanItem] = []
    waiting: list[int] = []
    skipped: list[tuple[int, str]] = []
    seen: set[int] = set()
    for candidate in candidates:
        release = candidate.release
        if release.id in seen or release.id in already_sent:
            continue
        seen.add(release.id)
        verdict, item, reason = decide(candidate, lang, source_language, now, policy, settings.wait_hours)
        if verdict == INCLUDE and item is not None:
            if item.available_at > now:  # a variant newer than the planning time: next time
                waiting.append(release.id)
            elif item.available_at > since:
                items.append(item)
        elif verdict == WAIT:
            waiting.append(release.id)
        elif verdict == SKIP and release.published_at > since:
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
    """For immediate subscribers: (verdict, item, message key) of one release in ``lang``."""
    policy = settings.missing_translation.get(lang, "wait") if lang != source_language else "original"
    verdict, item, _ = decide(candidate, lang, source_language, now, policy, settings.wait_hours)
    return verdict, item, release_key(candidate.release.uid, lang)


# --------------------------------------------------------------------------- reading the store
def gather_candidates(
    store, languages: Iterable[str], source_language: str, policies: Mapping[str, str], limit: int = 200,
) -> list[Candidate]:
    """The newest releases with their publishable variants (reads the store; not pure)."""
    by_id: dict[int, tuple[StoredRelease, dict[str, StoredTranslation]]] = {}
    for release, _ in store.publishable(source_language, source_language, limit=limit):
        by_id[release.id] = (release, {})
    for lang in languages:
        if lang == source_language:
            continue
        for release, variant in store.publishable(lang, source_language, policies.get(lang, "machine"), limit):
            if release.id in by_id and variant is not None:
                by_id[release.id][1][lang] = variant
    ordered = sorted(by_id.values(), key=lambda pair: (pair[0].published_at, pair[0].id), reverse=True)
    return [Candidate(release, variants) for release, variants in ordered]


