"""TMX 1.4b (LISA's Translation Memory eXchange) for the translation memory. Pure: no store.

- ``write_tmx`` streams entries (the dicts of ``Store.memory_entries``) as TMX, one ``<tu>`` per
  entry, written element by element with ``lxml.etree.xmlfile`` so a large memory never sits in
  memory whole. An engine's entry carries ``<prop type="x-publisher-engine">``; a human entry
  carries none, which is how every other tool writes its units.
- ``read_tmx`` reads a file a translator's tool wrote (outside input): size-capped before
  parsing, no DTD loaded, no entity expanded (a file that declares entities is refused), no
  network, depth-capped; a file that is not well-formed TMX raises ``TmxError`` naming the file,
  the line and the fix, before anything is returned, so a caller stores all of a file or none
  of it. A unit that is well-formed but unusable (a language the project does not have, no
  source segment, an empty translation) is skipped and counted by reason.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections import Counter
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import IO, Any

from lxml import etree

from ..errors import PublisherError
from ..lang import normalise_lang
from ..sources.limits import MAX_XML_DEPTH

TMX_DATE = "%Y%m%dT%H%M%SZ"  # TMX's UTC form, e.g. 20261202T124619Z
ENGINE_PROP = "x-publisher-engine"  # the engine an entry came from; absent on human entries
TOKEN_TYPE = "x-publisher-token"  # <ph type=...> around a protected token (XGLX<n>) of a masked segment
HUMAN_ENGINE = "human"  # the store's engine name of human entries (store.memory.HUMAN)
MAX_TMX_BYTES = 100_000_000  # a file over this is refused before parsing (the CLI's --max-mb raises it)
MAX_ENGINE_CHARS = 32  # the store's column widths
MAX_BY_CHARS = 200
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
INLINE_CODES = frozenset({"bpt", "ept", "it", "ph", "ut"})  # native codes: their content is not text
_TOKEN = re.compile(r"XGLX\d+")
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")  # not allowed in XML 1.0
_SPACES = re.compile(r"\s+")
_BASIC_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z?$")


class TmxError(PublisherError):
    """A TMX file that cannot be read as it is; the message names the file, the line and the fix."""


# ---------------------------------------------------------------------------- dates
def format_date(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).strftime(TMX_DATE)


def parse_date(value: str | None) -> dt.datetime | None:
    """TMX's ``YYYYMMDDThhmmssZ``; also the same without the Z and ISO 8601 (taken as UTC when
    they name no zone), which some tools write. None for a missing or unreadable date."""
    if not value:
        return None
    text = value.strip()
    basic = _BASIC_DATE.match(text)
    if basic:
        try:
            return dt.datetime(*map(int, basic.groups()), tzinfo=dt.timezone.utc)
        except ValueError:
            return None
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.timezone.utc)
    return parsed.astimezone(dt.timezone.utc)


# ---------------------------------------------------------------------------- writing
def _seg(parent: Any, text: str) -> None:
    """<seg> with the text; a protected token of a masked segment becomes <ph type=x-publisher-token>
    so a translator's tool shows it as a tag (and read_tmx gives the token back)."""
    seg = etree.SubElement(parent, "seg")
    text = _NOT_XML.sub("", text)
    last: Any = None
    pos = 0
    for match in _TOKEN.finditer(text):
        before = text[pos : match.start()]
        if last is None:
            seg.text = before
        else:
            last.tail = before
        last = etree.SubElement(seg, "ph", type=TOKEN_TYPE)
        last.text = match.group(0)
        pos = match.end()
    if last is None:
        seg.text = text
    else:
        last.tail = text[pos:]


