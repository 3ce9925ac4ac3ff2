"""Structured release bodies: blocks of sanitised inline HTML beside the plain paragraphs.

A release keeps its plain-text paragraphs in ``body`` (language id, QA, digest leads and every
plain-text view use them) and, when its source had structure (Markdown, HTML), the same
paragraphs as HTML in ``body_html``. The two line up block for block: a paragraph, a heading,
a quotation, a preformatted block or ONE list item is one block and one plain paragraph.

- Inline markup kept: links (http, https, mailto only; any other link becomes its text),
  strong, em, code, line breaks. Everything else becomes its text; scripts and styles vanish.
- Block kinds: ``p``, ``h2``-``h4`` (a body ``h1`` becomes ``h2``; the page has its title),
  ``ul``/``ol`` (one block per item; consecutive items form one list), ``blockquote``, ``pre``.
- Plain rendering: a link is ``text (https://…)`` (just the text when it is the address),
  a list item ``- item`` or ``1. item``.
- Translation: :func:`mask_inline` turns the tags of a block into ``XTAGX<n>`` placeholders
  that the translation service protects like glossary terms; :func:`unmask_inline` puts the
  tags back around the translated words.

Pure functions; lxml and nh3 do the parsing and the final allow-list.
"""

from __future__ import annotations

import difflib
import html as htmlmod
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import nh3

from .cleaning import normalise_line

LINK_SCHEMES = frozenset({"http", "https", "mailto"})
INLINE_TAGS = frozenset({"a", "strong", "em", "code", "br"})
LIST_KINDS = frozenset({"ul", "ol"})
BLOCK_KINDS = ("p", "h2", "h3", "h4", "ul", "ol", "blockquote", "pre")
MAX_INPUT_CHARS = 5_000_000  # a bigger fragment is cut before parsing (the size cap is the source's)

_INLINE_MAP = {"strong": "strong", "b": "strong", "em": "em", "i": "em", "code": "code", "kbd": "code",
               "tt": "code", "samp": "code"}
_HEADINGS = {"h1": "h2", "h2": "h2", "h3": "h3", "h4": "h4", "h5": "h4", "h6": "h4"}
_SKIP = frozenset({"script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "math",
                   "button", "form", "select", "input", "textarea", "head", "title", "meta", "link", "nav"})
_CONTAINERS = frozenset({"div", "section", "article", "main", "header", "footer", "aside", "figure", "body",
                         "html", "center", "details", "dl", "address", "hgroup", "table",
                         "thead", "tbody", "tfoot"})
_BLOCKISH = frozenset({"p", "div", "li", "dt", "dd", "figcaption", "summary", "tr", "td", "th", "caption",
                       "blockquote", "pre", *_HEADINGS, *LIST_KINDS, *_CONTAINERS})
_TAG = re.compile(r"""<(?:[^>"']|"[^"]*"|'[^']*')*>""")
_SPACES = re.compile(r"\s+")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*|(?:<br>\s*){2,}")
TAG_TOKEN = "XTAGX{}"
_TAG_TOKEN = re.compile(r"XTAGX(\d+)")


@dataclass(frozen=True)
class Block:
    kind: str  # one of BLOCK_KINDS
    html: str  # sanitised inline HTML

    @property
    def text(self) -> str:
        """The block's words, links as ``text (url)``, without a list marker."""
        return inline_text(self.html)


# ---------------------------------------------------------------- links and sanitising
def safe_href(href: str | None, base_url: str | None = None) -> str | None:
    """An absolute http(s) or mailto URL, or None (javascript:, data:, relative without base…)."""
    if not href or not href.strip():
        return None
    href = href.strip()
    try:
        url = urljoin(base_url, href) if base_url else href
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in LINK_SCHEMES:
        return None
    if scheme in ("http", "https") and not parts.netloc:
        return None
    if scheme == "mailto" and "@" not in parts.path:
        return None
    return url


def sanitise_inline(fragment: str) -> str:
    """The inline allow-list (a href, strong, em, code, br): a link without an allowed
    address becomes its text; spaces collapse."""
    cleaned = nh3.clean(fragment, tags=set(INLINE_TAGS), attributes={"a": {"href"}}, url_schemes=set(LINK_SCHEMES),
                        link_rel=None, strip_comments=True, clean_content_tags={"script", "style"})
    cleaned = re.sub(r"<a>(.*?)</a>", r"\1", cleaned, flags=re.S)  # nh3 keeps <a> without its href
    cleaned = re.sub(r"<(strong|em|code)>(\s*)</\1>", r"\2", cleaned)
    cleaned = _SPACES.sub(" ", cleaned)
    cleaned = re.sub(r"^(?:\s|<br>)+|(?:\s|<br>)+$", "", cleaned)
    return normalise_line(cleaned)


