"""Plain data shared by the stages. No I/O here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum


class IngestOutcome(StrEnum):
    NEW = "new"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    QUARANTINED = "quarantined"


@dataclass(frozen=True)
class RawRelease:
    """What a source hands to ingest: extracted but not yet cleaned or deduplicated.

    ``ref`` names the item for humans (a file path or a URL); ``raw`` keeps the original
    bytes exactly as fetched, so nothing is lost whatever the cleaner does.
    """

    source: str
    ref: str
    raw: bytes
    title: str
    paragraphs: tuple[str, ...]
    guid: str | None = None
    link: str | None = None
    published_at: dt.datetime | None = None
    language: str | None = None  # declared by the source (front matter, feed, html lang)
    content_type: str = "text/plain"
    slug: str | None = None
    author: str | None = None
    categories: tuple[str, ...] = ()
    embargo_until: dt.datetime | None = None  # not published before
    expires_at: dt.datetime | None = None  # not sent after
    body_html: str | None = None  # the paragraphs as structured HTML blocks (publisher.structure)
    # the published date came from the item itself (front matter, feed, page), not from a
    # stand-in such as a file's mtime: only such a date can make a release archive (issue 10)
    dated: bool = True


@dataclass(frozen=True)
class Rejected:
    """An item a source found but could not extract; ingest quarantines it."""

    source: str
    ref: str
    raw: bytes
    reason: str
    content_type: str = "application/octet-stream"


@dataclass(frozen=True)
class Unchanged:
    """A source saw this item before, byte for byte (its cursor says so); nothing to do."""

    source: str
    ref: str


@dataclass(frozen=True)
class Skipped:
    """An entry a source saw and deliberately left alone; ``why`` is a SKIP_REASONS key."""

    source: str
    ref: str
    why: str
    detail: str = ""


# why a directory source left a file alone (the keys of IngestReport.skipped_counts)
SKIP_REASONS = {
    "unsupported-type": "not one of the source's patterns (.txt, .md, .html...)",
    "link": "a symbolic link (never followed)",
    "hidden": "a hidden file or folder (name starts with a dot)",
    "temporary": "an editor or download temporary (~, .tmp, .part, .swp, .crdownload)",
    "folder": "a sub-folder (the source is not recursive)",
    "special-file": "not a regular file (a pipe, socket or device)",
    "still-settling": "modified less than settle_seconds ago; read on a later run",
    "rejected-unmoved": "rejected before and could not be moved to quarantine; retried when it changes",
}


@dataclass(frozen=True)
class CleanRelease:
    """A release after cleaning and language identification, ready to store."""

    source: str
    ref: str
    raw: bytes
    content_type: str
    title: str
    body: str  # paragraphs separated by one blank line
    content_hash: str
    guid: str | None
    link: str | None
    published_at: dt.datetime
    language: str
    flags: tuple[str, ...] = ()
    slug: str | None = None
    author: str | None = None
    categories: tuple[str, ...] = ()
    embargo_until: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    language_status: str = "ok"  # LanguageStatus: held when the text is not in the source language
    detected_language: str | None = None  # declared, else detected (None: detection off, nothing declared)
    body_html: str | None = None  # structured body, one block per paragraph (publisher.structure)
    dated: bool = True  # the published date came from the item (RawRelease.dated)

    @property
    def paragraphs(self) -> list[str]:
        return self.body.split("\n\n") if self.body else []


class LanguageStatus(StrEnum):
    """Whether a release's ``language`` may be trusted for publishing (issue 9)."""

    OK = "ok"  # in the source language, or published as such ([cleaning] on_language_mismatch = "publish")
    HELD = "held"  # not in the source language: stored, but in no feed, mail or page, not translated
    CONFIRMED = "confirmed"  # staff confirmed ``language``: published in it, translated from it


@dataclass
class IngestReport:
    """What one ingest run did, per outcome, with the items named."""

    new: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    quarantined: list[tuple[str, str]] = field(default_factory=list)  # (ref, reason)
    failed_sources: list[tuple[str, str]] = field(default_factory=list)  # (source, reason)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # (ref, why, detail)

    def add(self, outcome: IngestOutcome, ref: str) -> None:
        getattr(self, outcome.value).append(ref)

    def skipped_counts(self) -> dict[str, int]:
        """Files left alone, per reason (a SKIP_REASONS key), in a stable order."""
        counts: dict[str, int] = {}
        for _ref, why, _detail in self.skipped:
            counts[why] = counts.get(why, 0) + 1
        return dict(sorted(counts.items()))

    def counts(self) -> dict[str, int]:
        return {
            "new": len(self.new),
            "updated": len(self.updated),
            "unchanged": len(self.unchanged),
            "quarantined": len(self.quarantined),
            "failed_sources": len(self.failed_sources),
        }


