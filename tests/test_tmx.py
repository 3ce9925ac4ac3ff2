"""TMX 1.4 exchange of the translation memory (issue 11): publisher memory export / import.

Real stores (SQLite and PostgreSQL), real files, the real CLI; sample files as OmegaT and SDL
Trados write them (tests/data/tmx/), hostile files made here."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from publisher.cli import main
from publisher.store import Store
from publisher.store.memory import HUMAN
from publisher.translate import tmx
from publisher.translate.segment import segment_key

from sqlalchemy import text

from .conftest import _truncate

DATA = Path(__file__).parent / "data" / "tmx"
UTC = dt.timezone.utc
SKOPJE = dt.timezone(dt.timedelta(hours=1))
TMX_DATE = re.compile(r"^\d{8}T\d{6}Z$")


def wipe(store: Store) -> None:
    """An empty store as a fresh one is (on both backends)."""
    if store.engine.dialect.name == "postgresql":
        _truncate(store)
    else:
        with store.engine.begin() as conn:
            conn.execute(text("DELETE FROM translation_memory"))


def run(*args: str, settings: Path) -> tuple[int, str, str]:
    runner = CliRunner()
    result = runner.invoke(main, [*args, "--settings", str(settings)], catch_exceptions=False,
                           env={"PUBLISHER_SETTINGS": None})
    return result.exit_code, result.stdout, result.stderr


def fill(store: Store) -> None:
    """Human entries (two pairs, an edited one), an engine's entries (one masked), a pivot hop."""
    store.memory_put_human("mk", "en", [(segment_key("Досега ДИК нема добиено никакви поплаки."),
                                         "Досега ДИК нема добиено никакви поплаки.",
                                         "So far the SEC has not received any complaints.")],
                           by="Ana Petrovska", created_at=dt.datetime(2026, 11, 10, 15, 15, tzinfo=SKOPJE),
                           changed_at=dt.datetime(2026, 11, 15, 9, 30, 12, tzinfo=UTC))
    store.memory_put_human("mk", "en", [(segment_key("Цена: 5 < 7 & „А“ > Б."), "Цена: 5 < 7 & „А“ > Б.",
                                         'Price: 5 < 7 & "A" > B.')],
                           by="marko@iom.example", created_at=dt.datetime(2026, 11, 11, 8, 0, 1, tzinfo=UTC))
    store.memory_put_human("mk", "sq", [(segment_key("Средбата беше организирана."), "Средбата беше организирана.",
                                         "Takimi u organizua.")], by="Drita Xhaferi",
                           created_at=dt.datetime(2026, 11, 12, 10, 0, tzinfo=UTC))
    store.memory_put("apertium", "mk", "en", [
        (segment_key("XGLX1 го организираше состанокот."), "XGLX1 го организираше состанокот.",
         "XGLX1 organised the meeting."),
        (segment_key("Учествуваа делегации."), "Учествуваа делегации.", "Delegations participated."),
    ])
    store.memory_put("google", "en", "sq", [(segment_key("Delegations participated."), "Delegations participated.",
                                             "Delegacionet morën pjesë.")])


def snapshot(store: Store) -> list[tuple]:
    """Every field a TMX carries, dates to the second (TMX's resolution), sorted."""
    def sec(value: dt.datetime | None) -> dt.datetime | None:
        return value.astimezone(UTC).replace(microsecond=0) if value else None

    return sorted(
        (e["engine"], e["src"], e["tgt"], e["key"], e["source"], e["target"], e["created_by"],
         sec(e["created_at"]), sec(e["changed_at"]))
        for e in store.memory_entries()
    )


def export(store: Store, **kwargs) -> bytes:
    buffer = io.BytesIO()
    tmx.write_tmx(buffer, store.memory_entries(**kwargs), "mk", "test")
    return buffer.getvalue()


