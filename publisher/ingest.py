"""Ingest stage: run sources → clean → identify language → dedupe → store.

One bad item goes to quarantine with its reason and the run goes on; one failing source is
recorded and the other sources still run. Reads and writes only the store.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

import httpx

from .cleaning import Boilerplate, clean_paragraphs, content_hash
from .errors import ItemRejected, PublisherError
from .langid import detect_language
from .lang import normalise_lang
from .models import CleanRelease, IngestOutcome, IngestReport, LanguageStatus, RawRelease, Rejected, Skipped, Unchanged
from .settings import Settings
from .sources import HttpOptions, PoliteClient, SourceContext, build_source
from .store import Store
from .structure import structured_body

log = logging.getLogger(__name__)

MAX_TITLE_CHARS = 300

ProgressFn = Callable[[str, IngestOutcome, str], None]


def clean_release(raw: RawRelease, boilerplate: Boilerplate, settings: Settings) -> CleanRelease:
    """Clean one extracted item; ItemRejected says why it cannot be a release."""
    title, paragraphs = clean_paragraphs(raw.title, raw.paragraphs, boilerplate)
    if not title:
        raise ItemRejected("no title: the first non-empty line (or front-matter title, or <h1>) must be the title")
    if len(title) > MAX_TITLE_CHARS:
        raise ItemRejected(
            f"title is {len(title)} characters (over {MAX_TITLE_CHARS}): is the first line a "
            "paragraph? put a short title on the first line, then a blank line"
        )
    if not paragraphs:
        raise ItemRejected("no body text after the title (after removing boilerplate lines)")
    source_language = settings.site.source_language
    flags: list[str] = []
    declared = None
    if raw.language:
        try:
            declared = normalise_lang(raw.language)
        except ValueError:
            flags.append(f"language-unknown: declared {raw.language!r}")
    detected = None
    if settings.cleaning.detect_language:
        candidates = set(settings.cleaning.detector_languages) | set(settings.site.languages)
        detected = detect_language("\n".join([title, *paragraphs]), candidates)
    language = declared or detected or source_language
    if detected and declared and detected != declared:
        flags.append(f"language-conflict: declared {declared}, detected {detected}")
    found, language_status = declared or detected, LanguageStatus.OK
    # Any signal that the text is not in the source language makes it a mismatch: a declared
    # language is often a default (a folder's `language`, a feed channel's <language>, a site
    # template's <html lang>), so a confident detection of another language overrides it.
    other = next((code for code in (detected, declared) if code and code != source_language), None)
    if other is not None:
        language = found = other
        flags.append(f"language-mismatch: {language}, expected {source_language}")
        if settings.cleaning.on_language_mismatch == "hold":
            language_status = LanguageStatus.HELD  # stored, published nowhere until staff confirm
        else:
            language = source_language  # "publish": as if it were in the source language
    return CleanRelease(
        source=raw.source,
        ref=raw.ref,
        raw=raw.raw,
        content_type=raw.content_type,
        title=title,
        body="\n\n".join(paragraphs),
        content_hash=content_hash(title, paragraphs),
        guid=raw.guid,
        link=raw.link,
        published_at=raw.published_at or dt.datetime.now(dt.timezone.utc),
        language=language,
        flags=tuple(flags),
        slug=raw.slug,
        author=raw.author,
        categories=raw.categories,
        embargo_until=raw.embargo_until,
        expires_at=raw.expires_at,
        body_html=structured_body(raw.body_html, paragraphs),  # issue 9: aligned with the cleaned paragraphs
        language_status=language_status.value,
        detected_language=found,
        dated=raw.dated and raw.published_at is not None,
    )


BACKLOG_SOURCES = ("feed", "webpage")  # their first successful poll brings the site's existing backlog


def is_archive(clean: CleanRelease, first_poll: bool, settings: Settings, now: dt.datetime | None = None) -> bool:
    """Archive is never mailed (issue 10): a release from the first poll of a feed or webpage
    source, or one whose published date is more than ``[digest] backlog_days`` before now.
    Only a date the item itself gives counts: a file dropped into the inbox today is news even
    when its mtime is old (copied with ``cp -p``, unpacked from an archive)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    old = clean.dated and clean.published_at < now - dt.timedelta(days=settings.digest.backlog_days)
    return first_poll or old