# ---------------------------------------------------------------- HTML → blocks
def _parse_fragment(fragment: str):  # type: ignore[no-untyped-def]
    import lxml.etree
    import lxml.html

    fragment = fragment[:MAX_INPUT_CHARS]
    if not fragment.strip():
        return None
    try:
        return lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (ValueError, lxml.etree.ParserError):
        return None


def _tag(element) -> str | None:  # type: ignore[no-untyped-def]
    return element.tag.lower() if isinstance(element.tag, str) else None


def _esc(text: str | None) -> str:
    return htmlmod.escape(text or "", quote=False)


class _Walker:
    def __init__(self, base_url: str | None):
        self.base_url = base_url
        self.blocks: list[Block] = []

    # inline content of an element (its text and children, not its tail)
    def inline(self, element, stop_lists: bool = False) -> str:  # type: ignore[no-untyped-def]
        out = [_esc(element.text)]
        for child in element:
            tag = _tag(child)
            if tag is not None and not (stop_lists and tag in LIST_KINDS):
                out.append(self.inline_node(child, tag))
            out.append(_esc(child.tail))
        return "".join(out)

    def inline_node(self, child, tag: str) -> str:  # type: ignore[no-untyped-def]
        if tag in _SKIP:
            return ""
        if tag == "br":
            return "<br>"
        if tag == "img":
            return f" {_esc(child.get('alt'))} " if child.get("alt") else ""
        inner = self.inline(child)
        if tag == "a":
            href = safe_href(child.get("href"), self.base_url)
            if href and inner.strip():
                return f'<a href="{htmlmod.escape(href, quote=True)}">{inner}</a>'
            return inner
        mapped = _INLINE_MAP.get(tag)
        if mapped and inner.strip():
            return f"<{mapped}>{inner}</{mapped}>"
        if tag in _BLOCKISH:
            return f" {inner} "
        return inner

    def add(self, kind: str, fragment: str) -> None:
        inner = sanitise_inline(fragment)
        if inner:
            self.blocks.append(Block(kind, inner))

    # block content
    def walk(self, element, quote: bool = False) -> None:  # type: ignore[no-untyped-def]
        loose = [_esc(element.text)]

        def flush() -> None:
            text = "".join(loose)
            loose.clear()
            # loose text: a blank line or two line breaks end a paragraph
            for part in _PARAGRAPH_BREAK.split(text):
                if part.strip():
                    self.add("blockquote" if quote else "p", part)

        for child in element:
            tag = _tag(child)
            if tag is None or tag in _SKIP:
                loose.append(_esc(child.tail))
                continue
            if tag in _BLOCKISH or tag == "hr":
                flush()
                self.block(child, tag, quote)
            else:
                loose.append(self.inline_node(child, tag))
            loose.append(_esc(child.tail))
        flush()

    def block(self, element, tag: str, quote: bool) -> None:  # type: ignore[no-untyped-def]
        if tag == "hr":
            return
        if tag == "p" or tag in ("figcaption", "dt", "dd", "summary", "caption"):
            self.add("blockquote" if quote else "p", self.inline(element))
        elif tag in _HEADINGS:
            self.add(_HEADINGS[tag], self.inline(element))
        elif tag in LIST_KINDS:
            self.list(element, tag)
        elif tag == "li":
            self.list_item(element, "ul")
        elif tag == "blockquote":
            self.walk(element, quote=True)
        elif tag == "pre":
            self.add("pre", self.inline(element))
        elif tag == "tr":
            cells = [self.inline(cell) for cell in element if _tag(cell) in ("td", "th")]
            self.add("p", " – ".join(c for c in cells if c.strip()))
        else:
            self.walk(element, quote)

    def list(self, element, kind: str) -> None:  # type: ignore[no-untyped-def]
        for child in element:
            tag = _tag(child)
            if tag == "li":
                self.list_item(child, kind)
            elif tag in LIST_KINDS:
                self.list(child, tag)

    def list_item(self, element, kind: str) -> None:  # type: ignore[no-untyped-def]
        self.add(kind, self.inline(element, stop_lists=True))
        for child in element:  # a nested list: its items follow, flattened
            tag = _tag(child)
            if tag in LIST_KINDS:
                self.list(child, tag)