def import_file(store: Store, path: Path, **kwargs) -> tuple[tmx.TmxRead, dict[str, int]]:
    read = tmx.read_tmx(path, {"mk", "en", "sq"}, "mk", f"tmx:{path.name}")
    entries = [{"engine": u.engine or HUMAN, "src": u.src, "tgt": u.tgt, "key": segment_key(u.source),
                "source": u.source, "target": u.target, "created_by": u.created_by,
                "created_at": u.created_at, "changed_at": u.changed_at} for u in read.units]
    return read, store.memory_import(entries, **kwargs)


# ---------------------------------------------------------------------------- round trip
def test_export_then_import_into_an_empty_store_round_trips_every_field(store, tmp_path):
    fill(store)
    before = snapshot(store)
    assert len(before) == 6
    path = tmp_path / "memory.tmx"
    path.write_bytes(export(store, engine=None))
    if store.engine.dialect.name == "sqlite":
        fresh = Store.upgraded(f"sqlite:///{tmp_path / 'fresh.db'}")
    else:
        _truncate(store)
        fresh = Store(str(store.engine.url.render_as_string(hide_password=False)))
    store.close()
    store = fresh
    assert list(store.memory_entries()) == []
    read, counts = import_file(store, path)
    assert counts == {"added": 6, "changed": 0, "unchanged": 0, "kept": 0, "duplicates": 0}
    assert read.skipped == {}
    assert snapshot(store) == before
    human = {e["source"]: e for e in store.memory_entries(engine=HUMAN)}
    first = human["Досега ДИК нема добиено никакви поплаки."]
    assert first["created_by"] == "Ana Petrovska"
    assert first["created_at"] == dt.datetime(2026, 11, 10, 14, 15, tzinfo=UTC)  # 15:15 in Skopje, kept in UTC
    assert first["changed_at"] == dt.datetime(2026, 11, 15, 9, 30, 12, tzinfo=UTC)
    # engines' entries came back as theirs, never as human work
    assert {(e["engine"], e["src"], e["tgt"]) for e in store.memory_entries() if e["engine"] != HUMAN} == {
        ("apertium", "mk", "en"), ("google", "en", "sq")}
    assert store.memory_get(HUMAN, "mk", "en", [segment_key("Учествуваа делегации.")]) == {}
    assert store.memory_get("apertium", "mk", "en", [segment_key("Учествуваа делегации.")]) == {
        segment_key("Учествуваа делегации."): "Delegations participated."}
    # the masked segment's token came back as the token (it was a <ph> in the file)
    assert "XGLX1 organised the meeting." in {e["target"] for e in store.memory_entries(engine="apertium")}
    # a second import of the same file changes nothing
    assert import_file(store, path)[1] == {"added": 0, "changed": 0, "unchanged": 6, "kept": 0, "duplicates": 0}
    fresh.close()


def test_exported_file_is_tmx_1_4_by_structure(store):
    fill(store)
    data = export(store, engine=None)
    dtd = etree.DTD(str(DATA / "tmx14-structure.dtd"))
    doc = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    assert dtd.validate(doc), dtd.error_log.filter_from_errors()
    assert data.startswith(b"<?xml version='1.0' encoding='utf-8'?>") or data.startswith(b'<?xml version="1.0"')
    assert doc.tag == "tmx" and doc.get("version") == "1.4"
    header = doc.find("header")
    for name in ("creationtool", "creationtoolversion", "segtype", "o-tmf", "adminlang", "srclang", "datatype"):
        assert header.get(name), name
    assert header.get("segtype") == "sentence" and header.get("srclang") == "mk"
    units = doc.findall("body/tu")
    assert len(units) == 6
    for tu in units:
        for name in ("creationdate", "changedate", "lastusagedate"):
            if tu.get(name) is not None:
                assert TMX_DATE.match(tu.get(name)), tu.get(name)
        assert all(tuv.get(tmx.XML_LANG) in {"mk", "en", "sq"} for tuv in tu.findall("tuv"))
        assert len(tu.findall("tuv")) == 2
    # the pivot hop (en→sq) names its own source language; engines are props, humans are not
    pivot = [tu for tu in units if tu.get("srclang") == "en"]
    assert len(pivot) == 1 and pivot[0].findtext("prop[@type='x-publisher-engine']") == "google"
    edited = [tu for tu in units if tu.get("changeid")]
    assert [(tu.get("creationid"), tu.get("creationdate"), tu.get("changedate")) for tu in edited] == [
        ("Ana Petrovska", "20261110T141500Z", "20261115T093012Z")]
    # escaping: the text comes back exactly
    segs = [seg.text for seg in doc.iter("seg")]
    assert 'Price: 5 < 7 & "A" > B.' in segs and "Цена: 5 < 7 & „А“ > Б." in segs
    assert b"5 &lt; 7 &amp;" in data
    token = doc.find(".//ph[@type='x-publisher-token']")
    assert token is not None and token.text == "XGLX1"