def tu_element(entry: dict[str, Any], header_srclang: str) -> Any:
    attrs: dict[str, str] = {}
    human = entry["engine"] == HUMAN_ENGINE
    who = (entry.get("created_by") or "") if human else entry["engine"]
    created = format_date(entry.get("created_at"))
    changed = format_date(entry.get("changed_at"))
    if created:
        attrs["creationdate"] = created
    if who:
        attrs["creationid"] = who
    if changed:
        attrs["changedate"] = changed
        if who:
            attrs["changeid"] = who
    attrs["usagecount"] = str(int(entry.get("hits") or 0))
    used = format_date(entry.get("last_used_at"))
    if used:
        attrs["lastusagedate"] = used
    if entry["src"] != header_srclang:
        attrs["srclang"] = entry["src"]
    tu = etree.Element("tu", attrs)
    if not human:
        prop = etree.SubElement(tu, "prop", type=ENGINE_PROP)
        prop.text = entry["engine"]
    for lang, text in ((entry["src"], entry["source"]), (entry["tgt"], entry["target"])):
        tuv = etree.SubElement(tu, "tuv", {XML_LANG: lang})
        _seg(tuv, text)
    return tu


def write_tmx(out: IO[bytes], entries: Iterable[dict[str, Any]], srclang: str, tool_version: str,
              now: dt.datetime | None = None) -> int:
    """Write entries as a TMX 1.4 document to the binary stream ``out``, one <tu> at a time.
    ``srclang``: the header's source language (a unit in another source language says its own).
    Returns the number of units written."""
    count = 0
    with etree.xmlfile(out, encoding="utf-8") as xf:
        xf.write_declaration()
        with xf.element("tmx", version="1.4"):
            xf.write("\n")
            header = etree.Element("header", {
                "creationtool": "publisher", "creationtoolversion": tool_version, "datatype": "plaintext",
                "segtype": "sentence", "adminlang": "en", "srclang": srclang, "o-tmf": "publisher",
                "creationdate": format_date(now or dt.datetime.now(dt.timezone.utc)) or "",
            })
            xf.write(header, pretty_print=True)
            with xf.element("body"):
                xf.write("\n")
                for entry in entries:
                    xf.write(tu_element(entry, srclang), pretty_print=True)
                    count += 1
                    if count % 1000 == 0:
                        xf.flush()
            xf.write("\n")
    out.write(b"\n")
    return count


# ---------------------------------------------------------------------------- reading
@dataclass
class TmxUnit:
    """One memory entry read from a TMX file (engine None: a human entry)."""

    src: str
    tgt: str
    source: str
    target: str
    engine: str | None
    created_by: str
    created_at: dt.datetime | None
    changed_at: dt.datetime | None
    line: int


@dataclass
class TmxRead:
    units: list[TmxUnit] = field(default_factory=list)
    tus: int = 0  # <tu> elements read
    skipped: Counter[str] = field(default_factory=Counter)  # reason → entries not taken
    inline_dropped: int = 0  # segments whose inline codes (<bpt>, <ph>…) were dropped
    header: dict[str, str] = field(default_factory=dict)


def seg_text(seg: Any) -> tuple[str, bool]:
    """The text of a <seg>: <hi> (and <sub>, inside a code) keep their words; the native codes of
    <bpt>/<ept>/<it>/<ph>/<ut> are dropped (but our own token <ph>s give their token back).
    Returns (text, whether any code was dropped); after a drop, runs of spaces become one."""
    dropped = False
    parts: list[str] = []

    def walk(element: Any) -> None:
        nonlocal dropped
        if element.text:
            parts.append(element.text)
        for child in element:
            if isinstance(child, etree._Entity):
                raise _EntityRef(child.sourceline)
            if not isinstance(child.tag, str):  # comments, processing instructions
                pass
            elif child.tag == "ph" and child.get("type") == TOKEN_TYPE:
                parts.append(child.text or "")
            elif child.tag in INLINE_CODES:
                dropped = True
            else:  # hi, sub, and anything unknown: its words are text
                walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(seg)
    text = "".join(parts)
    if dropped:
        text = _SPACES.sub(" ", text).strip()
    return text, dropped


