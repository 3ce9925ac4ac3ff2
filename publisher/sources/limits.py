"""Bounds on parsing outside input: YAML front matter, Markdown, HTML and XML feeds.

Every file a person drops and every body a server sends passes one of these checks before a
parser sees it, so that one item can take only a bounded amount of memory and time (the
figures are in docs/operations.md, "Bounds on one item"). A check that fails raises
ItemRejected with a reason that names the limit and what to do; the item is quarantined and
the run goes on.

- YAML front matter: at most MAX_FRONT_MATTER_CHARS characters, MAX_YAML_NODES nodes,
  MAX_YAML_DEPTH levels; anchors and aliases (``&a`` / ``*a``, the "billion laughs" of YAML)
  are refused outright, so nothing is ever expanded.
- Markdown: at most MAX_MARKDOWN_CHARS characters (markdown-it's ``commonmark`` preset
  already caps block nesting at 20).
- HTML: at most MAX_HTML_CHARS characters, MAX_HTML_ELEMENTS elements, MAX_HTML_DEPTH levels
  (libxml2 without ``huge_tree`` silently cuts deeper trees; we say so instead).
- XML feeds: at most MAX_FEED_BYTES, MAX_FEED_MARKUP tags (real and escaped), MAX_XML_DEPTH
  levels, no entity declarations (``<!ENTITY``: entity-expansion bombs). feedparser 6.0 already
  drops a DOCTYPE's entity declarations (keeping only those that stand for one character
  reference) and expat 2.5 has an amplification limit, so the billion laughs did not expand;
  but then the entry's text is the literal ``&lol9;`` and the item goes on as if it were news.
  Refusing here names the problem and does not depend on those versions. The tag count bounds
  feedparser's pure-Python sanitiser, whose time grows with the markup (1.4 MB of nested
  tags took it 23 s).
"""

from __future__ import annotations

import re
import xml.parsers.expat
import xml.sax
from typing import Any

import yaml

from ..errors import ItemRejected

MAX_FRONT_MATTER_CHARS = 64_000
MAX_YAML_NODES = 5_000
MAX_YAML_DEPTH = 32
MAX_MARKDOWN_CHARS = 300_000
MAX_HTML_CHARS = 2_000_000
MAX_HTML_ELEMENTS = 20_000
MAX_HTML_DEPTH = 250  # libxml2 stops at 255 without huge_tree
MAX_FEED_BYTES = 2_000_000
MAX_FEED_MARKUP = 100_000
MAX_XML_DEPTH = 200

ALIAS_REASON = (
    "front matter uses YAML aliases (&/*), which are not allowed; write the values out"
)


