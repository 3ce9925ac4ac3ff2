"""Pure text work for feeds: XML-safe text, short titles, sanitised HTML, words per language."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit

import nh3

# Characters XML 1.0 forbids (C0 controls but tab/LF/CR, lone surrogates, U+FFFE/U+FFFF).
# lxml refuses them ("All strings must be XML compatible"), readers choke on them.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SPACES = re.compile(r"\s+")

# Feed-level words and the machine-translation note, in the feed's own language.
LANGUAGE_NAMES = {  # endonyms, for the index page and OPML
    "mk": "Македонски", "en": "English", "sq": "Shqip",
}
_NAMES_IN = {  # {in this language: {language: its name, as the note's sentence needs it}}
    "en": {"mk": "Macedonian", "en": "English", "sq": "Albanian"},
    "sq": {"mk": "maqedonishtja", "en": "anglishtja", "sq": "shqipja"},
    "mk": {"mk": "македонски", "en": "англиски", "sq": "албански"},
}
_NOTE = {
    "en": "Machine translation from {original}.",
    "sq": "Përkthim automatik nga {original}.",
    "mk": "Машински превод од {original}.",
}
_ORIGINAL_LINK = {"en": "Original", "sq": "Origjinali", "mk": "Оригинал"}
_TITLE = {
    "en": "{site}: press releases in English",
    "sq": "{site}: njoftime për shtyp në shqip",
    "mk": "{site}: соопштенија за медиуми на македонски",
}
_DESCRIPTION = {
    "en": "Press releases from {site}, in English.",
    "sq": "Njoftime për shtyp nga {site}, në shqip.",
    "mk": "Соопштенија за медиуми од {site}, на македонски јазик.",
}


def language_name(lang: str) -> str:
    return LANGUAGE_NAMES.get(lang, lang)


_VIA = {  # a pivot route (publisher/translate/pivot.py): "… via English."
    "en": "Machine translation from {original} via {via}.",
    "sq": "Përkthim automatik nga {original} përmes {via}.",
    "mk": "Машински превод од {original} преку {via}.",
}
_VIA_NAMES = {"en": {"en": "English"}, "sq": {"en": "anglishtes"}, "mk": {"en": "англиски"}}


def machine_note(lang: str, original: str, custom: dict[str, str] | None = None, via: str | None = None) -> str:
    """'Machine translation from Macedonian.' in ``lang`` (English for a language we lack);
    with ``via`` (a pivot route's intermediate language) '… from Macedonian via English.'."""
    if custom and lang in custom and via is None:
        return custom[lang].format(original=_NAMES_IN.get(lang, {}).get(original, language_name(original)))
    if lang not in _NOTE:
        lang = "en"
    name = _NAMES_IN[lang].get(original, original)
    if via:
        return _VIA[lang].format(original=name, via=_VIA_NAMES[lang].get(via, via))
    return _NOTE[lang].format(original=name)


def original_label(lang: str) -> str:
    return _ORIGINAL_LINK.get(lang, _ORIGINAL_LINK["en"])


def feed_title(lang: str, site: str, custom: dict[str, str]) -> str:
    return xml_text((custom.get(lang) or _TITLE.get(lang) or _TITLE["en"].replace(" in English", f" ({lang})"))
                    .format(site=site))


def feed_description(lang: str, site: str, custom: dict[str, str]) -> str:
    return xml_text((custom.get(lang) or _DESCRIPTION.get(lang) or _DESCRIPTION["en"].replace(", in English", ""))
                    .format(site=site))


def xml_text(value: str | None) -> str:
    """Text with the characters XML cannot carry removed."""
    return _XML_ILLEGAL.sub("", value or "")


def one_line(value: str | None) -> str:
    return _SPACES.sub(" ", xml_text(value)).strip()


def shorten(text: str, limit: int) -> str:
    """At most ``limit`` characters, cut at a word boundary, with an ellipsis when cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—") + "…"


# ---------------------------------------------------------------- HTML
_TAGS = {"p", "br", "a", "strong", "em", "b", "i", "ul", "ol", "li", "blockquote", "h2", "h3", "h4", "code", "pre",
         "img", "figure", "figcaption", "table", "thead", "tbody", "tr", "th", "td", "abbr"}
_ATTRIBUTES = {"a": {"href", "title", "hreflang", "lang"}, "img": {"src", "alt", "width", "height"},
               "abbr": {"title"}, "p": {"lang"}, "th": {"colspan", "rowspan"}, "td": {"colspan", "rowspan"}}


def sanitize_html(fragment: str, site_url: str) -> str:
    """Allow-listed HTML: no scripts, styles, event handlers, forms or iframes; links only
    http(s)/mailto; images only from the site itself (remote ones are tracking risks and
    1×1 pixels), so a reader opening the entry calls nobody else."""
    site_host = urlsplit(site_url).netloc

    def keep(element: str, attribute: str, value: str) -> str | None:
        if element == "img" and attribute == "src":
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https", "") or (parts.netloc and parts.netloc != site_host):
                return None
        if element == "img" and attribute in ("width", "height") and value.strip() in ("0", "1", "1px", "0px"):
            return None
        return value

    cleaned = nh3.clean(
        xml_text(fragment), tags=_TAGS, attributes=_ATTRIBUTES, url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer", attribute_filter=keep, strip_comments=True,
    )
    # an <img> that lost its src (remote, tracking) is dropped altogether
    return re.sub(r"<img(?![^>]*\ssrc=)[^>]*>", "", cleaned)


def paragraphs_html(paragraphs: list[str]) -> str:
    """Plain-text paragraphs → <p> elements (text escaped; line breaks kept)."""
    out = []
    for paragraph in paragraphs:
        text = xml_text(paragraph).strip()
        if text:
            out.append("<p>" + html.escape(text, quote=False).replace("\n", "<br>") + "</p>")
    return "".join(out)


def body_html(paragraphs: list[str], structured: str | None) -> str:
    """The entry's body: the structured blocks (publisher.structure) aligned with the plain
    paragraphs, each a paragraph, heading, list item or quotation; plain <p>s without them."""
    from ..structure import blocks_to_html, body_blocks

    return xml_text(blocks_to_html(body_blocks(paragraphs, structured)))


def lead_paragraph(paragraphs: list[str], structured: str | None) -> str:
    """The paragraph a summary starts from: the first that is not a heading."""
    from ..structure import body_blocks, lead_index

    blocks = body_blocks(paragraphs, structured)
    texts = [p for p in paragraphs if p.strip()]
    return texts[lead_index(blocks)] if texts and len(blocks) == len(texts) else (texts[0] if texts else "")


def note_html(note: str, original_url: str, label: str, original_lang: str) -> str:
    return (f'<p><em>{html.escape(note, quote=False)}</em> '
            f'<a href="{html.escape(original_url)}" hreflang="{original_lang}">{html.escape(label)}</a></p>')
