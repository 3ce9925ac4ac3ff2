"""`feed` source: the site's RSS or Atom feed over HTTP(S), parsed with feedparser.

Conditional GET with the ETag and Last-Modified kept in the source's state. The text comes
from the entry (content, else summary) or, when ``full_text`` says so (``link``, or ``auto``
and the entry is shorter than ``min_entry_chars``), from the entry's link, extracted with
trafilatura. A document that is not a feed is quarantined whole; one bad entry is
quarantined alone.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import logging
import xml.sax
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin, urlsplit

from ..errors import ItemRejected, SourceError
from ..models import RawRelease, Rejected
from ..settings import FeedSourceOptions
from . import SourceContext
from .base import SourceBase
from .decode import decode_bytes
from .extract import extract_html, html_fragment
from .limits import parse_feed
from .netpolicy import NetworkPolicy, PolicyRefused

log = logging.getLogger(__name__)

ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"


def _struct_to_datetime(value: Any) -> dt.datetime | None:
    if not value:
        return None
    return dt.datetime.fromtimestamp(calendar.timegm(value), dt.timezone.utc)


def _entry_link(entry: Any, base_url: str) -> str | None:
    """The entry's web page as an absolute http(s) URL, or None.

    feedparser copies an id/guid into ``link`` when the entry has no link of its own
    (``urn:uuid:...``, ``tag:...``, ``iom-2024-001``): such an id is a link only if it is
    already an absolute http(s) URL. A real relative link is resolved against the feed's URL.
    """
    link = entry.get("link")
    if not link:
        return None
    if not (entry.get("guidislink") and link == entry.get("id")):
        link = urljoin(base_url, link.strip())
    return link if urlsplit(link).scheme in ("http", "https") and urlsplit(link).netloc else None


def _entry_json(entry: Any) -> bytes:
    keep = ("id", "link", "title", "published", "updated", "author", "summary", "content", "tags")
    # `k in entry` first: feedparser answers a missing "updated" with "published" (and a
    # DeprecationWarning), which would put a date the feed never gave into the raw copy
    data = {k: entry[k] for k in keep if k in entry and entry[k] is not None}
    return json.dumps(data, ensure_ascii=False, default=str, indent=1).encode("utf-8")


class FeedSource(SourceBase):
    type = "feed"

    def __init__(self, options: FeedSourceOptions, context: SourceContext):
        if context.http is None:
            raise ValueError("the feed source needs an HTTP client in its context")
        self.options = options
        self.context = context
        self.http = context.http
        self.name = options.name
        self.max_bytes = options.max_bytes or context.max_bytes
        self.policy = NetworkPolicy.of(options)  # every fetch of this source goes through it

    def fetch(self, state: dict[str, Any]) -> Iterator[RawRelease | Rejected]:
        url = self.options.url
        try:
            response = self.http.get(
                url, policy=self.policy, etag=state.get("etag"), last_modified=state.get("last_modified"),
                accept=ACCEPT, max_bytes=self.max_bytes,
            )
        except PolicyRefused as exc:  # the feed itself: the whole source fails with the reason
            raise SourceError(f"source {self.name!r}: {exc.reason}") from None
        if response.not_modified:
            return
        headers = {"content-type": f"{response.content_type or 'application/xml'}"
                   + (f"; charset={response.charset}" if response.charset else "")}
        parsed = parse_feed(response.content, response_headers=headers, sanitize_html=True)  # limits.py bounds it
        broken = isinstance(parsed.get("bozo_exception"), xml.sax.SAXException)  # not well-formed XML
        if not parsed.entries and (not parsed.get("version") or broken):
            problem = parsed.get("bozo_exception") or "no RSS or Atom root element"
            yield Rejected(
                self.name, url, response.content,
                f"not a feed: {problem}; check that the source's url points at the RSS/Atom feed",
                response.content_type or "application/octet-stream",
            )
            return  # keep the old ETag so that the next run fetches it again
        feed_language = parsed.feed.get("language")
        for index, entry in enumerate(parsed.entries):
            link = _entry_link(entry, response.url)
            ref = link or entry.get("id") or f"{url}#entry-{index + 1}"
            try:
                yield self._entry(entry, link, feed_language)
            except ItemRejected as exc:
                yield Rejected(self.name, ref, _entry_json(entry), exc.reason, "application/json")
            except SourceError as exc:
                yield Rejected(self.name, ref, _entry_json(entry), f"could not fetch the full text: {exc}",
                               "application/json")
            except Exception as exc:  # one odd entry must not end the feed (a generator can't resume)
                log.exception("feed %s: entry %s", self.name, ref)
                yield Rejected(self.name, ref, _entry_json(entry), f"internal error: {type(exc).__name__}: {exc}",
                               "application/json")
        state["etag"] = response.etag
        state["last_modified"] = response.last_modified

    def _entry(self, entry: Any, link: str | None, feed_language: str | None) -> RawRelease:
        guid = entry.get("id") or link
        content = entry.get("content") or []
        html = content[0].get("value", "") if content else entry.get("summary", "")
        language = (content[0].get("language") if content else None) or feed_language
        paragraphs, body_html = html_fragment(html, link or self.options.url) if html else ([], None)
        raw, content_type = _entry_json(entry), "application/json"
        title = entry.get("title", "")
        published = _struct_to_datetime(entry.get("published_parsed") or entry.get("updated_parsed"))
        mode = self.options.full_text
        short = sum(len(p) for p in paragraphs) < self.options.min_entry_chars
        if link and (mode == "link" or (mode == "auto" and short)):
            # a refused link raises PolicyRefused (an ItemRejected): this entry is quarantined
            page = self.http.get(link, policy=self.policy, accept="text/html,application/xhtml+xml",
                                 max_bytes=self.max_bytes)
            text, _ = decode_bytes(page.content, page.charset)
            extracted = extract_html(text, url=page.url, default_tz=self.context.timezone)
            paragraphs, body_html = extracted.paragraphs, extracted.body_html
            title = title or extracted.title
            published = published or extracted.published_at
            language = language or extracted.language
            raw, content_type = page.content, page.content_type or "text/html"
        if not paragraphs:
            raise ItemRejected("the feed entry has no text (no content, no summary, no link to fetch)")
        return RawRelease(
            source=self.name,
            ref=link or guid or title,
            raw=raw,
            title=title,
            paragraphs=tuple(paragraphs),
            guid=guid,
            link=link,
            published_at=published,
            language=language,
            content_type=content_type,
            author=entry.get("author"),
            categories=tuple(t.get("term") for t in entry.get("tags", []) if t.get("term")),
            body_html=body_html,  # issue 9
        )
