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
    return parsed.astimezone(dt.timezone.utc)


_XML_DECLARATION = re.compile(r"^\ufeff?\s*<\?xml[^>]*\?>")


def strip_xml_declaration(html: str) -> str:
    """XHTML text without its ``<?xml ... encoding=...?>`` line: lxml refuses to parse a str
    that declares an encoding (the bytes were decoded already)."""
    return _XML_DECLARATION.sub("", html, count=1)


def extract_html(html: str, url: str | None = None, default_tz: dt.tzinfo = dt.timezone.utc) -> Extracted:
    """Main text of an article page with trafilatura; title, date, language, canonical link."""
    import lxml.html
    import trafilatura

    document = trafilatura.bare_extraction(
        html,
        url=url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        date_extraction_params={
            "outputformat": "%Y-%m-%dT%H:%M:%S%z",
            "extensive_search": False,
            "original_date": True,
        },
    )
    if document is None or not (document.text or "").strip():
        raise ItemRejected("no article text found in the HTML page (is it a listing or an error page?)")
    language = None
    try:
        root = lxml.html.fromstring(strip_xml_declaration(html))
        # the HTML parser keeps XHTML's xml:lang as a plain attribute named "xml:lang"
        language = root.get("lang") or root.get("xml:lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang")
    except (ValueError, lxml.etree.ParserError):
        pass
    paragraphs = [line for line in document.text.split("\n") if line.strip()]
    return Extracted(
        title=(document.title or "").strip(),
        paragraphs=paragraphs,
        published_at=parse_date(document.date, default_tz),
        language=language,
        link=document.url or url,
        author=document.author,
        categories=[c for c in (document.categories or []) if c],
    )


def html_to_paragraphs(html: str) -> list[str]:
    """Paragraph texts of an HTML fragment (a feed entry's content), without extraction heuristics."""
    import lxml.html

    try:
        root = lxml.html.fragment_fromstring(html, create_parent="div")
    except (ValueError, lxml.etree.ParserError):
        return [html]
    for bad in root.xpath("//script|//style|//noscript"):
        bad.drop_tree()
    for br in root.iter("br"):  # text_content() drops <br>: "ред<br>ред" must not become "редред"
        br.tail = "\n" + (br.tail or "")
    blocks = root.xpath(
        "//p|//h1|//h2|//h3|//h4|//h5|//h6|//li|//blockquote[not(p)]|//pre"
    )
    if not blocks:
        return [p.strip() for p in re.split(r"\n\s*\n", root.text_content()) if p.strip()]
    paragraphs = []
    for block in blocks:
        if block.xpath("ancestor::p|ancestor::li"):
            continue
        text = " ".join(block.text_content().split())
        if text:
            paragraphs.append(text)
    return paragraphs


_MD_BLOCKS = {"paragraph_open", "heading_open", "list_item_open", "blockquote_open"}


def extract_markdown(text: str, default_tz: dt.tzinfo = dt.timezone.utc) -> Extracted:
    """Markdown with optional YAML front matter (title, date, lang, slug, author, tags).

    Without a front-matter title, the first heading (or first line) is the title.
    """
    import frontmatter
    from markdown_it import MarkdownIt

    try:
        post = frontmatter.loads(text)
    except Exception as exc:  # YAML errors come in several types
        raise ItemRejected(f"front matter is not valid YAML: {exc}") from None
    meta = post.metadata
    tokens = MarkdownIt("commonmark").parse(post.content)
    blocks: list[tuple[str, str]] = []  # (kind, text)
    kind = "p"
    for token in tokens:
        if token.type == "heading_open":
            kind = "h"
        elif token.type == "paragraph_open":
            kind = "p" if kind != "h" else kind
        elif token.type == "inline":
            plain = "".join(
                child.content if child.type in ("text", "code_inline") else
                (" " if child.type in ("softbreak", "hardbreak") else "")
                for child in (token.children or [])
            )
            if plain.strip():
                blocks.append((kind, plain.strip()))
            kind = "p"
        elif token.type in ("fence", "code_block") and token.content.strip():
            blocks.append(("p", token.content.strip()))
    title = str(meta.get("title") or "").strip()
    if not title and blocks:
        title = blocks.pop(0)[1]
    tags = meta.get("tags") or meta.get("categories") or []
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",")]
    return Extracted(
        title=title,
        paragraphs=[b[1] for b in blocks],
        published_at=parse_date(meta.get("date"), default_tz),
        language=str(meta["lang"]) if meta.get("lang") else None,
        slug=str(meta["slug"]) if meta.get("slug") else None,
        link=str(meta["link"]) if meta.get("link") else None,
        author=str(meta["author"]) if meta.get("author") else None,
        categories=[str(t) for t in tags if str(t).strip()],
        embargo_until=_meta_date(meta, "embargo", default_tz),
        expires_at=_meta_date(meta, "expires", default_tz),
    )


def _meta_date(meta: dict, key: str, default_tz: dt.tzinfo) -> dt.datetime | None:
    """A front-matter date that must be a date: a bad one is an error, not silently ignored."""
    value = meta.get(key)
    if value is None or value == "":
        return None
    parsed = parse_date(value, default_tz)
    if parsed is None:
        raise ItemRejected(f"front matter {key}: {value!r} is not a date; use e.g. 2026-12-01 09:00")
    return parsed