# ---------------------------------------------------------------------------- YAML front matter
class BoundedSafeLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses anchors and aliases and bounds node count and depth.

    The check is made while composing, event by event, so a bomb is refused before any
    value is built (with aliases refused, the node count is the size of the result)."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._nodes = 0
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise ItemRejected(ALIAS_REASON)
        self._nodes += 1
        if self._nodes > MAX_YAML_NODES:
            raise ItemRejected(
                f"front matter has over {MAX_YAML_NODES} YAML values; keep it to the release's "
                "fields (title, date, lang, slug, author, tags)"
            )
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise ItemRejected(
                    f"front matter is nested over {MAX_YAML_DEPTH} levels deep; keep it flat"
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def load_yaml(text: str) -> Any:
    """One YAML document with BoundedSafeLoader; ItemRejected says what is wrong."""
    if len(text) > MAX_FRONT_MATTER_CHARS:
        raise ItemRejected(
            f"front matter is {len(text)} characters, over the {MAX_FRONT_MATTER_CHARS}-character "
            "limit; put the text below the closing --- line"
        )
    loader = BoundedSafeLoader(text)
    try:
        return loader.get_single_data()
    except ItemRejected:
        raise
    except RecursionError:
        raise ItemRejected(f"front matter is nested over {MAX_YAML_DEPTH} levels deep; keep it flat") from None
    except Exception as exc:  # YAMLError and the ValueErrors of bad dates/numbers
        raise ItemRejected(f"front matter is not valid YAML: {exc}") from None
    finally:
        loader.dispose()


_FM_BOUNDARY = re.compile(r"^-{3,}\s*$", re.MULTILINE)


def load_front_matter(text: str) -> tuple[dict[str, Any], str]:
    """(metadata, body) of a Markdown file: YAML between ``---`` lines at the very start,
    loaded with load_yaml; without front matter, ({}, the text). Only a mapping is metadata."""
    text = text.strip()
    if not _FM_BOUNDARY.match(text):
        return {}, text
    parts = _FM_BOUNDARY.split(text, 2)
    if len(parts) < 3:
        return {}, text  # an opening --- without a closing one: a rule in the body
    _, front, body = parts
    data = load_yaml(front)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ItemRejected(
            f"front matter is a YAML {type(data).__name__}, not a mapping; write it as lines "
            "of key: value (title: ..., date: ...)"
        )
    return {str(key): value for key, value in data.items()}, body.strip()


# ---------------------------------------------------------------------------- Markdown
def check_markdown(text: str) -> None:
    if len(text) > MAX_MARKDOWN_CHARS:
        raise ItemRejected(
            f"Markdown text is {len(text)} characters, over the {MAX_MARKDOWN_CHARS}-character "
            "limit for one release; split it"
        )


# ---------------------------------------------------------------------------- HTML
def check_html(html: str) -> None:
    """Refuse HTML too big, with too many elements or nested too deep to extract in bounded
    time and memory. Parsing here is libxml2's (C, linear); trafilatura is what is bounded."""
    import lxml.etree
    import lxml.html

    if len(html) > MAX_HTML_CHARS:
        raise ItemRejected(
            f"HTML page is {len(html)} characters, over the {MAX_HTML_CHARS}-character limit "
            "for extraction; is it an article page?"
        )
    if html.count("<") <= MAX_HTML_ELEMENTS and html.count("<") <= MAX_HTML_DEPTH:
        return  # too few tags to break any limit
    parser = lxml.etree.HTMLParser(huge_tree=False, no_network=True, recover=True)
    try:
        root = lxml.html.fromstring(html.encode("utf-8", "surrogatepass"), parser=parser)
    except (ValueError, lxml.etree.ParserError):
        return  # not parseable at all: extraction says "no article text"
    elements = depth = deepest = 0
    for event, _element in lxml.etree.iterwalk(root, events=("start", "end")):
        if event == "start":
            elements += 1
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    if elements > MAX_HTML_ELEMENTS:
        raise ItemRejected(
            f"HTML page has {elements} elements, over the {MAX_HTML_ELEMENTS}-element limit "
            "for extraction; is it an article page?"
        )
    if deepest > MAX_HTML_DEPTH:
        raise ItemRejected(
            f"HTML is nested over {MAX_HTML_DEPTH} elements deep; the page is broken or hostile"
        )


# ---------------------------------------------------------------------------- XML feeds
class FeedRefused(xml.sax.SAXException):
    """Why a feed document was not given to feedparser (a limit), as feedparser reports
    a document that is not well-formed."""

    def __str__(self) -> str:
        return str(self.getMessage())


def _feed_problem(content: bytes) -> str | None:
    if len(content) > MAX_FEED_BYTES:
        return (f"the document is {len(content)} bytes, over the {MAX_FEED_BYTES}-byte limit "
                "for a feed (refused before parsing)")
    markup = content.count(b"<") + content.count(b"&lt;") + content.count(b"&#60;")
    if markup > MAX_FEED_MARKUP:
        return (f"the document has {markup} tags, over the {MAX_FEED_MARKUP}-tag limit for a "
                "feed (refused before parsing)")
    if re.search(rb"<!ENTITY", content[:65536], re.IGNORECASE) or re.search(
        rb"<\x00!\x00E\x00N\x00T\x00I\x00T\x00Y", content[:131072]
    ):
        return ("the document declares XML entities (<!ENTITY>), which are refused "
                "(entity-expansion bombs); a feed needs none")
    parser = xml.parsers.expat.ParserCreate()
    parser.SetParamEntityParsing(xml.parsers.expat.XML_PARAM_ENTITY_PARSING_NEVER)
    depth = [0, 0]

    def start(*_: Any) -> None:
        depth[0] += 1
        if depth[0] > MAX_XML_DEPTH:
            raise _TooDeep

    def end(*_: Any) -> None:
        depth[0] -= 1

    def entity(*_: Any) -> None:
        raise _Entities

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.EntityDeclHandler = entity
    try:
        parser.Parse(content, True)
    except _TooDeep:
        return f"the document is nested over {MAX_XML_DEPTH} elements deep (refused before parsing)"
    except _Entities:
        return ("the document declares XML entities (<!ENTITY>), which are refused "
                "(entity-expansion bombs); a feed needs none")
    except (xml.parsers.expat.ExpatError, ValueError):
        pass  # not well-formed: feedparser's lenient parser reads it (bounded by size and tags)
    return None


class _TooDeep(Exception):
    pass


class _Entities(Exception):
    pass


def parse_feed(content: bytes, **kwargs: Any) -> Any:
    """feedparser.parse within the feed limits. A refused document comes back as feedparser
    reports one that is not XML: no entries, no version, ``bozo_exception`` saying why."""
    import feedparser

    problem = _feed_problem(content)
    if problem is not None:
        return feedparser.FeedParserDict(
            entries=[], feed=feedparser.FeedParserDict(), bozo=1, bozo_exception=FeedRefused(problem),
            version="",
        )
    return feedparser.parse(content, **kwargs)