def test_export_writes_as_it_reads(tmp_path):
    """The writer pulls one entry at a time and writes before the last is read (a large memory
    never sits in memory whole)."""
    pulled = []
    writes_before_end = []

    def entries():
        for i in range(5000):
            pulled.append(i)
            yield {"engine": HUMAN, "src": "mk", "tgt": "en", "source": f"Реченица {i}.", "target": f"Sentence {i}.",
                   "created_by": "ana", "created_at": dt.datetime(2026, 1, 1, tzinfo=UTC), "changed_at": None,
                   "hits": 0, "last_used_at": None}

    class Sink(io.BytesIO):
        def write(self, data):  # noqa: ANN001
            if len(pulled) < 5000:
                writes_before_end.append(len(pulled))
            return super().write(data)

    sink = Sink()
    assert tmx.write_tmx(sink, entries(), "mk", "test") == 5000
    assert writes_before_end and min(writes_before_end) < 2000
    assert etree.fromstring(sink.getvalue()).xpath("count(body/tu)") == 5000


# ---------------------------------------------------------------------------- other tools' files
def test_import_an_omegat_file_with_regional_codes_inline_codes_and_a_third_language(store):
    read, counts = import_file(store, DATA / "omegat-style.tmx")
    assert read.tus == 6
    assert counts["added"] == 5
    assert read.skipped == {"language not in the project: de": 2, "empty translation": 1}
    assert read.inline_dropped == 2
    entries = {(e["tgt"], e["source"]): e for e in store.memory_entries(engine=HUMAN)}
    negated = entries[("en", "Досега ДИК нема добиено никакви поплаки.")]
    # OmegaT puts who and when on the target variant; the last change names who made the text
    assert negated["created_by"] == "Ana Petrovska"
    assert negated["created_at"] == dt.datetime(2026, 11, 10, 14, 15, tzinfo=UTC)
    assert negated["changed_at"] == dt.datetime(2026, 11, 15, 9, 30, 12, tzinfo=UTC)
    # <bpt>/<ept> codes dropped, their words kept; one unit gives an entry per project language
    assert entries[("en", "Состанокот се одржа во Скопје на 20 ноември.")]["target"] == \
        "The meeting was held in Skopje on 20 November."
    assert entries[("sq", "Состанокот се одржа во Скопје на 20 ноември.")]["created_by"] == "Drita Xhaferi"
    # a <ph> placeholder leaves no double space; <hi> keeps its words
    click_here = entries[("sq", "Кликнете за повеќе информации.")]
    assert click_here["target"] == "Klikoni për më shumë informacion."
    # only a change date: that is when it was made too
    assert click_here["created_at"] == click_here["changed_at"] == dt.datetime(2026, 11, 20, 16, 45, 1, tzinfo=UTC)
    welcome = entries[("en", "ИОМ ги поздравува учесниците.")]
    assert welcome["target"] == "IOM welcomes the participants."
    assert welcome["created_by"] == "tmx:omegat-style.tmx"  # the unit names no one: the file does
    # the service's lookup of human entries finds the imported rendering
    key = segment_key("Досега ДИК нема добиено никакви поплаки.")
    assert store.memory_get(HUMAN, "mk", "en", [key]) == {
        key: "So far the State Election Commission has not received any complaints."}


