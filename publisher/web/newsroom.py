"""Discoverability of the public newsroom (issue 13): the feed and hreflang links every public
page announces, Open Graph tags on release pages, the newest releases on ``/{lang}/``,
``/sitemap.xml`` and ``/robots.txt``.

Which release is published in which language is the store's one rule
(``Store.publishable_keys`` / ``publishable`` / ``published_languages``, with the policies of
``feeds.spec.policy``): held, embargoed and untranslated versions are left out here exactly as
they are in the feeds and on the release pages."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from lxml import etree
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ..feeds import content as c
from ..feeds.spec import policy
from ..models import StoredRelease, StoredTranslation, TranslationStatus

if TYPE_CHECKING:
    from ..settings import Settings
    from ..store import Store

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
XHTML_NS = "http://www.w3.org/1999/xhtml"
MAX_SITEMAP_URLS = 50_000  # sitemaps.org: at most 50,000 URLs in one file
HOME_RELEASES = 10
LEAD_CHARS = 280
OG_LOCALES = {"mk": "mk_MK", "en": "en_US", "sq": "sq_AL"}
CACHE = {"Cache-Control": "public, max-age=300"}


# ---------------------------------------------------------------- head links
def og_locale(code: str) -> str:
    """Open Graph locale (language_TERRITORY) of a site language."""
    if code in OG_LOCALES:
        return OG_LOCALES[code]
    from babel import Locale, UnknownLocaleError

    try:
        territory = Locale.parse(code).territory or code.upper()
    except (ValueError, UnknownLocaleError):
        territory = code.upper()
    return f"{code}_{territory}"


def feed_links(settings: Settings, lang: str) -> list[dict[str, str]]:
    """The ``<link rel="alternate">`` of this language's RSS and Atom feeds (absolute URLs)."""
    base, feeds = settings.site.base_url, settings.feeds
    title = c.feed_title(lang, c.one_line(settings.site.name), feeds.titles)
    return [{"type": f"application/{kind}+xml", "href": f"{base}/{feeds.path(kind, lang)}",
             "title": f"{title} ({'RSS' if kind == 'rss' else 'Atom'})"} for kind in ("rss", "atom")]


def home_alternates(settings: Settings) -> list[dict[str, str]]:
    """hreflang links between the language home pages; x-default is ``/`` (it picks by Accept-Language)."""
    base = settings.site.base_url
    return [*({"lang": code, "url": f"{base}/{code}/"} for code in settings.site.languages),
            {"lang": "x-default", "url": f"{base}/"}]


def open_graph(settings: Settings, release: StoredRelease, title: str, paragraphs: list[str],
               structured: str | None, text_lang: str, url: str, available: list[str]) -> list[tuple[str, str]]:
    """(property, content) pairs for a release page: og:* and article:published_time."""
    lead = c.shorten(c.one_line(c.lead_paragraph(paragraphs, structured)), LEAD_CHARS) if paragraphs else ""
    tags = [("og:type", "article"), ("og:site_name", c.one_line(settings.site.name)), ("og:title", c.one_line(title)),
            ("og:description", lead), ("og:url", url), ("og:locale", og_locale(text_lang))]
    tags += [("og:locale:alternate", og_locale(code)) for code in available if code != text_lang]
    tags.append(("article:published_time", release.published_at.astimezone(dt.UTC).isoformat()))
    if release.revision > 1:  # a corrected release: when its text last changed
        modified = max(release.updated_at, release.published_at)
        tags.append(("article:modified_time", modified.astimezone(dt.UTC).isoformat()))
    return tags


def is_machine(variant: StoredTranslation | None) -> bool:
    """The rule of the release page and the feeds: a machine variant carries the label (reviewed too)."""
    return variant is not None and variant.machine and variant.status in (TranslationStatus.MACHINE,
                                                                          TranslationStatus.REVIEWED)


# ---------------------------------------------------------------- home page list
def home_releases(settings: Settings, store: Store, lang: str, limit: int = HOME_RELEASES) -> list[dict[str, Any]]:
    """The newest releases published in ``lang``: title, local date, lead, machine label."""
    return [release_item(settings, lang, release, variant) for release, variant in
            store.publishable(lang, settings.site.source_language, policy(settings, lang), limit=limit)]


