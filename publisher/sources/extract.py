"""Format-specific extraction: HTML (trafilatura), Markdown (front matter + markdown-it),
dates. Pure functions: text in, fields out; ItemRejected when nothing usable is found."""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import ItemRejected


@dataclass
class Extracted:
    title: str
    paragraphs: list[str]
    published_at: dt.datetime | None = None
    language: str | None = None
    link: str | None = None
    slug: str | None = None
    author: str | None = None
    categories: list[str] = field(default_factory=list)
    embargo_until: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    body_html: str | None = None  # the paragraphs as structured HTML blocks (publisher.structure)


def parse_date(value: Any, default_tz: dt.tzinfo = dt.timezone.utc) -> dt.datetime | None:
    """A datetime, date, ISO 8601 or RFC 2822 string → aware UTC datetime.

    A value without a zone is read in ``default_tz`` (the site's zone: a press officer who
    writes ``date: 2024-05-01 10:30`` means Skopje time)."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, dt.date):
        parsed = dt.datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip()
        try:
            parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            match = re.match(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})([+-]\d{2})(\d{2})$", text)
            if match:
                parsed = dt.datetime.fromisoformat(f"{match[1]}{match[2]}:{match[3]}")
            else:
                try:
                    parsed = email.utils.parsedate_to_datetime(text)
                except (TypeError, ValueError):
                    return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=default_tz)
    try:
        return parsed.astimezone(dt.timezone.utc)
    except (OverflowError, ValueError):  # 0001-01-01 00:30 in Skopje is before year 1 in UTC
        return None


_XML_DECLARATION = re.compile(r"^\ufeff?\s*<\?xml[^>]*\?>")


def strip_xml_declaration(html: str) -> str:
    """XHTML text without its ``<?xml ... encoding=...?>`` line: lxml refuses to parse a str
    that declares an encoding (the bytes were decoded already)."""
    return _XML_DECLARATION.sub("", html, count=1)


_DATE_CONFIG = {"outputformat": "%Y-%m-%dT%H:%M:%S%z", "extensive_search": False, "original_date": True}

# trafilatura's XML body → the HTML publisher.structure reads
_TEI_TAGS = {"list": None, "item": "li", "quote": "blockquote", "code": "pre", "lb": "br", "del": "span",
             "cell": "td", "row": "tr", "table": "table", "graphic": "span"}
_TEI_REND = {"#b": "strong", "#i": "em", "#t": "code", "#u": "span", "#sub": "span", "#sup": "span"}


def _tei_to_html(body) -> str:  # type: ignore[no-untyped-def]
    import lxml.etree

    for element in body.iter():
        tag = element.tag if isinstance(element.tag, str) else None
        if tag == "head":
            rend = element.get("rend") or "h2"
            element.tag = rend if rend in ("h1", "h2", "h3", "h4", "h5", "h6") else "h2"
        elif tag == "list":
            element.tag = "ol" if element.get("rend") == "ol" else "ul"
        elif tag == "hi":
            element.tag = _TEI_REND.get(element.get("rend") or "", "span")
        elif tag == "ref":
            element.tag = "a"
            element.set("href", element.get("target") or "")
        elif tag in _TEI_TAGS:
            element.tag = _TEI_TAGS[tag] or tag
    body.tag = "div"
    return lxml.etree.tostring(body, encoding="unicode", method="html")


def extract_html(html: str, url: str | None = None, default_tz: dt.tzinfo = dt.timezone.utc) -> Extracted:
    """Main text of an article page: title, structured body, date, language, canonical link.

    Page furniture stays out of the body (publisher.sources.furniture): breadcrumb, byline,
    share, date and time elements are removed before trafilatura reads the page, and date,
    byline, breadcrumb and share lines left at the start or the end of the text are dropped.
    A date line (``20.11.2024``, ``20 ноември 2024``…) is the published date when the page's
    metadata gives none."""
    import lxml.etree
    import lxml.html
    import trafilatura

    from ..structure import blocks_to_html, html_to_blocks, plain_paragraphs
    from .furniture import drop_furniture_elements, strip_furniture_blocks
    from .limits import check_html

    check_html(html)  # bounded: size, element count and nesting depth (issue 9)
    language, dates, tree = None, [], None
    try:
        tree = lxml.html.fromstring(strip_xml_declaration(html))
        # the HTML parser keeps XHTML's xml:lang as a plain attribute named "xml:lang"
        language = tree.get("lang") or tree.get("xml:lang") or tree.get("{http://www.w3.org/XML/1998/namespace}lang")
    except (ValueError, lxml.etree.ParserError):
        tree = None
    if tree is not None:
        metadata = trafilatura.extract_metadata(tree, default_url=url, date_config=_DATE_CONFIG, extensive=False)
        dates = drop_furniture_elements(tree, default_tz)
    document = trafilatura.bare_extraction(
        tree if tree is not None else html,
        url=url,
        with_metadata=tree is None,
        include_comments=False,
        include_tables=False,
        include_links=True,
        include_formatting=True,
        date_extraction_params=_DATE_CONFIG,
    )
    if document is None or not (document.text or "").strip() or document.body is None:
        raise ItemRejected("no article text found in the HTML page (is it a listing or an error page?)")
    meta = metadata if tree is not None else document
    title = (meta.title or "").strip()
    blocks = html_to_blocks(_tei_to_html(document.body), base_url=url)
    start, end, line_date = strip_furniture_blocks(plain_paragraphs(blocks), title, default_tz)
    blocks = blocks[start:end]
    published = parse_date(meta.date, default_tz) or (dates[0] if dates else None) or line_date
    return Extracted(
        title=title,
        paragraphs=plain_paragraphs(blocks),
        published_at=published,
        language=language,
        link=meta.url or url,
        author=meta.author,
        categories=[c for c in (meta.categories or []) if c],
        body_html=blocks_to_html(blocks),
    )


def html_fragment(html: str, base_url: str | None = None) -> tuple[list[str], str]:
    """A feed entry's HTML: (plain paragraphs, structured body), without extraction
    heuristics except furniture lines at either end."""
    from ..structure import blocks_to_html, html_to_blocks, plain_paragraphs
    from .furniture import strip_furniture_blocks
    from .limits import check_html

    check_html(html)  # bounded: size, element count and nesting depth (issue 9)
    blocks = html_to_blocks(html, base_url=base_url)
    if not blocks and html.strip() and "<" not in html:
        blocks = html_to_blocks(f"<p>{html}</p>")
    start, end, _ = strip_furniture_blocks(plain_paragraphs(blocks))
    blocks = blocks[start:end]
    return plain_paragraphs(blocks), blocks_to_html(blocks)


def html_to_paragraphs(html: str) -> list[str]:
    """Paragraph texts of an HTML fragment (a feed entry's content)."""
    return html_fragment(html)[0]


def markdown_blocks(content: str) -> tuple[list[str], str]:
    """A Markdown body → (plain paragraphs, structured body). Raw HTML and every link pass
    through the same allow-list as HTML pages (a ``javascript:`` link becomes its text)."""
    from markdown_it import MarkdownIt

    from ..structure import blocks_to_html, html_to_blocks, plain_paragraphs

    md = MarkdownIt("commonmark")
    md.validateLink = lambda url: True  # unsafe links are dropped to their text by the sanitiser
    blocks = html_to_blocks(md.render(content))
    return plain_paragraphs(blocks), blocks_to_html(blocks)


def extract_markdown(text: str, default_tz: dt.tzinfo = dt.timezone.utc) -> Extracted:
    """Markdown with optional YAML front matter (title, date, lang, slug, author, tags).

    Without a front-matter title, the first heading (or first line) is the title.
    """
    from .limits import check_markdown, load_front_matter

    meta, content = load_front_matter(text)  # bounded: no YAML aliases, size and depth caps
    check_markdown(content)
    paragraphs, body_html = markdown_blocks(content)
    title = str(meta.get("title") or "").strip()
    if not title and paragraphs:
        title = paragraphs.pop(0)  # body_html keeps that block: ingest aligns it away
    tags = meta.get("tags") or meta.get("categories") or []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",")]
    elif not isinstance(tags, list):
        tags = [tags]
    return Extracted(
        title=title,
        paragraphs=paragraphs,
        published_at=_meta_date(meta, "date", default_tz),
        language=str(meta["lang"]) if meta.get("lang") else None,
        slug=str(meta["slug"]) if meta.get("slug") else None,
        link=str(meta["link"]) if meta.get("link") else None,
        author=str(meta["author"]) if meta.get("author") else None,
        categories=[str(t) for t in tags if str(t).strip()],
        embargo_until=_meta_date(meta, "embargo", default_tz),
        expires_at=_meta_date(meta, "expires", default_tz),
        body_html=body_html,
    )


def _meta_date(meta: dict, key: str, default_tz: dt.tzinfo) -> dt.datetime | None:
    """A front-matter date that must be a date: a bad one is an error, not silently ignored."""
    value = meta.get(key)
    if value is None or value == "":
        return None
    parsed = parse_date(value, default_tz)
    if parsed is None:
        shown = str(value) if isinstance(value, dt.date) else repr(value)
        raise ItemRejected(f"front matter {key}: {shown} is not a date (or is out of range in the "
                           "site's time zone); use e.g. 2026-12-01 09:00")
    return parsed