def html_to_blocks(fragment: str, base_url: str | None = None) -> list[Block]:
    """Blocks of an HTML fragment (a feed entry, rendered Markdown, a stored ``body_html``)."""
    root = _parse_fragment(fragment)
    if root is None:
        return []
    walker = _Walker(base_url)
    walker.walk(root)
    return walker.blocks


def blocks_to_html(blocks: Iterable[Block], lang: str | None = None, heading_shift: int = 0) -> str:
    """Serialise blocks (consecutive list items in one list). ``lang`` goes on every top-level
    element; ``heading_shift`` lowers headings (an e-mail's item titles are h2 already)."""
    attr = f' lang="{htmlmod.escape(lang, quote=True)}"' if lang else ""
    out: list[str] = []
    open_list: str | None = None
    for block in blocks:
        if block.kind in LIST_KINDS:
            if open_list != block.kind:
                if open_list:
                    out.append(f"</{open_list}>")
                out.append(f"<{block.kind}{attr}>")
                open_list = block.kind
            out.append(f"<li>{block.html}</li>")
            continue
        if open_list:
            out.append(f"</{open_list}>")
            open_list = None
        kind = block.kind
        if kind in ("h2", "h3", "h4") and heading_shift:
            kind = f"h{min(6, int(kind[1]) + heading_shift)}"
        out.append(f"<{kind}{attr}>{block.html}</{kind}>")
    if open_list:
        out.append(f"</{open_list}>")
    return "".join(out)


# ---------------------------------------------------------------- plain text
def _same_address(text: str, href: str) -> bool:
    def bare(value: str) -> str:
        value = value.strip().lower()
        value = re.sub(r"^(?:https?://|mailto:)", "", value)
        return value.removeprefix("www.").rstrip("/")

    return bare(text) == bare(href)


def inline_text(fragment: str) -> str:
    """Inline HTML → readable text: ``text (https://…)`` for links, spaces for line breaks."""
    if "<" not in fragment:
        return normalise_line(htmlmod.unescape(fragment))
    root = _parse_fragment(fragment)
    if root is None:
        return ""

    def text_of(element) -> str:  # type: ignore[no-untyped-def]
        out = [element.text or ""]
        for child in element:
            tag = _tag(child)
            if tag == "br":
                out.append(" ")
            elif tag == "a":
                words = text_of(child)
                href = child.get("href") or ""
                if href and words.strip() and not _same_address(words, href):
                    shown = href[len("mailto:"):] if href.lower().startswith("mailto:") else href
                    out.append(f"{words} ({shown})")
                else:
                    out.append(words)
            elif tag is not None:
                out.append(text_of(child))
            out.append(child.tail or "")
        return "".join(out)

    return normalise_line(text_of(root))


def plain_paragraphs(blocks: Sequence[Block]) -> list[str]:
    """One plain paragraph per block: ``- item`` / ``1. item`` for list items."""
    out: list[str] = []
    number, previous = 0, None
    for block in blocks:
        text = block.text
        if block.kind == "ol":
            number = number + 1 if previous == "ol" else 1
            text = f"{number}. {text}"
        elif block.kind == "ul":
            text = f"- {text}"
        previous = block.kind
        out.append(text)
    return out


def plain_blocks(paragraphs: Iterable[str]) -> list[Block]:
    return [_plain_block(p) for p in paragraphs if p.strip()]


def _plain_block(paragraph: str) -> Block:
    return Block("p", _esc(paragraph.strip()).replace("\n", "<br>"))


def lead_index(blocks: Sequence[Block]) -> int:
    """The block a digest shows as the lead: the first that is not a heading."""
    return next((i for i, b in enumerate(blocks) if b.kind not in ("h2", "h3", "h4")), 0)


def _key(text: str) -> str:
    return re.sub(r"[\W_]+", " ", normalise_line(text).casefold()).strip()


def align(blocks: Sequence[Block], paragraphs: Sequence[str]) -> list[Block]:
    """Exactly one block per paragraph: the structured block whose text is that paragraph,
    else the paragraph as plain ``<p>`` (cleaning removed or changed something there, or
    staff edited the text). Blocks cleaning dropped (title repeats, furniture) are dropped."""
    plain = plain_paragraphs(blocks)
    matcher = difflib.SequenceMatcher(None, [_key(p) for p in plain], [_key(p) for p in paragraphs], autojunk=False)
    out: list[Block] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.extend(blocks[i1:i2])
        elif op in ("replace", "insert"):
            out.extend(_plain_block(p) for p in paragraphs[j1:j2])
    return out