@dataclass(frozen=True)
class StoredRelease:
    """A release as the store holds it (latest revision)."""

    id: int
    uid: str
    source: str
    source_guid: str | None
    link: str | None
    slug: str | None
    title: str
    body: str
    language: str
    flags: tuple[str, ...]
    author: str | None
    categories: tuple[str, ...]
    published_at: dt.datetime
    revision: int
    content_hash: str
    created_at: dt.datetime
    updated_at: dt.datetime
    embargo_until: dt.datetime | None = None  # not published (feeds, emails) before this
    expires_at: dt.datetime | None = None  # not sent by email after this
    language_status: str = "ok"  # LanguageStatus; ``language`` is the language it is published in
    detected_language: str | None = None
    archive: bool = False  # never mailed, only in feeds and on the web (issue 10)
    publishable_at: dt.datetime | None = None  # when it became visible: ingest, or embargo end if later
    body_html: str | None = None  # structured body, one block per paragraph (publisher.structure)

    @property
    def paragraphs(self) -> list[str]:
        return self.body.split("\n\n") if self.body else []

    @property
    def held(self) -> bool:
        """Held for a language mismatch: readers must not see it until staff confirm its language."""
        return self.language_status == LanguageStatus.HELD

    def visible(self, now: dt.datetime) -> bool:
        return not self.held and (self.embargo_until is None or self.embargo_until <= now)


@dataclass(frozen=True)
class StoredRevision:
    revision: int
    title: str
    content_hash: str
    ref: str
    content_type: str
    raw_size: int
    fetched_at: dt.datetime


@dataclass(frozen=True)
class QuarantineItem:
    id: int
    source: str
    ref: str
    reason: str
    content_type: str
    size: int
    raw_sha256: str
    stored_path: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class SourceState:
    source: str
    state: dict
    last_run_at: dt.datetime | None
    last_success_at: dt.datetime | None
    last_error: str | None


class TranslationStatus(StrEnum):
    PENDING = "pending"  # planned, no engine result yet (or no engine available)
    MACHINE = "machine"  # machine output that passed the quality checks
    REVIEWED = "reviewed"  # machine output approved by staff
    HUMAN = "human"  # written or edited by staff
    FAILED = "failed"  # every engine failed or failed the checks; ``error`` says why
    STALE = "stale"  # reviewed/human text of an older revision of the source


STAFF_STATUSES = frozenset({TranslationStatus.REVIEWED, TranslationStatus.HUMAN})


@dataclass(frozen=True)
class StoredTranslation:
    id: int
    release_id: int
    lang: str
    status: TranslationStatus
    title: str
    body: str
    engine: str | None
    machine: bool
    source_hash: str
    source_revision: int
    qa: tuple[dict, ...]
    error: str | None
    attempts: int
    editor: str | None
    created_at: dt.datetime
    updated_at: dt.datetime
    reviewed_at: dt.datetime | None
    body_html: str | None = None  # machine output's structure, rebuilt from the translated blocks
    usage: dict[str, dict[str, int]] = field(default_factory=dict)  # engine → tokens, requests (all attempts)

    @property
    def paragraphs(self) -> list[str]:
        return self.body.split("\n\n") if self.body else []


class SubscriberStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"
    SUPPRESSED = "suppressed"


class Frequency(StrEnum):
    IMMEDIATE = "immediate"
    DAILY = "daily"
    WEEKLY = "weekly"


class DeliveryStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # claimed by a sender, under a lease
    SENT = "sent"  # the server accepted it
    RETRY = "retry"  # transient failure; tried again at next_attempt_at
    FAILED = "failed"  # permanent failure, with the server's reply
    HELD = "held"  # handed over without a clear answer (reason "ambiguous"): for staff to decide
    SKIPPED = "skipped"  # the recipient may no longer receive mail (reason says why); never sent


@dataclass(frozen=True)
class Subscriber:
    id: int
    email: str
    lang: str
    frequency: Frequency
    status: SubscriberStatus
    consent_source: str
    hard_bounces: int
    token_version: int
    created_at: dt.datetime
    confirmed_at: dt.datetime | None
    unsubscribed_at: dt.datetime | None


@dataclass(frozen=True)
class Delivery:
    id: int
    message_key: str
    subscriber_id: int | None
    recipient: str
    kind: str
    lang: str
    payload: dict
    status: DeliveryStatus
    attempts: int
    claim: str | None
    lease_until: dt.datetime | None
    next_attempt_at: dt.datetime
    last_error: str | None
    message_id: str | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    reason: str | None = None  # skipped: why; held: "ambiguous"; failed: "permanent" | "gave-up" | "render" | ...
    handed_at: dt.datetime | None = None  # set while the current attempt is with the transport
