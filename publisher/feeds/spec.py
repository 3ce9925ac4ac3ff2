"""Store → FeedSpec: what one feed (language × format) holds, as plain data.

Only this module reads the store (through ``Store.publishable`` and
``Store.published_languages``); rendering and writing never see it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from .. import __version__
from ..models import StoredRelease, StoredTranslation, TranslationStatus
from ..translate.pivot import via
from . import content as c

if TYPE_CHECKING:
    from ..settings import Settings
    from ..store import Store

FORMAT_VERSION = "2"  # bump when the rendered XML changes for the same data (forces one rebuild)
GENERATOR = "publisher"
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class EntrySpec:
    id: str  # tag: URI from release uid + language; never changes
    title: str
    link: str  # the web version in this language
    summary_html: str
    content_html: str
    published: dt.datetime
    updated: dt.datetime
    author: str
    categories: tuple[str, ...]
    alternates: tuple[tuple[str, str], ...]  # (lang, url) of the same release in the other languages
    machine: bool


@dataclass(frozen=True)
class FeedSpec:
    lang: str
    kind: str  # "rss" | "atom"
    id: str
    title: str
    description: str
    site_url: str
    self_url: str
    alternates: tuple[tuple[str, str], ...]  # (lang, url) of this format's feed in the other languages
    updated: dt.datetime
    logo: str | None
    generator: str
    entries: tuple[EntrySpec, ...]
    fingerprint: str  # hash of every input; equal fingerprints render equal bytes


def policy(settings: Settings, lang: str) -> str:
    """[translation] publish for ``lang``; a target language not listed there waits for review."""
    return settings.translation.publish.get(lang, "review")


def id_prefix(settings: Settings) -> str:
    if settings.feeds.id_prefix:
        return settings.feeds.id_prefix
    host = (urlsplit(settings.site.base_url).hostname or "localhost").lower()
    return f"tag:{host},2026:"


def site_url(settings: Settings, path: str) -> str:
    return f"{settings.site.base_url}/{path.lstrip('/')}"


def entry_url(settings: Settings, uid: str, lang: str) -> str:
    return settings.feeds.entry_url.format(base_url=settings.site.base_url, uid=uid, lang=lang)


def _settings_key(settings: Settings) -> bytes:
    feeds = settings.feeds.model_dump_json(exclude={"output_dir"})
    site = settings.site.model_dump_json()
    return f"{FORMAT_VERSION}|{__version__}|{feeds}|{site}".encode()


def _fingerprint(settings: Settings, lang: str, keys: list[tuple], langs_of: dict[int, list[str]]) -> str:
    """Hash of the settings and of the light key rows (Store.publishable_keys): any change of
    a release (new revision) or of a variant (every save moves its updated time) changes it."""
    digest = hashlib.sha256(_settings_key(settings))
    digest.update(lang.encode())
    for key in keys:
        digest.update(("\x1e" + "|".join(map(str, key)) + f"|{langs_of.get(key[0])}").encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _entry(settings: Settings, lang: str, release: StoredRelease, translation: StoredTranslation | None,
           published_langs: list[str]) -> EntrySpec:
    feeds = settings.feeds
    source = release.language  # the original: the source language unless staff confirmed another
    base = settings.site.base_url
    if translation is None:
        title, paragraphs, updated, machine = release.title, release.paragraphs, release.updated_at, False
        structured = release.body_html
    else:
        title, paragraphs, structured = translation.title, translation.paragraphs, translation.body_html
        updated = max(translation.updated_at, release.updated_at)
        machine = translation.machine and translation.status in (TranslationStatus.MACHINE, TranslationStatus.REVIEWED)
    title = c.shorten(c.one_line(title), feeds.max_title_chars) or c.shorten(
        c.one_line(paragraphs[0] if paragraphs else release.uid), feeds.max_title_chars)
    body = c.body_html(paragraphs, structured)  # links, emphasis, lists, headings (issue 9)
    first = c.one_line(c.lead_paragraph(paragraphs, structured)) if paragraphs else ""  # not a heading (issue 9)
    summary = c.paragraphs_html([c.shorten(first, feeds.summary_chars)]) if first else ""
    if machine:
        pivot = via(translation.engine) if translation is not None else None  # "apertium>libre": via English
        note = c.note_html(c.machine_note(lang, source, feeds.machine_notes, via=pivot), entry_url(settings, release.uid, source),
                           c.original_label(lang), source)
        body, summary = note + body, note + summary
    others = [code for code in [source, *published_langs] if code != lang]
    return EntrySpec(
        id=f"{id_prefix(settings)}release/{release.uid}/{lang}",
        title=title,
        link=entry_url(settings, release.uid, lang),
        summary_html=c.sanitize_html(summary, base),
        content_html=c.sanitize_html(body, base),
        published=release.published_at,
        updated=max(updated, release.published_at),
        author=c.one_line(release.author) or c.one_line(feeds.author) or c.one_line(settings.site.name),
        categories=tuple(dict.fromkeys(c.one_line(x) for x in release.categories if c.one_line(x))),
        alternates=tuple((code, entry_url(settings, release.uid, code)) for code in others),
        machine=machine,
    )


def collect(settings: Settings, store: Store, langs: list[str]) -> tuple[dict[str, tuple[str, int]], dict]:
    """{lang: (fingerprint, number of entries)} and release id → published target languages, from light key rows
    only (no release text is loaded until a feed is known to need rebuilding)."""
    source = settings.site.source_language
    keys_of = {lang: store.publishable_keys(lang, source, policy(settings, lang), limit=settings.feeds.max_entries)
               for lang in langs}
    targets = settings.site.languages  # a release written in a target language is translated into the source one
    ids = sorted({key[0] for keys in keys_of.values() for key in keys})
    langs_of = store.published_languages(ids, {t: policy(settings, t) for t in targets})
    langs_of = {rid: [code for code in codes if code in targets] for rid, codes in langs_of.items()}
    return {lang: (_fingerprint(settings, lang, keys, langs_of), len(keys)) for lang, keys in keys_of.items()}, langs_of


def load_pairs(settings: Settings, store: Store, lang: str) -> list[tuple[StoredRelease, StoredTranslation | None]]:
    """The full releases and variants of one feed (only for a feed that must be rebuilt)."""
    return store.publishable(lang, settings.site.source_language, policy(settings, lang),
                             limit=settings.feeds.max_entries)


def feed_specs(settings: Settings, lang: str, fingerprint: str, pairs: list,
               langs_of: dict[int, list[str]]) -> dict[str, FeedSpec]:
    """{"rss": FeedSpec, "atom": FeedSpec} for one language; the entries are shared."""
    feeds = settings.feeds
    entries = tuple(_entry(settings, lang, r, t, langs_of.get(r.id, [])) for r, t in pairs)
    updated = max((e.updated for e in entries), default=EPOCH)
    logo = feeds.logo if feeds.logo is None or not feeds.logo.startswith("/") else site_url(settings, feeds.logo)
    specs = {}
    for kind in ("rss", "atom"):
        specs[kind] = FeedSpec(
            lang=lang, kind=kind, id=f"{id_prefix(settings)}feed/{lang}",
            title=c.feed_title(lang, c.one_line(settings.site.name), feeds.titles),
            description=c.feed_description(lang, c.one_line(settings.site.name), feeds.descriptions),
            site_url=settings.site.base_url + "/",
            self_url=site_url(settings, feeds.path(kind, lang)),
            alternates=tuple((code, site_url(settings, feeds.path(kind, code)))
                             for code in settings.site.languages if code != lang),
            updated=updated, logo=logo, generator=GENERATOR, entries=entries, fingerprint=fingerprint,
        )
    return specs