class _EntityRef(Exception):
    def __init__(self, line: int | None):
        self.line = line


def _lang_of(element: Any) -> str | None:
    return element.get(XML_LANG) or element.get("lang")  # TMX 1.1–1.3 wrote lang=


@lru_cache(maxsize=512)
def _normalised(value: str) -> str | None:
    try:
        return normalise_lang(value)
    except ValueError:
        return None


def _code(value: str, project: Collection[str], reasons: Counter[str]) -> str | None:
    """The project's code for a TMX language (mk-MK → mk), or None with the reason counted."""
    code = _normalised(value)
    if code is None:
        reasons[f"unknown language code {value}"] += 1
        return None
    if code not in project:
        reasons[f"language not in the project: {code}"] += 1
        return None
    return code


def _engine_of(tu: Any) -> str | None:
    for prop in tu.findall("prop"):
        if prop.get("type") == ENGINE_PROP and (prop.text or "").strip():
            name = prop.text.strip()
            return None if name == HUMAN_ENGINE else name
    return None


def _unit_entries(tu: Any, result: TmxRead, header_src: str | None, languages: Collection[str],
                  source_language: str, default_by: str) -> None:
    variants: list[tuple[str, Any]] = []  # (raw language, tuv)
    for tuv in tu.findall("tuv"):
        lang = _lang_of(tuv)
        if not lang:
            raise TmxError(f"line {tuv.sourceline}: a <tuv> without xml:lang; every variant names its language")
        variants.append((lang, tuv))
    if not variants:
        result.skipped["a unit without variants"] += 1
        return
    raw_src = tu.get("srclang") or header_src
    if not raw_src or raw_src.strip().lower() == "*all*":
        codes = [_normalised(lang) for lang, _ in variants]
        raw_src = variants[codes.index(source_language)][0] if source_language in codes else variants[0][0]
    src = _code(raw_src, languages, result.skipped)
    if src is None:
        return
    source_tuv = None
    targets: list[tuple[str, Any]] = []
    for lang, tuv in variants:
        code = _normalised(lang)
        if code == src:
            if source_tuv is None:
                source_tuv = tuv
            else:
                result.skipped["a second variant in the source language"] += 1
        else:
            targets.append((lang, tuv))
    if source_tuv is None:
        result.skipped[f"no variant in the source language ({src})"] += 1
        return
    source_seg = source_tuv.find("seg")
    source, dropped = seg_text(source_seg) if source_seg is not None else ("", False)
    if not source.strip():
        result.skipped["empty source segment"] += 1
        return
    engine = _engine_of(tu)
    seen: set[str] = set()
    any_dropped = dropped
    for lang, tuv in targets:
        tgt = _code(lang, languages, result.skipped)
        if tgt is None:
            continue
        if tgt in seen:
            result.skipped["a second variant in the same language"] += 1
            continue
        seen.add(tgt)
        seg = tuv.find("seg")
        target, dropped = seg_text(seg) if seg is not None else ("", False)
        any_dropped = any_dropped or dropped
        if not target.strip():
            result.skipped["empty translation"] += 1
            continue
        if engine is not None and len(engine) > MAX_ENGINE_CHARS:
            result.skipped[f"engine name over {MAX_ENGINE_CHARS} characters"] += 1
            continue

        def attr(name: str) -> str | None:  # a variant's own attribute first (OmegaT), then the unit's
            return tuv.get(name) or tu.get(name)

        by = "" if engine is not None else (
            (attr("changeid") or "").strip() or (attr("creationid") or "").strip() or default_by)[:MAX_BY_CHARS]
        changed = parse_date(attr("changedate"))
        result.units.append(TmxUnit(
            src=src, tgt=tgt, source=source.strip(), target=target.strip(), engine=engine, created_by=by,
            created_at=parse_date(attr("creationdate")) or changed, changed_at=changed,
            line=tu.sourceline or 0,
        ))
    if not targets:
        result.skipped["a unit with no translation"] += 1
    if any_dropped:
        result.inline_dropped += 1


