"""Tables. Only the store package imports this module."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware datetimes stored as UTC on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the store; pass a timezone-aware one")
        value = value.astimezone(dt.timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.timezone.utc)
        return value.astimezone(dt.timezone.utc)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class ReleaseRow(Base):
    __tablename__ = "releases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uid: Mapped[str] = mapped_column(String(64), unique=True)
    source: Mapped[str] = mapped_column(String(64))
    source_guid: Mapped[str | None] = mapped_column(String(1024))
    link: Mapped[str | None] = mapped_column(String(2048))
    slug: Mapped[str | None] = mapped_column(String(255))
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    language: Mapped[str] = mapped_column(String(8))
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    author: Mapped[str | None] = mapped_column(String(255))
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    embargo_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # ok: in its language as ingested | held: not the source language, waits for staff (not
    # published, not translated) | confirmed: staff set ``language`` (issue 9)
    language_status: Mapped[str] = mapped_column(String(16), default="ok", server_default="ok")
    detected_language: Mapped[str | None] = mapped_column(String(8))  # declared, else detected, at ingest
    # issue 10: archive (a source's first-poll backlog, or dated before [digest] backlog_days at
    # ingest) is never mailed; publishable_at: when it became visible (ingest, or embargo end)
    archive: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    publishable_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # issue 9: the body as sanitised HTML blocks, one per paragraph of ``body`` (publisher.structure)
    body_html: Mapped[str | None] = mapped_column(Text)

    revisions: Mapped[list[RevisionRow]] = relationship(
        back_populates="release", order_by="RevisionRow.revision", cascade="all, delete-orphan"
    )

    __table_args__ = (
        Index("ix_releases_source_guid", "source", "source_guid"),
        Index("ix_releases_link", "link"),
        Index("ix_releases_content_hash", "content_hash"),
        Index("ix_releases_published_at", "published_at"),
        Index("ix_releases_publishable_at", "publishable_at"),
    )


class RevisionRow(Base):
    """Every version of a release as it was fetched, original bytes included."""

    __tablename__ = "release_revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"))
    revision: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    ref: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(128))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    fetched_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    release: Mapped[ReleaseRow] = relationship(back_populates="revisions")

    __table_args__ = (UniqueConstraint("release_id", "revision"),)


class QuarantineRow(Base):
    """An item that could not become a release, with the reason and its original bytes."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    ref: Mapped[str] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(128))
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    raw_sha256: Mapped[str] = mapped_column(String(64))
    stored_path: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_quarantine_created_at", "created_at"),)


class SourceStateRow(Base):
    """A source's own cursor (ETag, Last-Modified, file fingerprints) and its last run."""

    __tablename__ = "source_state"

    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_run_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_success_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)


class TranslationRow(Base):
    """The current variant of one release in one target language."""

    __tablename__ = "translations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id", ondelete="CASCADE"))
    lang: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    engine: Mapped[str | None] = mapped_column(String(32))
    machine: Mapped[bool] = mapped_column(Boolean, default=True)
    source_hash: Mapped[str] = mapped_column(String(64))
    source_revision: Mapped[int] = mapped_column(Integer)
    qa: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # engine → {"requests", "prompt_tokens", "completion_tokens", "total_tokens"} over all attempts (0011)
    usage: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=dict)
    editor: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    body_html: Mapped[str | None] = mapped_column(Text)  # issue 9: machine output's structure

    __table_args__ = (
        UniqueConstraint("release_id", "lang"),
        Index("ix_translations_status", "status"),
    )


class MemoryRow(Base):
    """Translation memory: one engine's accepted output, or a human rendering, for one normalised segment."""

    __tablename__ = "translation_memory"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    engine: Mapped[str] = mapped_column(String(32))
    src: Mapped[str] = mapped_column(String(8))
    tgt: Mapped[str] = mapped_column(String(8))
    key: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(Text)
    target: Mapped[str] = mapped_column(Text)
    hits: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200))  # issue 11: who made a human entry
    changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)  # last staff change of it

    __table_args__ = (UniqueConstraint("engine", "src", "tgt", "key"),)


class SubscriberRow(Base):
    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # normalised
    lang: Mapped[str] = mapped_column(String(8))
    frequency: Mapped[str] = mapped_column(String(16))  # immediate | daily | weekly
    status: Mapped[str] = mapped_column(String(16))  # pending | confirmed | unsubscribed | bounced | suppressed
    consent_source: Mapped[str] = mapped_column(String(255), default="")
    hard_bounces: Mapped[int] = mapped_column(Integer, default=0)
    token_version: Mapped[int] = mapped_column(Integer, default=1)  # bump to revoke links
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (Index("ix_subscribers_status_lang", "status", "lang"),)


class DeliveryRow(Base):
    """The send ledger: one row per message per recipient, keyed by (message_key, subscriber)."""

    __tablename__ = "deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    message_key: Mapped[str] = mapped_column(String(255))
    subscriber_id: Mapped[int | None] = mapped_column(ForeignKey("subscribers.id", ondelete="SET NULL"))
    recipient: Mapped[str] = mapped_column(String(320))  # the address at queue time
    kind: Mapped[str] = mapped_column(String(16))  # confirm | digest | release | test
    lang: Mapped[str] = mapped_column(String(8))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16))  # queued | sending | sent | retry | failed | held | skipped
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claim: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(255))  # the delivery's, from its first attempt on
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # issue 10: why a row is skipped/held/failed (see publisher/store/mail.py), and when the
    # current attempt was handed to the transport (cleared by a new claim)
    reason: Mapped[str | None] = mapped_column(String(32))
    handed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        UniqueConstraint("message_key", "recipient"),
        Index("ix_deliveries_status_next", "status", "next_attempt_at"),
        Index("ix_deliveries_claim", "claim"),
    )


class ControlRow(Base):
    """Small named switches and cursors (sending paused, last digest periods…)."""

    __tablename__ = "control"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class StaffUserRow(Base):
    """A staff member who may log in to the web pages (password: argon2 hash, never the text)."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    email: Mapped[str | None] = mapped_column(String(320))  # where "test send to me" goes
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # issue 13: admin | editor | sender (publisher/web/roles.py says what each may do)
    role: Mapped[str] = mapped_column(String(16), default="admin", server_default="admin")


class StaffSessionRow(Base):
    """A staff login (issue 10). The cookie carries a random token; this row keeps only its
    sha256, so logout, a password change or disabling the user ends the session at once."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 hex of the cookie's token
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class LoginAttemptRow(Base):
    """Failed staff logins per account or client address (issue 10), shared by every web process."""

    __tablename__ = "login_attempts"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)  # "account:<name>" | "address:<ip>"
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    forget_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)  # forgotten after a quiet window


class AuditRow(Base):
    """One staff action (issue 13): who, what, on what, when. The actor is the user's name as
    text, not a key, so the row outlives the user."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(120), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(255), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
