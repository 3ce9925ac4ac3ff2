"""The feeds stage: ``build_feeds(settings, store, langs)`` for the CLI and the scheduler."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import jinja2
from lxml import etree

from ..errors import PublisherError
from . import content as c
from .render import read_mark, render
from .spec import collect, feed_specs, load_pairs, site_url
from .write import read_head, write_if_changed

if TYPE_CHECKING:
    from ..settings import Settings
    from ..store import Store

log = logging.getLogger(__name__)
PACKAGED_TEMPLATES = Path(__file__).parent.parent / "templates"


@dataclass
class FeedFile:
    path: str  # relative to [feeds] output_dir, also the URL path
    kind: str  # rss | atom | opml | index
    lang: str | None
    entries: int | None
    written: bool


@dataclass
class FeedsReport:
    files: list[FeedFile] = field(default_factory=list)

    @property
    def written(self) -> list[FeedFile]:
        return [f for f in self.files if f.written]

    def counts(self) -> dict[str, int]:
        return {"written": len(self.written), "unchanged": len(self.files) - len(self.written)}

    def as_json(self) -> dict[str, Any]:
        return {"counts": self.counts(), "files": [asdict(f) for f in self.files]}


def build_feeds(settings: Settings, store: Store, langs: list[str] | None = None) -> FeedsReport:
    """Build the RSS and Atom feeds of ``langs`` (default: every language), the OPML file and the
    index page. A feed whose inputs did not change is neither rendered nor written."""
    known = settings.site.languages
    for lang in langs or []:
        if lang not in known:
            raise PublisherError(f"{lang!r} is not a language of this site; [site] languages: {', '.join(known)}")
    out = settings.feeds.output_dir
    report = FeedsReport()
    collected, langs_of = collect(settings, store, list(langs or known))
    for lang, (fingerprint, count) in collected.items():
        paths = {kind: settings.feeds.path(kind, lang) for kind in ("rss", "atom")}
        fresh = {kind: read_mark(read_head(out / path)) == fingerprint for kind, path in paths.items()}
        pairs = None if all(fresh.values()) else load_pairs(settings, store, lang)
        specs = None if pairs is None else feed_specs(settings, lang, fingerprint, pairs, langs_of)
        for kind, path in paths.items():
            written = False
            if not fresh[kind]:
                assert specs is not None
                written = write_if_changed(out / path, render(specs[kind]))
            report.files.append(FeedFile(path, kind, lang, count, written))
            log.info("feed %s: %d entries, %s", path, count, "written" if written else "unchanged")
    for kind, data in (("opml", render_opml(settings)), ("index", render_index(settings))):
        path = settings.feeds.path(kind)
        report.files.append(FeedFile(path, kind, None, None, write_if_changed(out / path, data)))
    return report


def feed_list(settings: Settings) -> list[dict[str, str]]:
    """Every feed the site emits, in language order: lang, kind, title, url, media type."""
    name = c.one_line(settings.site.name)
    feeds = []
    for lang in settings.site.languages:
        title = c.feed_title(lang, name, settings.feeds.titles)
        for kind, media_type in (("rss", "application/rss+xml"), ("atom", "application/atom+xml")):
            feeds.append({"lang": lang, "kind": kind, "title": title, "media_type": media_type,
                          "url": site_url(settings, settings.feeds.path(kind, lang)),
                          "path": settings.feeds.path(kind, lang)})
    return feeds


def render_opml(settings: Settings) -> bytes:
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = f"{c.one_line(settings.site.name)}: feeds"
    body = etree.SubElement(root, "body")
    for feed in feed_list(settings):
        etree.SubElement(body, "outline", type="rss", text=f"{feed['title']} ({feed['kind'].upper()})",
                         title=feed["title"], xmlUrl=feed["url"], htmlUrl=settings.site.base_url + "/",
                         language=feed["lang"], version="RSS2" if feed["kind"] == "rss" else "ATOM")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def template_env(settings: Settings) -> jinja2.Environment:
    """The site's templates/ folder first, then the packaged defaults."""
    loader = jinja2.FileSystemLoader([str(settings.base_dir / "templates"), str(PACKAGED_TEMPLATES)])
    return jinja2.Environment(loader=loader, autoescape=True, keep_trailing_newline=True)


def render_index(settings: Settings) -> bytes:
    feeds = feed_list(settings)
    name = c.one_line(settings.site.name)
    languages = [
        {"code": lang, "name": c.language_name(lang), "title": c.feed_title(lang, name, settings.feeds.titles),
         "rss": site_url(settings, settings.feeds.path("rss", lang)),
         "atom": site_url(settings, settings.feeds.path("atom", lang))}
        for lang in settings.site.languages
    ]
    page = template_env(settings).get_template("feed/index.html").render(
        site_name=name, source_lang=settings.site.source_language, feeds=feeds, languages=languages,
        opml_url=site_url(settings, settings.feeds.path("opml")),
    )
    return page.encode("utf-8")