def read_tmx(path: str | Path, languages: Collection[str], source_language: str, default_by: str,
             max_bytes: int = MAX_TMX_BYTES) -> TmxRead:
    """Every usable entry of a TMX file, for the project's ``languages``; TmxError on a file that
    is too big, not XML, not TMX, or declares entities. Nothing is returned from a bad file."""
    path = Path(path)
    name = str(path)
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise TmxError(f"{name}: cannot be read ({exc.strerror}); give the path of a .tmx file") from None
    if size > max_bytes:
        raise TmxError(f"{name}: {size} bytes, over the {max_bytes}-byte limit for one TMX file (refused before "
                       "parsing); split it in your tool, or raise the limit with --max-mb")
    result = TmxRead()
    depth = 0
    seen_root = seen_body = False
    header_src: str | None = None
    try:
        with path.open("rb") as handle:
            context = etree.iterparse(
                handle, events=("start", "end"), resolve_entities=False, no_network=True, load_dtd=False,
                dtd_validation=False, huge_tree=False, remove_comments=True, remove_pis=True,
            )
            for event, element in context:
                if event == "start":
                    depth += 1
                    if depth > MAX_XML_DEPTH:
                        raise TmxError(f"{name}: line {element.sourceline}: nested over {MAX_XML_DEPTH} elements "
                                       "deep; the file is broken or hostile")
                    if not seen_root:
                        seen_root = True
                        _check_root(name, element)
                    elif depth == 2 and element.tag == "body":
                        seen_body = True
                    continue
                depth -= 1
                if depth == 1 and element.tag == "header":
                    result.header = {k: v for k, v in element.attrib.items()}
                    header_src = element.get("srclang")
                    element.clear()
                elif depth == 2 and element.tag == "tu":
                    result.tus += 1
                    try:
                        _unit_entries(element, result, header_src, languages, source_language, default_by)
                    except _EntityRef as ref:
                        raise TmxError(f"{name}: line {ref.line}: an entity reference in a segment; "
                                       "write the characters themselves") from None
                    except TmxError as exc:
                        raise TmxError(f"{name}: {exc}") from None
                    element.clear()
                    parent = element.getparent()
                    while parent is not None and element.getprevious() is not None:
                        del parent[0]
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or (exc.position[0] if exc.position else "?")
        what = "is not XML" if not seen_root else "is not well-formed XML"
        raise TmxError(f"{name}: line {line}: the file {what} ({exc.msg}); export it again from your "
                       "tool as TMX 1.4") from None
    if not seen_root:
        raise TmxError(f"{name}: the file is empty; export it again from your tool as TMX 1.4")
    if not seen_body:
        raise TmxError(f"{name}: no <body> in <tmx>; a TMX file holds its units in <tmx><body>")
    return result


def _check_root(name: str, root: Any) -> None:
    info = root.getroottree().docinfo
    dtd = info.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise TmxError(f"{name}: the file declares XML entities (<!ENTITY> in its DOCTYPE), which are refused "
                       "(entity-expansion bombs, external entities); a TMX file needs none: remove the "
                       "declarations")
    tag = root.tag if isinstance(root.tag, str) else ""
    local = tag.rsplit("}", 1)[-1]
    if local != "tmx" or tag != local:
        hint = {"xliff": "an XLIFF file", "TranslationMemory": "a Wordfast/other TM"}.get(local, f"<{tag}>")
        raise TmxError(f"{name}: line {root.sourceline}: the root element is {hint}, not <tmx>; "
                       "export the memory as TMX 1.4 from your tool")
    version = root.get("version") or ""
    if not version.startswith("1."):
        raise TmxError(f"{name}: line {root.sourceline}: <tmx version=\"{version}\">: only TMX 1.x is read "
                       "(1.4b is what tools export); export it as TMX 1.4")
