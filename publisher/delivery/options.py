"""Settings of mail delivery and digests: [mail], [dkim], [digest]."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator

from ..config_types import LangCode, ResolvedPath, Section


class MailSettings(Section):
    transport: Literal["smtp", "outbox"] = "outbox"
    from_: str = Field("IOM North Macedonia <newsletter@localhost>", alias="from")  # display name + address
    reply_to: str | None = None
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_starttls: bool = False
    smtp_ssl: bool = False  # implicit TLS (port 465)
    smtp_user: str | None = None
    smtp_password: SecretStr | None = None  # PUBLISHER_MAIL__SMTP_PASSWORD
    timeout_seconds: float = Field(30.0, gt=0, le=600)
    rate_per_second: float = Field(20.0, gt=0, le=10_000)  # shared by all the connections of a sender
    connections: int = Field(1, ge=1, le=32)  # SMTP connections per sender, each with its own claims
    outbox_dir: ResolvedPath = Path("var/outbox")
    batch_size: int = Field(100, ge=1, le=10_000)  # rows claimed at a time
    lease_seconds: float = Field(300.0, ge=5, le=86_400)
    max_attempts: int = Field(6, ge=1, le=100)
    retry_seconds: float = Field(60.0, ge=0, le=86_400)  # first retry after ~this, doubling
    hard_bounce_limit: int = Field(3, ge=1, le=100)  # 5xx answers before a subscriber is suppressed
    on_ambiguous: Literal["hold", "resend"] = "hold"  # in flight when a sender died
    list_id: str = "IOM North Macedonia news <news.localhost>"
    unsubscribe_mailto: str | None = None  # e.g. unsubscribe@example.org; List-Unsubscribe mailto
    secret_key: SecretStr | None = None  # PUBLISHER_MAIL__SECRET_KEY: signs confirm/unsubscribe links
    confirm_max_age_hours: float = Field(72.0, gt=0, le=24 * 365)
    max_subject_chars: int = Field(120, ge=20, le=998)  # longer subjects are cut at a word boundary with "…"

    model_config = Section.model_config | {"populate_by_name": True}

    @field_validator("from_")
    @classmethod
    def _address(cls, value: str) -> str:
        from email.utils import parseaddr

        name, address = parseaddr(value)
        if "@" not in address:
            raise ValueError("use 'Display Name <address@example.org>'")
        return value


class DkimSettings(Section):
    selector: str | None = None
    domain: str | None = None
    private_key_file: ResolvedPath | None = None  # PEM; signing is on when all three are set
    # "fast": dkimpy's canonicalisation and header hashing, the RSA step by `cryptography`
    # (OpenSSL); the same bytes as "dkimpy" (pure-Python RSA), several times faster
    signer: Literal["fast", "dkimpy"] = "fast"

    @property
    def enabled(self) -> bool:
        return bool(self.selector and self.domain and self.private_key_file)


class DigestSettings(Section):
    daily_time: str = Field("08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")  # local time (site zone)
    weekly_day: Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"] = "mon"
    weekly_time: str = Field("08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    content: Literal["lead", "full"] = "lead"  # first paragraph or the whole text of each release
    # per language, when a release has no publishable translation yet:
    #   "wait"     leave it out until it has one (it comes in a later digest), at most wait_hours
    #   "original" include the Macedonian original with a note
    missing_translation: dict[LangCode, Literal["wait", "original"]] = {"en": "wait", "sq": "wait"}
    wait_hours: float = Field(24.0, ge=0, le=24 * 30)  # after this, a release still untranslated is skipped
    max_items: int = Field(20, ge=1, le=200)
    backlog_days: float = Field(7.0, ge=0, le=3650)  # a release dated older than this at ingest is archive (never mailed)