def test_import_a_trados_utf16_file(store):
    read, counts = import_file(store, DATA / "trados-style.tmx")
    assert read.header["creationtool"] == "SDL Language Platform"
    assert counts["added"] == 2
    assert read.skipped == {"no variant in the source language (mk)": 1}  # the fr-FR → en-US unit
    entries = {e["source"]: e for e in store.memory_entries(engine=HUMAN)}
    decision = entries["Меѓународната организација за миграции ја поздравува одлуката."]
    assert decision["created_by"] == "TRANSLATOR01\\ana"
    assert decision["changed_at"] == dt.datetime(2026, 11, 18, 15, 45, 22, tzinfo=UTC)
    assert entries["Износот е 1.500 евра."]["target"] == "The amount is EUR 1,500."


def test_sample_files_are_tmx_by_structure():
    dtd = etree.DTD(str(DATA / "tmx14-structure.dtd"))
    for name in ("omegat-style.tmx", "trados-style.tmx"):
        doc = etree.parse(str(DATA / name), etree.XMLParser(load_dtd=False, no_network=True))
        assert dtd.validate(doc), (name, dtd.error_log.filter_from_errors())


# ---------------------------------------------------------------------------- conflicts
def _one(tmp_path: Path, target: str, *, changed: str | None = None, created: str = "20261101T100000Z",
         engine: str | None = None, who: str = "Ana", name: str = "one.tmx", extra: str = "") -> Path:
    prop = f'<prop type="x-publisher-engine">{engine}</prop>' if engine else ""
    change = f' changedate="{changed}" changeid="{who}"' if changed else ""
    path = tmp_path / name
    path.write_text(
        f'<?xml version="1.0" encoding="UTF-8"?>\n<tmx version="1.4"><header creationtool="t" '
        f'creationtoolversion="1" segtype="sentence" o-tmf="t" adminlang="en" srclang="mk" datatype="plaintext"/>'
        f'<body><tu creationid="{who}" creationdate="{created}"{change}>{prop}'
        f'<tuv xml:lang="mk"><seg>Добар ден.</seg></tuv><tuv xml:lang="en"><seg>{target}</seg></tuv></tu>'
        f'{extra}</body></tmx>', encoding="utf-8")
    return path


def _stored(store: Store, engine: str = HUMAN) -> dict:
    return {e["source"]: e for e in store.memory_entries(engine=engine)}["Добар ден."]


def test_a_newer_entry_replaces_an_older_one_and_an_older_one_is_kept(store, tmp_path):
    store.memory_put_human("mk", "en", [(segment_key("Добар ден."), "Добар ден.", "Good day.")], by="staff",
                           created_at=dt.datetime(2026, 11, 5, tzinfo=UTC))
    older = _one(tmp_path, "Hello.", created="20261101T100000Z", name="older.tmx")
    assert import_file(store, older)[1]["kept"] == 1
    assert _stored(store)["target"] == "Good day."
    newer = _one(tmp_path, "Good afternoon.", changed="20261120T080000Z", who="Marko", name="newer.tmx")
    assert import_file(store, newer, keep_existing=True)[1]["kept"] == 1
    assert _stored(store)["target"] == "Good day."
    assert import_file(store, newer, dry_run=True)[1]["changed"] == 1
    assert _stored(store)["target"] == "Good day."  # a dry run stores nothing
    assert import_file(store, newer)[1]["changed"] == 1
    entry = _stored(store)
    assert (entry["target"], entry["created_by"]) == ("Good afternoon.", "Marko")
    assert entry["created_at"] == dt.datetime(2026, 11, 5, tzinfo=UTC)  # when it was first made
    assert entry["changed_at"] == dt.datetime(2026, 11, 20, 8, tzinfo=UTC)


