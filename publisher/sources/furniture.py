"""Page furniture: dates, bylines, breadcrumbs and share links around an article's text.

Two layers, both general:

- :func:`drop_furniture_elements` removes short elements whose class, id, role, itemprop or
  aria-label names furniture (breadcrumb, byline, author, share, social, date, time,
  entry-meta…), ``<time>`` and ``<nav>``, before the main text is extracted. Dates found in
  them are kept as candidates for the published date.
- :func:`strip_furniture_blocks` removes furniture *lines* at the start and at the end of the
  body (never in the middle): a line that is only a date (``20.11.2024``, ``20.11.2024
  година``, ``20 ноември 2024``, ``Објавено: …``), a byline (``Автор: …``, ``By Jane Doe``), a
  breadcrumb (``Почетна > Вести > …``) or share links (``Сподели``, ``Share``, ``Facebook
  Twitter …``). A date line becomes a published-date candidate.

Pure functions; dates without a zone are read in the site's zone.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence

from ..cleaning import normalise_line, same_text

# ---------------------------------------------------------------- dates
MONTHS = {
    # Macedonian (Cyrillic and Latin transliteration), English, Albanian
    "јануари": 1, "февруари": 2, "март": 3, "април": 4, "мај": 5, "јуни": 6, "јули": 7, "август": 8,
    "септември": 9, "октомври": 10, "ноември": 11, "декември": 12,
    "januari": 1, "fevruari": 2, "mart": 3, "april": 4, "maj": 5, "juni": 6, "juli": 7, "avgust": 8,
    "septemvri": 9, "oktomvri": 10, "noemvri": 11, "dekemvri": 12,
    "january": 1, "february": 2, "march": 3, "may": 5, "june": 6, "july": 7, "august": 8,
    "september": 9, "october": 10, "november": 11, "december": 12,
    "jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9, "oct": 10,
    "nov": 11, "dec": 12,
    "janar": 1, "shkurt": 2, "mars": 3, "prill": 4, "qershor": 6, "korrik": 7, "gusht": 8, "shtator": 9,
    "tetor": 10, "nëntor": 11, "nentor": 11, "dhjetor": 12,
}
_MONTH = "|".join(sorted((re.escape(m) for m in MONTHS), key=len, reverse=True))
_LABEL = (r"(?:објавено|објавена|објавен|датум|ажурирано|последна измена|published|posted(?: on)?|updated|date|"
          r"publikuar|data|përditësuar|postirano)\s*(?:на|on|më)?\s*[:\-–—]?\s*")
_WEEKDAY = (r"(?:понеделник|вторник|среда|четврток|петок|сабота|недела|monday|tuesday|wednesday|thursday|friday|"
            r"saturday|sunday|mon|tue|wed|thu|fri|sat|sun|e hënë|e martë|e mërkurë|e enjte|e premte|e shtunë|"
            r"e diel)\s*,?\s*")
_YEAR_WORD = r"(?:\s*(?:година|год\.?|г\.|god\.?|godina|viti|year))?"
_TIME = r"(?:\s*(?:,|во|в\.|at|në|ora|-|–|—|\|)?\s*(?P<h>\d{1,2})[:.](?P<mi>\d{2})(?::\d{2})?\s*(?:часот|ч\.|h|ora)?)?"
_DATE_FORMS = [
    rf"(?P<d>\d{{1,2}})\s*[./-]\s*(?P<m>\d{{1,2}})\s*[./-]\s*(?P<y>\d{{4}})\.?{_YEAR_WORD}",
    rf"(?P<y>\d{{4}})-(?P<m>\d{{2}})-(?P<d>\d{{2}})",
    rf"(?P<d>\d{{1,2}})\.?\s+(?P<mn>{_MONTH})\.?,?\s+(?P<y>\d{{4}}){_YEAR_WORD}",
    rf"(?P<mn>{_MONTH})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?,?\s+(?P<y>\d{{4}})",
]
_DATE_LINES = [re.compile(rf"^(?:{_LABEL})?(?:{_WEEKDAY})?{form}{_TIME}\.?$", re.IGNORECASE) for form in _DATE_FORMS]


def parse_date_line(line: str, default_tz: dt.tzinfo = dt.timezone.utc) -> dt.datetime | None:
    """The date (and time) of a line that is only a date, as aware UTC; else None."""
    text = normalise_line(line).strip(" ·|•")
    if not text or len(text) > 80:
        return None
    for pattern in _DATE_LINES:
        match = pattern.match(text)
        if not match:
            continue
        parts = match.groupdict()
        month = MONTHS.get(parts["mn"].lower()) if parts.get("mn") else int(parts["m"])
        try:
            hour, minute = (int(parts["h"]), int(parts["mi"])) if parts.get("h") else (0, 0)
            local = dt.datetime(int(parts["y"]), month or 0, int(parts["d"]), hour, minute, tzinfo=default_tz)
        except (TypeError, ValueError):
            return None
        if not 1990 <= local.year <= 2100:
            return None
        return local.astimezone(dt.timezone.utc)
    return None


# ---------------------------------------------------------------- lines
_SHARE_WORDS = (r"сподели|споделете|share|share this|share on|tweet|facebook|twitter|x|linkedin|viber|whatsapp|"
                r"telegram|messenger|email|e-mail|e-пошта|печати|print|pinterest|reddit|shpërndaj|shpërndaje|ndaj|"
                r"копирај линк|copy link|на|on|via|преку")
_SHARE_LINE = re.compile(rf"^(?:(?:{_SHARE_WORDS})\s*[:|/·•,\-–]*\s*)+$", re.IGNORECASE)
_SHARE_START = re.compile(r"^(?:сподели|споделете|share|shpërndaj)\b", re.IGNORECASE)
_BYLINE_BY = re.compile(r"^[Bb]y\s+(?:[A-ZА-Ш][\w.'-]+\s*){1,4}(?:[,|·]\s*.{0,40})?$")
_BYLINE = re.compile(r"^(?:автор|авторка|автори|текст|фото|извор|author|authors|written by|source|photo|autor|"
                     r"burimi|foto)\s*[:\-–]\s*\S.{0,80}$", re.IGNORECASE)
_CRUMB_SEP = r"\s*[>»›→]\s*|\s+/\s+|\s+\|\s+"
_HOME = re.compile(r"^(?:почетна|дома|насловна|home|start|ballina|kreu|faqja kryesore)\b", re.IGNORECASE)
_TAGS = re.compile(r"^(?:ознаки|тагови|клучни зборови|tags|etiketa|категорија|categories|category)\s*:", re.IGNORECASE)


def is_breadcrumb(line: str) -> bool:
    parts = [p for p in re.split(_CRUMB_SEP, line) if p.strip()]
    if len(parts) < 2 or any(len(p) > 120 for p in parts):
        return False
    separators = len(re.findall(_CRUMB_SEP, line))
    return bool(_HOME.match(line)) or (separators >= 2 and all(len(p) <= 60 for p in parts[:-1]))


def furniture_kind(line: str, default_tz: dt.tzinfo = dt.timezone.utc) -> str | None:
    """"date", "byline", "breadcrumb", "share", "tags" or None (a line of real text)."""
    text = normalise_line(line)
    if not text:
        return None
    if parse_date_line(text, default_tz) is not None:
        return "date"
    if len(text) <= 120 and (_BYLINE.match(text) or _BYLINE_BY.match(text)):
        return "byline"
    if len(text) <= 300 and is_breadcrumb(text):
        return "breadcrumb"
    if len(text) <= 160 and (_SHARE_LINE.match(text) or (_SHARE_START.match(text) and len(text.split()) <= 8)):
        return "share"
    if len(text) <= 200 and _TAGS.match(text):
        return "tags"
    # a line of furniture pieces: "20.11.2024 | Автор: Петар Петров"
    pieces = [p for p in re.split(r"\s+[|·•]\s+", text) if p.strip()]
    if len(pieces) > 1 and all(furniture_kind(p, default_tz) for p in pieces):
        return "meta"
    return None


def strip_furniture_blocks(
    texts: Sequence[str], title: str = "", default_tz: dt.tzinfo = dt.timezone.utc
) -> tuple[int, int, dt.datetime | None]:
    """(start, end) of the body inside ``texts`` without furniture at either end, and the
    first date a date line gave. Repeats of the title at the start are skipped as well."""
    found: dt.datetime | None = None
    start, end = 0, len(texts)

    def furniture(text: str) -> bool:
        nonlocal found
        kind = furniture_kind(text, default_tz)
        if kind in ("date", "meta") and found is None:
            for piece in re.split(r"\s+[|·•]\s+", normalise_line(text)):
                found = found or parse_date_line(piece, default_tz)
        return kind is not None

    while start < end and (furniture(texts[start]) or (title and same_text(texts[start], title))):
        start += 1
    while end > start and furniture(texts[end - 1]):
        end -= 1
    return start, end, found


# ---------------------------------------------------------------- elements
_FURNITURE_TOKENS = frozenset({
    "breadcrumb", "breadcrumbs", "crumbs", "byline", "author", "authors", "share", "sharing", "shares", "social",
    "socials", "addthis", "sharethis", "sharer", "dateline", "date", "time", "timestamp", "published", "pubdate",
    "posted", "postdate", "entrymeta", "postmeta", "articlemeta", "newsmeta", "meta", "print", "tags", "tag",
})
_TOKEN_SPLIT = re.compile(r"[\s_\-]+")
_ITEMPROPS = frozenset({"datepublished", "datemodified", "datecreated", "author", "breadcrumb"})
MAX_FURNITURE_CHARS = 200


def _tokens(value: str | None) -> set[str]:
    if not value:
        return set()
    tokens = set()
    for word in value.split():
        parts = [p for p in _TOKEN_SPLIT.split(word.lower()) if p]
        tokens.update(parts)
        tokens.add("".join(parts))  # entry-meta → entrymeta
    return tokens


def is_furniture_element(element) -> bool:  # type: ignore[no-untyped-def]
    tag = element.tag.lower() if isinstance(element.tag, str) else ""
    if tag in ("time", "nav"):
        return True
    if (element.get("role") or "").lower() in ("navigation", "contentinfo"):
        return True
    if (element.get("itemprop") or "").lower() in _ITEMPROPS:
        return True
    if "breadcrumb" in (element.get("aria-label") or "").lower() or (element.get("rel") or "").lower() == "author":
        return True
    names = _tokens(element.get("class")) | _tokens(element.get("id"))
    return bool(names & _FURNITURE_TOKENS)


def drop_furniture_elements(root, default_tz: dt.tzinfo = dt.timezone.utc) -> list[dt.datetime]:  # type: ignore[no-untyped-def]
    """Remove short furniture elements from an lxml tree (in place); the dates found in them."""
    dates: list[dt.datetime] = []
    body = root.find(".//body")
    scope = body if body is not None else root
    for element in list(scope.iter()):
        if element is scope or not isinstance(element.tag, str) or element.getparent() is None:
            continue
        if not is_furniture_element(element):
            continue
        text = " ".join(element.text_content().split())
        if len(text) > MAX_FURNITURE_CHARS:
            continue  # a wrapper of the article that happens to carry such a class
        for candidate in (element.get("datetime"), element.get("content"), text):
            if candidate:
                found = _element_date(candidate, default_tz)
                if found is not None:
                    dates.append(found)
                    break
        element.drop_tree()
    return dates


def _element_date(value: str, default_tz: dt.tzinfo) -> dt.datetime | None:
    value = value.strip()
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is not None:
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=default_tz)
        return parsed.astimezone(dt.timezone.utc)
    line = parse_date_line(value, default_tz)
    if line is not None:
        return line
    for piece in re.split(r"\s+[|·•]\s+", value):
        line = parse_date_line(piece, default_tz)
        if line is not None:
            return line
    return None
