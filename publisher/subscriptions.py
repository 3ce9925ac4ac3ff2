"""Subscribing, double opt-in, unsubscribing, import and export: the rules shared by the CLI
and the web pages. Reads and writes only the store; confirmation emails go through the ledger.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from email_validator import EmailNotValidError, validate_email

from .errors import PublisherError
from .lang import normalise_lang
from .models import Frequency, Subscriber, SubscriberStatus
from .store import Store

S = SubscriberStatus


class SubscriptionError(PublisherError):
    pass


def normalise_email(value: str) -> str:
    """Validated and normalised (lower case, IDNA domain); raises SubscriptionError saying why."""
    try:
        result = validate_email(str(value).strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise SubscriptionError(f"{value!r} is not a valid e-mail address: {exc}") from None
    return result.normalized.lower()


def check_choice(lang: str, frequency: str, languages: Iterable[str]) -> tuple[str, Frequency]:
    try:
        code = normalise_lang(lang)
    except ValueError as exc:
        raise SubscriptionError(str(exc)) from None
    allowed = list(languages)
    if code not in allowed:
        raise SubscriptionError(f"language {lang!r} is not offered; choose one of {', '.join(allowed)}")
    try:
        return code, Frequency(str(frequency).strip().lower())
    except ValueError:
        raise SubscriptionError(
            f"frequency {frequency!r} is not offered; choose one of {', '.join(f.value for f in Frequency)}"
        ) from None


def confirm_key(subscriber: Subscriber) -> str:
    return f"confirm:{subscriber.id}:{subscriber.token_version}"


def subscribe(
    store: Store, email: str, lang: str, frequency: str, languages: Iterable[str],
    consent_source: str = "", confirmed: bool = False,
) -> tuple[Subscriber, bool]:
    """Add (or re-add) a subscriber. Unless ``confirmed`` (staff import of people who opted in
    elsewhere), the subscriber is pending and a confirmation email is queued; nothing else is
    ever sent to a pending address. Returns (subscriber, confirmation queued)."""
    address = normalise_email(email)
    code, freq = check_choice(lang, frequency, languages)
    status = S.CONFIRMED if confirmed else S.PENDING
    subscriber, _created = store.add_subscriber(address, code, freq, status=status, consent_source=consent_source)
    if subscriber.status is S.CONFIRMED or subscriber.status in (S.SUPPRESSED, S.BOUNCED):
        return subscriber, False
    queued = store.enqueue(confirm_key(subscriber), "confirm", subscriber.lang, {}, [(subscriber.id, subscriber.email)])
    return subscriber, bool(queued)


def confirm(store: Store, subscriber_id: int, version: int) -> Subscriber:
    subscriber = store.get_subscriber(subscriber_id)
    if subscriber is None or subscriber.token_version != version:
        raise SubscriptionError("this confirmation link is no longer valid; subscribe again to get a new one")
    if subscriber.status is S.PENDING:
        subscriber = store.set_subscriber_status(subscriber.id, S.CONFIRMED)
    return subscriber


def links_key(subscriber: Subscriber, day: dt.date) -> str:
    return f"links:{subscriber.id}:{subscriber.token_version}:{day.isoformat()}"


def send_current_links(store: Store, subscriber: Subscriber, now: dt.datetime | None = None) -> bool:
    """Queue a message with the current preferences and unsubscribe links (asked for from an
    outdated link). Only to a confirmed subscriber, at most once a day per subscription: an
    old link someone else holds cannot be used to flood the address. Returns whether queued."""
    if subscriber.status is not S.CONFIRMED:
        return False
    day = (now or dt.datetime.now(dt.timezone.utc)).date()
    return bool(store.enqueue(links_key(subscriber, day), "links", subscriber.lang, {},
                              [(subscriber.id, subscriber.email)]))


def unsubscribe(store: Store, subscriber_id: int, version: int | None = None) -> Subscriber | None:
    """Takes effect at once; unknown or already-gone subscribers are not an error (the link
    in an old email must never fail)."""
    subscriber = store.get_subscriber(subscriber_id)
    if subscriber is None or (version is not None and subscriber.token_version != version):
        return None
    if subscriber.status is not S.UNSUBSCRIBED:
        subscriber = store.set_subscriber_status(subscriber.id, S.UNSUBSCRIBED)
    return subscriber


@dataclass
class ImportReport:
    added: int = 0
    existing: int = 0
    confirmations_queued: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)


def import_csv(
    store: Store, text: str, languages: list[str], default_lang: str, default_frequency: str = "weekly",
    confirmed: bool = False, consent_source: str = "import",
) -> ImportReport:
    """Columns: email (required), lang, frequency. Each bad row is reported with its line
    number; the good ones are imported."""
    report = ImportReport()
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if not reader.fieldnames or "email" not in [f.strip().lower() for f in reader.fieldnames]:
        raise SubscriptionError("the CSV needs a header row with at least an `email` column (and lang, frequency)")
    for number, row in enumerate(reader, start=2):
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        try:
            before = store.get_subscriber(normalise_email(row.get("email", "")))
            subscriber, queued = subscribe(
                store, row.get("email", ""), row.get("lang") or default_lang,
                row.get("frequency") or default_frequency, languages, consent_source, confirmed,
            )
        except SubscriptionError as exc:
            report.errors.append((number, str(exc)))
            continue
        if before is None:
            report.added += 1
        else:
            report.existing += 1
        report.confirmations_queued += int(queued)
    return report


EXPORT_FIELDS = ["email", "lang", "frequency", "status", "consent_source", "created_at", "confirmed_at",
                 "unsubscribed_at", "hard_bounces"]


def subscriber_record(subscriber: Subscriber) -> dict[str, Any]:
    return {
        "email": subscriber.email, "lang": subscriber.lang, "frequency": subscriber.frequency.value,
        "status": subscriber.status.value, "consent_source": subscriber.consent_source,
        "created_at": subscriber.created_at.isoformat(),
        "confirmed_at": subscriber.confirmed_at.isoformat() if subscriber.confirmed_at else "",
        "unsubscribed_at": subscriber.unsubscribed_at.isoformat() if subscriber.unsubscribed_at else "",
        "hard_bounces": subscriber.hard_bounces,
    }


def export_csv(subscribers: Iterable[Subscriber]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\n")
    writer.writeheader()
    for subscriber in subscribers:
        writer.writerow(subscriber_record(subscriber))
    return out.getvalue()


def personal_data(store: Store, email: str) -> dict[str, Any]:
    """Everything stored about one person (GDPR access request)."""
    address = normalise_email(email)
    subscriber = store.get_subscriber(address)
    if subscriber is None:
        raise SubscriptionError(f"no subscriber {address}")
    deliveries = store.list_deliveries(recipient=address, limit=10_000)
    return {
        "subscriber": subscriber_record(subscriber),
        "messages": [
            {"message": d.message_key, "kind": d.kind, "lang": d.lang, "status": d.status.value,
             "sent_at": d.sent_at.isoformat() if d.sent_at else None}
            for d in deliveries
        ],
    }