def test_duplicates_in_a_file_the_newest_wins(store, tmp_path):
    later = ('<tu creationid="Marko" creationdate="20261110T100000Z"><tuv xml:lang="mk-MK"><seg>Добар ден.</seg>'
             '</tuv><tuv xml:lang="en-GB"><seg>Good afternoon.</seg></tuv></tu>')
    path = _one(tmp_path, "Hello.", created="20261101T100000Z", extra=later)
    read, counts = import_file(store, path)
    assert counts["added"] == 1 and counts["duplicates"] == 1
    assert _stored(store)["target"] == "Good afternoon."


def test_spaces_around_a_segment_and_a_blank_creator(store, tmp_path):
    path = _one(tmp_path, "\n      Good day.  \n    ", who="  ")
    import_file(store, path)
    entry = _stored(store)
    assert (entry["target"], entry["created_by"]) == ("Good day.", "tmx:one.tmx")


def test_an_engine_unit_stays_an_engine_entry(store, tmp_path):
    path = _one(tmp_path, "Good day.", engine="apertium")
    import_file(store, path)
    assert store.memory_get(HUMAN, "mk", "en", [segment_key("Добар ден.")]) == {}
    entry = _stored(store, "apertium")
    assert entry["target"] == "Good day." and entry["created_by"] is None


# ---------------------------------------------------------------------------- CLI
def test_cli_export_and_import(site, tmp_path):
    store = Store(site.db_url)
    try:
        fill(store)
        before = snapshot(store)
        code, stdout, stderr = run("memory", "export", settings=site.settings_file)
        assert code == 0, stderr
        doc = etree.fromstring(stdout.encode("utf-8"))
        assert len(doc.findall("body/tu")) == 3  # by default: the human entries only
        assert doc.find("body/tu/prop") is None
        assert "3 translation unit(s)" in stderr
        out_file = tmp_path / "all.tmx"
        code, stdout, _ = run("memory", "export", "--engine", "all", "--out", str(out_file), "--json",
                              settings=site.settings_file)
        assert code == 0 and json.loads(stdout)["units"] == 6
        code, stdout, _ = run("memory", "export", "--pair", "mk-EN", "--engine", "apertium", "--out",
                              str(tmp_path / "en.tmx"), "--json", settings=site.settings_file)
        assert json.loads(stdout)["units"] == 4  # two human mk→en, two apertium
        wipe(store)
        code, stdout, stderr = run("memory", "import", str(out_file), "--dry-run", "--json",
                                   settings=site.settings_file)
        assert code == 0, stderr
        report = json.loads(stdout)
        assert (report["added"], report["dry_run"]) == (6, True)
        assert list(store.memory_entries()) == []
        code, stdout, _ = run("memory", "import", str(out_file), "--json", settings=site.settings_file)
        report = json.loads(stdout)
        assert (report["units"], report["added"], report["engines"]) == (6, 6, ["apertium", "google"])
        assert snapshot(store) == before
        code, stdout, _ = run("memory", "import", str(DATA / "omegat-style.tmx"), settings=site.settings_file)
        assert code == 0
        # the negation unit is the one already stored, changed at the same second: the stored one is kept
        assert "added 4" in stdout and "kept 1" in stdout
        assert "skipped 2: language not in the project: de" in stdout
        code, stdout, _ = run("memory", "stats", "--json", settings=site.settings_file)
        assert {"engine": "human", "pair": "mk-en", "segments": 4, "hits": 0} in json.loads(stdout)
    finally:
        store.close()


