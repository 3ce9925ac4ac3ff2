"""FeedSpec → RSS 2.0 / Atom 1.0 bytes with feedgen.

feedgen quirks this module works around (feedgen 1.0):
- ``FeedGenerator()`` and ``FeedEntry()`` stamp ``updated``/``lastBuildDate`` with *now*: every
  build would differ. We always set them from the data.
- ``add_entry`` prepends by default (the feed comes out reversed): we pass ``order="append"``.
- RSS ``<channel><link>`` is the *last* feed link added, and an item's RSS ``<link>`` the *last*
  ``rel="alternate"`` link: the site link and the entry's own-language link are added last.
- RSS ``<author>`` needs an e-mail address (a name alone is dropped): the author goes into
  ``dc:creator`` (feedgen's dc extension) in RSS and ``<author><name>`` in Atom.
- Atom entry ``<link>`` elements lose rel/type/hreflang (a loop variable is shadowed in
  ``FeedEntry.atom_entry``; lkiesow/python-feedgen#135, open): Atom entry links are written by
  our own entry extension (``EntryExtras``), and ``FeedEntry.link`` is used for RSS only.
- Text must be XML-safe before it reaches feedgen (lxml raises on control characters):
  ``content.xml_text`` has already removed them.
"""

from __future__ import annotations

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from lxml import etree

from .. import __version__
from .spec import FeedSpec

MEDIA_TYPES = {"rss": "application/rss+xml", "atom": "application/atom+xml"}
MARK = b"<!-- publisher:build "


class EntryExtras(BaseEntryExtension):
    """Writes what feedgen gets wrong or makes slow: Atom entry links with all their attributes
    (see the module docstring) and categories in both formats (feedgen validates every category
    dict through ``ensure_format``, a third of its per-entry cost)."""

    def __init__(self) -> None:
        self.links: list[dict[str, str]] = []
        self.categories: tuple[str, ...] = ()

    def extend_atom(self, entry: etree._Element) -> etree._Element:
        for attributes in self.links:
            etree.SubElement(entry, "link", attributes)
        for term in self.categories:
            etree.SubElement(entry, "category", term=term)
        return entry

    def extend_rss(self, item: etree._Element) -> etree._Element:
        for term in self.categories:
            etree.SubElement(item, "category").text = term
        return item


def render(spec: FeedSpec) -> bytes:
    fg = FeedGenerator()
    fg.id(spec.id)
    fg.title(spec.title)
    fg.description(spec.description)  # RSS <description>, Atom <subtitle>
    fg.language(spec.lang)  # RSS <language> and Atom xml:lang
    fg.link(href=spec.self_url, rel="self", type=MEDIA_TYPES[spec.kind])
    if spec.kind == "atom":
        for lang, url in spec.alternates:
            fg.link(href=url, rel="alternate", type=MEDIA_TYPES["atom"], hreflang=lang)
    fg.link(href=spec.site_url, rel="alternate", type="text/html")  # last: RSS <link>
    fg.updated(spec.updated)
    fg.lastBuildDate(spec.updated)
    fg.generator(spec.generator, version=__version__)
    if spec.logo:
        fg.logo(spec.logo)  # Atom <logo>
        fg.image(url=spec.logo, title=spec.title, link=spec.site_url)  # RSS <image>
    rss = spec.kind == "rss"
    if rss:
        fg.load_extension("dc", atom=False, rss=True)
    fg.register_extension("extras", BaseExtension, EntryExtras, atom=True, rss=True)
    for e in spec.entries:
        fe = fg.add_entry(order="append")
        fe.id(e.id)  # RSS: <guid isPermaLink="false">
        fe.title(e.title)
        if rss:
            fe.link(href=e.link, rel="alternate", type="text/html")
        else:  # own language last: feedparser, newsboat and rss2email take the last alternate link
            fe.extras.links = [{"rel": "alternate", "type": "text/html", "hreflang": lang, "href": url}
                              for lang, url in (*e.alternates, (spec.lang, e.link))]
        fe.summary(e.summary_html, type="html")  # RSS <description>
        fe.content(e.content_html, type="html")  # RSS <content:encoded>
        fe.published(e.published)  # RSS <pubDate>
        fe.updated(e.updated)
        if rss:
            fe.dc.dc_creator(e.author)
        else:
            fe.author(name=e.author)
        fe.extras.categories = e.categories
    data = fg.rss_str(pretty=True) if rss else fg.atom_str(pretty=True)
    return with_mark(data, spec.fingerprint)


def with_mark(data: bytes, fingerprint: str) -> bytes:
    """Put the build fingerprint in a comment right after the XML declaration, so a rebuild can
    tell from the file's first bytes that nothing changed (and file and mark are one write)."""
    head, sep, rest = data.partition(b"\n")
    return head + sep + MARK + fingerprint.encode() + b" -->\n" + rest


def read_mark(head: bytes) -> str | None:
    start = head.find(MARK)
    if start < 0:
        return None
    end = head.find(b" -->", start)
    return head[start + len(MARK): end].decode("ascii", "replace") if end > 0 else None