def _storable(text: str) -> str:
    """Text any database takes: no lone surrogates (bytes of a non-UTF-8 name), no NUL."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def _quarantine(store: Store, source: Any, item: RawRelease | Rejected, reason: str, report: IngestReport) -> None:
    """Keep the item and its reason (a row, and the moved file for file sources). Never raises:
    whatever fails here is logged and said in the report, and the run goes on."""
    stored_path = None
    try:
        stored_path = source.quarantine(item, reason)
    except OSError as exc:
        reason = f"{reason} (and the file could not be moved to quarantine: {exc})"
    except Exception as exc:  # a bug in a source's quarantine must not stop the run
        log.exception("quarantine of %s:%s failed", item.source, item.ref)
        reason = f"{reason} (and the file could not be moved to quarantine: {type(exc).__name__}: {exc})"
    ref, reason = _storable(item.ref), _storable(reason)
    try:
        store.add_quarantine(
            source=item.source,
            ref=ref,
            reason=reason,
            raw=item.raw,
            content_type=item.content_type,
            stored_path=_storable(stored_path) if stored_path else None,
        )
    except Exception as exc:  # the database refused the row: say so, go on with the next item
        log.exception("could not record the quarantine of %s:%s", item.source, ref)
        reason = f"{reason} (and the quarantine row could not be stored: {type(exc).__name__}: {exc})"
    report.quarantined.append((f"{item.source}:{ref}", reason))
    log.warning("quarantined %s:%s: %s", item.source, ref, reason)


def ingest_sources(
    settings: Settings,
    store: Store,
    only: str | None = None,
    transport: httpx.BaseTransport | None = None,
    progress: ProgressFn | None = None,
) -> IngestReport:
    """Run every enabled source (or the one named ``only``) once."""
    report = IngestReport()
    sources = [settings.source(only)] if only else [s for s in settings.sources if s.enabled]
    http = PoliteClient(
        HttpOptions(
            user_agent=settings.http.user_agent,
            timeout_seconds=settings.http.timeout_seconds,
            per_host_interval_seconds=settings.http.per_host_interval_seconds,
            max_redirects=settings.http.max_redirects,
            max_bytes=settings.ingest.max_bytes,
        ),
        transport=transport,
    )

    def note(source_name: str, outcome: IngestOutcome, ref: str) -> None:
        if progress is not None:
            progress(source_name, outcome, ref)

    with http:
        for options in sources:
            boilerplate = Boilerplate.combine(
                (settings.cleaning.boilerplate_lines, settings.cleaning.boilerplate_patterns),
                (options.boilerplate_lines, options.boilerplate_patterns),
            )
            context = SourceContext(
                boilerplate=boilerplate,
                timezone=settings.site.zone,
                max_bytes=settings.ingest.max_bytes,
                quarantine_dir=settings.ingest.quarantine_dir,
                http=http,
            )
            source = build_source(options, context)
            previous = store.get_source_state(options.name)
            first_poll = options.type in BACKLOG_SOURCES and previous.last_success_at is None
            state = previous.state
            error = None
            try:
                for item in source.fetch(state):
                    ref = f"{options.name}:{item.ref}"
                    if isinstance(item, Unchanged):
                        report.add(IngestOutcome.UNCHANGED, ref)
                        note(options.name, IngestOutcome.UNCHANGED, item.ref)
                        continue
                    if isinstance(item, Skipped):  # left alone on purpose: counted with why
                        report.skipped.append((ref, item.why, item.detail))
                        continue
                    if isinstance(item, Rejected):
                        _quarantine(store, source, item, item.reason, report)
                        note(options.name, IngestOutcome.QUARANTINED, item.ref)
                        continue
                    try:
                        clean = clean_release(item, boilerplate, settings)
                        outcome, _stored = store.save_release(clean, archive=is_archive(clean, first_poll, settings))
                    except ItemRejected as exc:
                        _quarantine(store, source, item, exc.reason, report)
                        note(options.name, IngestOutcome.QUARANTINED, item.ref)
                        continue
                    except Exception as exc:  # one bad release must not stop the others
                        log.exception("unexpected error on %s", ref)
                        _quarantine(store, source, item, f"internal error: {type(exc).__name__}: {exc}", report)
                        note(options.name, IngestOutcome.QUARANTINED, item.ref)
                        continue
                    report.add(outcome, ref)
                    note(options.name, outcome, item.ref)
            except PublisherError as exc:
                error = str(exc)
            except Exception as exc:  # a broken source must not stop the other sources
                log.exception("source %s failed", options.name)
                error = f"internal error: {type(exc).__name__}: {exc}"
            if error:
                report.failed_sources.append((options.name, error))
                log.error("source %s failed: %s", options.name, error)
                if error != previous.last_error:  # once per outage, not once per poll
                    where = str(getattr(options, "url", None) or getattr(options, "path", options.name))
                    store.add_quarantine(options.name, where, f"source failed: {error}", b"", "text/plain")
            store.save_source_state(options.name, state, error=error)
    return report