def release_item(settings: Settings, lang: str, release: StoredRelease,
                 variant: StoredTranslation | None) -> dict[str, Any]:
    """One release in a list of ``lang`` (home page, archive): what is shown in that language
    (the original, or its published ``lang`` variant), local date, lead, machine label."""
    from babel.dates import format_date

    from ..translate.pivot import via

    if variant is None:
        title, paragraphs, structured = release.title, release.paragraphs, release.body_html
    else:
        title, paragraphs, structured = variant.title, variant.paragraphs, variant.body_html
    local = release.published_at.astimezone(settings.site.zone)
    lead = c.shorten(c.one_line(c.lead_paragraph(paragraphs, structured)), LEAD_CHARS) if paragraphs else ""
    label = c.machine_note(lang, release.language, settings.feeds.machine_notes, via=via(variant.engine)) \
        if is_machine(variant) else ""
    return {"title": c.one_line(title) or release.uid, "url": f"/releases/{release.uid}/{lang}",
            "date": format_date(local.date(), "long", locale=lang), "datetime": local.isoformat(),
            "lead": lead, "machine_label": label}


# ---------------------------------------------------------------- sitemap, robots
def published_pages(settings: Settings, store: Store,
                    now: dt.datetime | None = None) -> dict[str, dict[str, dt.datetime]]:
    """release uid → {language: last modified} of every published release page (newest first)."""
    langs = settings.site.languages
    per_lang = max(1, MAX_SITEMAP_URLS // max(1, len(langs)))
    pages: dict[str, dict[str, dt.datetime]] = {}
    order: dict[str, dt.datetime] = {}
    for lang in langs:
        for key in store.publishable_keys(lang, settings.site.source_language, policy(settings, lang),
                                          limit=per_lang, now=now):
            _, uid, _, updated, published, _, _, own, _, _, variant_updated = key
            moments = [updated, published] + ([variant_updated] if own != lang and variant_updated else [])
            pages.setdefault(uid, {})[lang] = max(moments)
            order[uid] = published
    return {uid: pages[uid] for uid in sorted(pages, key=lambda u: order[u], reverse=True)}


def release_url(settings: Settings, uid: str, lang: str) -> str:
    return f"{settings.site.base_url}/releases/{uid}/{lang}"


def sitemap_xml(settings: Settings, pages: dict[str, dict[str, dt.datetime]]) -> bytes:
    """sitemaps.org urlset with one ``xhtml:link rel="alternate" hreflang`` per language version."""
    urlset = etree.Element(f"{{{SITEMAP_NS}}}urlset", nsmap={None: SITEMAP_NS, "xhtml": XHTML_NS})
    for uid, versions in pages.items():
        for lang, modified in versions.items():
            url = etree.SubElement(urlset, f"{{{SITEMAP_NS}}}url")
            etree.SubElement(url, f"{{{SITEMAP_NS}}}loc").text = release_url(settings, uid, lang)
            etree.SubElement(url, f"{{{SITEMAP_NS}}}lastmod").text = \
                modified.astimezone(dt.UTC).isoformat(timespec="seconds")
            for other in versions:
                etree.SubElement(url, f"{{{XHTML_NS}}}link", rel="alternate", hreflang=other,
                                 href=release_url(settings, uid, other))
    return etree.tostring(urlset, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def robots_txt(settings: Settings) -> str:
    """Disallow lines first: parsers of the original convention take the first matching line
    (Python's robotparser), RFC 9309 ones the longest; in this order both read it the same."""
    return ("User-agent: *\nDisallow: /staff/\nDisallow: /api/\nAllow: /\n\n"
            f"Sitemap: {settings.site.base_url}/sitemap.xml\n")


class Newsroom:
    def __init__(self, ctx: Any):
        self.app = ctx.app

    def routes(self) -> list[Route]:
        return [Route("/sitemap.xml", self.sitemap, methods=["GET", "HEAD"]),
                Route("/robots.txt", self.robots, methods=["GET", "HEAD"])]

    async def sitemap(self, request: Request) -> Response:
        settings = self.app.settings
        pages = await run_in_threadpool(published_pages, settings, self.app.store)
        return Response(sitemap_xml(settings, pages), media_type="application/xml; charset=utf-8", headers=CACHE)

    async def robots(self, request: Request) -> Response:
        return PlainTextResponse(robots_txt(self.app.settings), headers=CACHE)