def test_cli_import_names_the_creator_given_with_by(site):
    code, _, stderr = run("memory", "import", str(DATA / "omegat-style.tmx"), "--by", "IOM translators",
                          settings=site.settings_file)
    assert code == 0, stderr
    store = Store(site.db_url)
    try:
        by = {e["source"]: e["created_by"] for e in store.memory_entries(engine=HUMAN)}
        assert by["ИОМ ги поздравува учесниците."] == "IOM translators"
        assert by["Досега ДИК нема добиено никакви поплаки."] == "Ana Petrovska"
    finally:
        store.close()


def test_cli_refuses_bad_options(site):
    code, _, stderr = run("memory", "export", "--json", settings=site.settings_file)
    assert code == 1 and "--json needs --out" in stderr
    code, _, stderr = run("memory", "export", "--pair", "mk", settings=site.settings_file)
    assert code == 1 and "SOURCE-TARGET" in stderr
    code, _, stderr = run("memory", "export", "--no-human", settings=site.settings_file)
    assert code == 1 and "--engine" in stderr
    code, _, stderr = run("memory", "export", "--out", str(site.dir / "missing" / "m.tmx"), settings=site.settings_file)
    assert code == 1 and "cannot write there" in stderr and not (site.dir / "missing").exists()


# ---------------------------------------------------------------------------- hostile files
HEADER = ('<header creationtool="t" creationtoolversion="1" segtype="sentence" o-tmf="t" adminlang="en" '
          'srclang="mk" datatype="plaintext"/>')
GOOD_TU = '<tu><tuv xml:lang="mk"><seg>Добар ден.</seg></tuv><tuv xml:lang="en"><seg>Hello.</seg></tuv></tu>'
LAUGHS = "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(1, 10))


def hostile(tmp_path: Path) -> dict[str, tuple[bytes, str]]:
    secret = tmp_path / "secret.txt"
    secret.write_text("SECRET-PASSWORD", encoding="utf-8")
    return {
        "billion laughs": (
            f'<?xml version="1.0"?><!DOCTYPE tmx [<!ENTITY lol0 "lol">{LAUGHS}]><tmx version="1.4">{HEADER}'
            f'<body><tu><tuv xml:lang="mk"><seg>&lol9;</seg></tuv><tuv xml:lang="en"><seg>x</seg></tuv></tu>'
            f'</body></tmx>'.encode(), "declares XML entities"),
        "external entity": (
            f'<?xml version="1.0"?><!DOCTYPE tmx [<!ENTITY xxe SYSTEM "file://{secret}">]><tmx version="1.4">'
            f'{HEADER}<body><tu><tuv xml:lang="mk"><seg>Добар ден.</seg></tuv><tuv xml:lang="en"><seg>&xxe;</seg>'
            f'</tuv></tu></body></tmx>'.encode(), "declares XML entities"),
        "parameter entity from the network": (
            f'<?xml version="1.0"?><!DOCTYPE tmx [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>'
            f'<tmx version="1.4">{HEADER}<body>{GOOD_TU}</body></tmx>'.encode(), "declares XML entities"),
        "not XML": ("source,target\nДобар ден.,Hello.\n".encode(), "line 1: the file is not XML"),
        "wrong root": (f'<?xml version="1.0"?>\n<xliff version="1.2"><file>{GOOD_TU}</file></xliff>'.encode(),
                       "line 2: the root element is an XLIFF file, not <tmx>"),
        "cut off": (f'<?xml version="1.0"?>\n<tmx version="1.4">\n{HEADER}\n<body>\n{GOOD_TU}\n<tu><tuv '
                    'xml:lang="mk"><seg>Без крај'.encode(), "line 6: the file is not well-formed XML"),
        "too deep": (f'<tmx version="1.4">{HEADER}<body><tu><tuv xml:lang="mk"><seg>{"<hi>" * 300}x'
                     f'{"</hi>" * 300}</seg></tuv></tu></body></tmx>'.encode(), "nested over 200 elements"),
        "another version": (f'<tmx version="2.0">{HEADER}<body>{GOOD_TU}</body></tmx>'.encode(),
                            'version="2.0"'),
        "no body": (f'<tmx version="1.4">{HEADER}</tmx>'.encode(), "no <body>"),
        "variant without language": (
            f'<tmx version="1.4">{HEADER}<body>{GOOD_TU}<tu><tuv><seg>Добар ден.</seg></tuv></tu></body></tmx>'.encode(),
            "a <tuv> without xml:lang"),
        "empty": (b"", "not XML"),
    }