def is_structured(blocks: Sequence[Block]) -> bool:
    """Anything a plain ``<p>`` per paragraph would lose?"""
    return any(b.kind != "p" or "<" in b.html for b in blocks)


def structured_body(body_html: str | None, paragraphs: Sequence[str]) -> str | None:
    """The ``body_html`` to store for cleaned ``paragraphs``: aligned with them, or None when
    there is no structure to keep."""
    if not body_html:
        return None
    aligned = align(html_to_blocks(body_html), paragraphs)
    return blocks_to_html(aligned) if is_structured(aligned) else None


def body_blocks(paragraphs: Sequence[str], body_html: str | None) -> list[Block]:
    """What every HTML view renders: the stored structure aligned with the current plain
    paragraphs (so a staff edit of the text is never contradicted by stale markup)."""
    paragraphs = [p for p in paragraphs if p.strip()]
    if not body_html:
        return plain_blocks(paragraphs)
    return align(html_to_blocks(body_html), paragraphs)


# ---------------------------------------------------------------- translation placeholders
def mask_inline(fragment: str) -> tuple[str, list[str]]:
    """Inline HTML → (plain text with ``XTAGX<n>`` for tag n, the tags). Text is unescaped;
    each token stands apart from the words so that engines see whole words."""
    tags: list[str] = []
    out: list[str] = []
    last = 0
    for match in _TAG.finditer(fragment):
        out.append(htmlmod.unescape(fragment[last : match.start()]))
        tags.append(match.group(0))
        out.append(f" {TAG_TOKEN.format(len(tags))} ")
        last = match.end()
    out.append(htmlmod.unescape(fragment[last:]))
    text = _SPACES.sub(" ", "".join(out)).strip()
    return re.sub(r"(XTAGX\d+) (?=[,.;:!?…)\]»“”])", r"\1", text), tags


_OPEN = r"<(?:a|strong|em|code)\b[^>]*>"
_CLOSE = r"</(?:a|strong|em|code)>"


def unmask_inline(text: str, tags: Sequence[str]) -> tuple[str, list[str]]:
    """Translated text with ``XTAGX<n>`` tokens → sanitised inline HTML. Returns (html,
    problems): tokens lost or invented by the engine."""
    problems: list[str] = []
    seen: set[int] = set()
    out: list[str] = []
    last = 0
    for match in _TAG_TOKEN.finditer(text):
        out.append(_esc(text[last : match.start()]))
        index = int(match.group(1))
        if 1 <= index <= len(tags):
            seen.add(index)
            out.append(tags[index - 1])
        else:
            problems.append(f"the engine invented a markup token {match.group(0)!r}")
        last = match.end()
    out.append(_esc(text[last:]))
    for index, tag in enumerate(tags, start=1):
        if index not in seen:
            problems.append(f"markup {tag!r} was lost by the engine")
    joined = "".join(out)
    # the tokens stood apart from the words: put the spaces back outside the tags
    joined = re.sub(rf"({_OPEN})\s+", r" \1", joined)
    joined = re.sub(rf"\s+({_CLOSE})", r"\1 ", joined)
    joined = re.sub(rf"({_CLOSE})\s+(?=[,.;:!?…)\]»“”'\"])", r"\1", joined)
    joined = re.sub(r"(?<=[(\[«„])\s+(?=<)", "", joined)
    return sanitise_inline(joined), problems


# ---------------------------------------------------------------- translation of a body
def translation_blocks(paragraphs: Sequence[str], body_html: str | None) -> list[Block] | None:
    """The blocks to translate with their markup, or None (translate the plain paragraphs)."""
    if not body_html:
        return None
    blocks = body_blocks(paragraphs, body_html)
    return blocks if len(blocks) == len(paragraphs) and is_structured(blocks) else None


def rebuild(blocks: Sequence[Block], fragments: Sequence[str | None]) -> tuple[list[str], str]:
    """Translated inline HTML per block → (plain paragraphs, ``body_html``) of the translation."""
    translated = [Block(b.kind, f if f is not None else b.html) for b, f in zip(blocks, fragments)]
    return plain_paragraphs(translated), blocks_to_html(translated)
