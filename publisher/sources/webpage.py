"""`webpage` source: a listing page whose article links are found by a CSS selector; each
article is fetched (conditional GET, remembered per URL) and its main text extracted."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

import lxml.html

from ..errors import ItemRejected, SourceError
from ..models import RawRelease, Rejected, Unchanged
from ..settings import WebpageSourceOptions
from . import SourceContext
from .base import SourceBase
from .decode import decode_bytes
from .extract import extract_html, strip_xml_declaration
from .limits import check_html
from .netpolicy import NetworkPolicy, PolicyRefused

HTML = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"


class WebpageSource(SourceBase):
    type = "webpage"

    def __init__(self, options: WebpageSourceOptions, context: SourceContext):
        if context.http is None:
            raise ValueError("the webpage source needs an HTTP client in its context")
        self.options = options
        self.context = context
        self.http = context.http
        self.name = options.name
        self.max_bytes = options.max_bytes or context.max_bytes
        self.policy = NetworkPolicy.of(options)  # every fetch of this source goes through it

    def article_links(self, html: str, base_url: str) -> list[str]:
        try:
            check_html(html)  # the listing page is bounded like every page we parse
        except ItemRejected as exc:
            raise SourceError(f"source {self.name!r}: listing page {self.options.url}: {exc.reason}") from None
        try:
            root = lxml.html.fromstring(strip_xml_declaration(html))
        except (ValueError, lxml.etree.ParserError) as exc:
            raise SourceError(
                f"source {self.name!r}: listing page {self.options.url} has no HTML to read ({exc})"
            ) from None
        links: list[str] = []
        # the configured host, and the one the listing was finally served from (a redirect
        # to www. or to another domain must not make every article "another host")
        hosts = {urlsplit(self.options.url).netloc.lower(), urlsplit(base_url).netloc.lower()}
        for element in root.cssselect(self.options.link_selector):
            anchor = element if element.tag == "a" else next(iter(element.iter("a")), None)
            href = anchor.get("href") if anchor is not None else None
            if not href or href.startswith(("mailto:", "javascript:", "tel:")):
                continue
            url = urldefrag(urljoin(base_url, href.strip()))[0]
            if urlsplit(url).scheme not in ("http", "https"):
                continue
            if self.options.same_host_only and urlsplit(url).netloc.lower() not in hosts \
                    and not self.policy.permits(url):  # a host in allowed_hosts is one of the source's own
                continue
            if url not in links:
                links.append(url)
        return links[: self.options.max_articles]

    def fetch(self, state: dict[str, Any]) -> Iterator[RawRelease | Rejected | Unchanged]:
        try:
            listing = self.http.get(self.options.url, policy=self.policy, accept=HTML, max_bytes=self.max_bytes)
        except PolicyRefused as exc:  # the listing itself: the whole source fails with the reason
            raise SourceError(f"source {self.name!r}: {exc.reason}") from None
        try:
            text, _ = decode_bytes(listing.content, listing.charset)
        except ItemRejected as exc:
            raise SourceError(f"source {self.name!r}: listing page {self.options.url}: {exc.reason}") from None
        links = self.article_links(text, listing.url)
        if not links:
            raise SourceError(
                f"source {self.name!r}: no article links on {self.options.url} match the selector "
                f"{self.options.link_selector!r}; check link_selector against the page"
            )
        articles: dict[str, Any] = state.setdefault("articles", {})
        for link in links:
            known = articles.get(link, {})
            try:
                page = self.http.get(link, policy=self.policy, etag=known.get("etag"),
                                     last_modified=known.get("last_modified"), accept=HTML, max_bytes=self.max_bytes)
            except SourceError as exc:
                yield Rejected(self.name, link, b"", str(exc), "text/html")
                continue
            except ItemRejected as exc:
                yield Rejected(self.name, link, b"", exc.reason, "text/html")
                continue
            if page.not_modified:
                yield Unchanged(self.name, link)
                continue
            try:
                html, _ = decode_bytes(page.content, page.charset)
                extracted = extract_html(html, url=page.url, default_tz=self.context.timezone)
            except ItemRejected as exc:
                yield Rejected(self.name, link, page.content, exc.reason, page.content_type or "text/html")
                continue
            canonical = extracted.link if extracted.link and urlsplit(extracted.link).netloc else page.url
            articles[link] = {"etag": page.etag, "last_modified": page.last_modified}
            yield RawRelease(
                source=self.name,
                ref=link,
                raw=page.content,
                title=extracted.title,
                paragraphs=tuple(extracted.paragraphs),
                guid=None,
                link=canonical,
                published_at=extracted.published_at,
                language=extracted.language,
                content_type=page.content_type or "text/html",
                author=extracted.author,
                categories=tuple(extracted.categories),
                body_html=extracted.body_html,  # issue 9
            )