@pytest.mark.parametrize("case", ["billion laughs", "external entity", "parameter entity from the network",
                                  "not XML", "wrong root", "cut off", "too deep", "another version", "no body",
                                  "variant without language", "empty"])
def test_a_hostile_or_broken_file_stores_nothing_and_says_why(site, tmp_path, case):
    data, expected = hostile(tmp_path)[case]
    path = tmp_path / "bad.tmx"
    path.write_bytes(data)
    store = Store(site.db_url)
    try:
        store.memory_put_human("mk", "en", [(segment_key("Добар ден."), "Добар ден.", "Good day.")], by="staff")
        before = snapshot(store)
        code, stdout, stderr = run("memory", "import", str(path), settings=site.settings_file)
        assert code == 1, (stdout, stderr)
        message = " ".join(stderr.split())
        assert str(path) in message and expected in message, message
        assert "SECRET" not in stdout + stderr
        assert snapshot(store) == before
    finally:
        store.close()


def test_a_file_over_the_size_cap_is_refused_before_parsing(site, tmp_path):
    path = tmp_path / "huge.tmx"
    with path.open("w", encoding="utf-8") as handle:
        handle.write(f'<tmx version="1.4">{HEADER}<body>')
        for i in range(9000):
            handle.write(GOOD_TU.replace("Добар ден.", f"Реченица број {i}."))
        handle.write("</body></tmx>")
    assert path.stat().st_size > 1_000_000
    code, _, stderr = run("memory", "import", str(path), "--max-mb", "1", settings=site.settings_file)
    message = " ".join(stderr.split())
    assert code == 1 and "over the 1000000-byte limit" in message and "--max-mb" in message
    code, stdout, _ = run("memory", "import", str(path), "--json", settings=site.settings_file)
    assert code == 0 and json.loads(stdout)["added"] == 9000


# ---------------------------------------------------------------------------- small parts
def test_dates_in_the_forms_tools_write():
    assert tmx.parse_date("20261202T124619Z") == dt.datetime(2026, 12, 2, 12, 46, 19, tzinfo=UTC)
    assert tmx.parse_date("20261202T124619") == dt.datetime(2026, 12, 2, 12, 46, 19, tzinfo=UTC)
    assert tmx.parse_date("2026-12-02T13:46:19+01:00") == dt.datetime(2026, 12, 2, 12, 46, 19, tzinfo=UTC)
    assert tmx.parse_date("yesterday") is None and tmx.parse_date("") is None
    assert tmx.format_date(dt.datetime(2026, 12, 2, 13, 46, 19, tzinfo=SKOPJE)) == "20261202T124619Z"


def test_inline_codes_dropped_words_kept():
    seg = etree.fromstring('<seg>Види <bpt i="1">&lt;a href="x"&gt;</bpt><hi>овде</hi><ept i="1">&lt;/a&gt;</ept> '
                           '<it pos="begin">&lt;i&gt;</it>и<ut>{u}</ut> таму <ph type="x-publisher-token">XGLX2</ph>.</seg>')
    assert tmx.seg_text(seg) == ("Види овде и таму XGLX2.", True)
    assert tmx.seg_text(etree.fromstring("<seg>  два  простора </seg>")) == ("  два  простора ", False)


def test_the_tmx_module_knows_the_stores_name_of_human_entries():
    assert tmx.HUMAN_ENGINE == HUMAN
