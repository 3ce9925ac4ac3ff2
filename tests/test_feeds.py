"""Feeds: parse what build_feeds emits (feedparser + lxml) and assert its structure."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path

import feedparser
import pytest
from click.testing import CliRunner
from lxml import etree

from publisher.cli import main
from publisher.errors import PublisherError
from publisher.feeds import build_feeds
from publisher.feeds import write as feeds_write
from publisher.feeds.content import sanitize_html, shorten, xml_text
from publisher.models import CleanRelease, StoredRelease, TranslationStatus
from publisher.settings import load_settings

from .conftest import SAMPLE, SAMPLE_TITLE

ATOM = "{http://www.w3.org/2005/Atom}"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
SQ_TITLE = "Takimi i ÇBK-së me shefat e kufirit në Ballkanin Perëndimor"
FEEDS_TOML = """
[translation]
publish = {{en = "machine", sq = "{sq}"}}

[feeds]
output_dir = "public"
max_entries = {max_entries}
"""


def make_release(store, n: int, title: str, body: str, day: int | None = None, guid: str | None = None,
                 **extra) -> StoredRelease:
    published = dt.datetime(2026, 3, day or n, 9, 30, tzinfo=dt.UTC)
    digest = hashlib.sha256(f"{title}\n{body}".encode()).hexdigest()
    clean = CleanRelease(source="inbox", ref=f"r{n}.txt", raw=body.encode(), content_type="text/plain",
                         title=title, body=body, content_hash=digest, guid=guid or f"guid-{n}", link=None,
                         published_at=published, language="mk", **extra)
    return store.save_release(clean)[1]


def sample_release(store) -> StoredRelease:
    paragraphs = SAMPLE.read_text(encoding="utf-8").split("\n\n")[1:4]
    return make_release(store, 1, SAMPLE_TITLE, "\n\n".join(paragraphs), author="ИОМ Скопје",
                        categories=("миграции", "граници"))


def populate(store) -> dict[str, StoredRelease]:
    """Three releases: r1 in en (machine) and sq (machine), r2 in en (human), r3 only mk."""
    r1 = sample_release(store)
    r2 = make_release(store, 2, "Втора вест за миграцијата", "Прв пасус.\n\nВтор пасус.")
    r3 = make_release(store, 3, "Трета вест", "Само на македонски.")
    store.save_machine_translation(r1, "en", "IOM meets the chiefs of border services", "First paragraph.\n\n"
                                   "Second paragraph.", "apertium", [])
    store.save_machine_translation(r1, "sq", SQ_TITLE, "Paragrafi i parë: çështje të sigurisë.\n\nI dyti.",
                                   "google", [])
    store.save_human_translation(r2, "en", "Second news on migration", "First.\n\nSecond.", editor="ana")
    store.save_translation_problem(r3, "sq", "no engine", status=TranslationStatus.FAILED)
    return {"r1": r1, "r2": r2, "r3": r3}


def settings_for(site, max_entries: int = 50, sq: str = "machine", extra: str = ""):
    site.write(FEEDS_TOML.format(max_entries=max_entries, sq=sq) + extra)
    return site.settings()


def parse(settings, kind: str, lang: str):
    path = settings.feeds.output_dir / settings.feeds.path(kind, lang)
    return feedparser.parse(path.read_bytes())


def atom_entries(settings, lang: str) -> list[etree._Element]:
    path = settings.feeds.output_dir / settings.feeds.path("atom", lang)
    return etree.parse(str(path)).getroot().findall(f"{ATOM}entry")


# ---------------------------------------------------------------------------- structure
def test_six_feeds_opml_and_index_in_every_language(site, store):
    releases = populate(store)
    settings = settings_for(site)
    report = build_feeds(settings, store)
    assert report.counts() == {"written": 8, "unchanged": 0}
    base = "http://127.0.0.1:8080"
    for lang, count in (("mk", 3), ("en", 2), ("sq", 1)):
        for kind, version in (("rss", "rss20"), ("atom", "atom10")):
            d = parse(settings, kind, lang)
            assert not d.bozo, d.bozo_exception
            assert d.version == version
            assert d.feed.language == lang
            assert d.feed.link == base + "/"
            assert len(d.entries) == count
            assert d.feed.generator.startswith("publisher")
            for e in d.entries:
                assert e.link.endswith(f"/{lang}") and e.link.startswith(base + "/releases/")
                assert e.id.startswith("tag:127.0.0.1,2026:release/") and e.id.endswith(f"/{lang}")
                assert e.published_parsed and e.title and e.summary and e.content[0].value
            if kind == "atom":
                root = etree.fromstring((settings.feeds.output_dir / settings.feeds.path(kind, lang)).read_bytes())
                assert root.get(XML_LANG) == lang
                self_link = root.find(f"{ATOM}link[@rel='self']")
                assert self_link.get("href") == f"{base}/feeds/{lang}/atom.xml"
    mk = parse(settings, "atom", "mk")
    assert [e.title for e in mk.entries] == ["Трета вест", "Втора вест за миграцијата", SAMPLE_TITLE]  # newest first
    assert mk.entries[2].author == "ИОМ Скопје"
    assert {t.term for t in mk.entries[2].tags} == {"миграции", "граници"}
    sq = parse(settings, "rss", "sq")
    assert sq.entries[0].title == SQ_TITLE and "çështje" in sq.entries[0].content[0].value
    assert sq.entries[0].id == f"tag:127.0.0.1,2026:release/{releases['r1'].uid}/sq"
    rss = etree.parse(str(settings.feeds.output_dir / "feeds/en/rss.xml")).getroot()
    assert all(g.get("isPermaLink") == "false" for g in rss.iter("guid"))
    opml = etree.parse(str(settings.feeds.output_dir / "feeds/feeds.opml")).getroot()
    urls = [o.get("xmlUrl") for o in opml.iter("outline")]
    assert urls == [f"{base}/feeds/{lang}/{kind}.xml" for lang in ("mk", "en", "sq") for kind in ("rss", "atom")]
    page = (settings.feeds.output_dir / "feeds/index.html").read_text(encoding="utf-8")
    assert page.count('<link rel="alternate" type="application/') == 6
    assert 'hreflang="sq"' in page and "Македонски" in page


def test_hreflang_alternates_name_only_published_languages(site, store):
    releases = populate(store)
    settings = settings_for(site)
    build_feeds(settings, store)
    base = "http://127.0.0.1:8080/releases"

    def links(lang: str, uid: str) -> list[tuple[str, str]]:
        for entry in atom_entries(settings, lang):
            if entry.findtext(f"{ATOM}id").endswith(f"/{uid}/{lang}"):
                found = entry.findall(f"{ATOM}link")
                assert all(l.get("rel") == "alternate" and l.get("type") == "text/html" for l in found)
                return [(l.get("hreflang"), l.get("href")) for l in found]
        raise AssertionError(f"{uid} not in the {lang} feed")

    r1, r2, r3 = (releases[k].uid for k in ("r1", "r2", "r3"))
    assert links("en", r1) == [("mk", f"{base}/{r1}/mk"), ("sq", f"{base}/{r1}/sq"), ("en", f"{base}/{r1}/en")]
    assert links("mk", r1) == [("en", f"{base}/{r1}/en"), ("sq", f"{base}/{r1}/sq"), ("mk", f"{base}/{r1}/mk")]
    assert links("en", r2) == [("mk", f"{base}/{r2}/mk"), ("en", f"{base}/{r2}/en")]  # no sq variant
    assert links("mk", r3) == [("mk", f"{base}/{r3}/mk")]  # sq failed: not linked
    # every reader's "entry link" is the entry's own language (the last alternate)
    assert [e.link for e in parse(settings, "atom", "en").entries] == [f"{base}/{r2}/en", f"{base}/{r1}/en"]


def test_machine_translation_note_in_the_entry_language(site, store):
    populate(store)
    settings = settings_for(site)
    build_feeds(settings, store)
    en = {e.title: e for e in parse(settings, "atom", "en").entries}
    machine, human = en["IOM meets the chiefs of border services"], en["Second news on migration"]
    assert "Machine translation from Macedonian." in machine.content[0].value
    assert "Machine translation from Macedonian." in machine.summary  # RSS description / Atom summary
    assert "Machine translation" not in human.content[0].value
    sq = parse(settings, "rss", "sq").entries[0]
    assert "Përkthim automatik nga maqedonishtja." in sq.content[0].value
    assert "Përkthim automatik" in sq.summary
    assert all("превод" not in e.content[0].value for e in parse(settings, "rss", "mk").entries)


def test_unpublishable_variants_are_absent_until_approved(site, store):
    releases = populate(store)
    settings = settings_for(site, sq="review")
    build_feeds(settings, store)
    assert parse(settings, "atom", "sq").entries == []
    en_links = [h for e in atom_entries(settings, "en") for h in (l.get("hreflang") for l in e.findall(f"{ATOM}link"))]
    assert "sq" not in en_links  # no hreflang to an unpublished variant
    store.approve_translation(releases["r1"], "sq", editor="ana")
    report = build_feeds(settings, store, ["sq"])
    assert [f.path for f in report.written] == ["feeds/sq/rss.xml", "feeds/sq/atom.xml"]
    assert [e.title for e in parse(settings, "atom", "sq").entries] == [SQ_TITLE]


def test_ids_stable_across_rebuilds_and_revisions_and_updated_moves(site, store):
    releases = populate(store)
    settings = settings_for(site)
    build_feeds(settings, store)
    before = {lang: {e.id: e for e in parse(settings, "atom", lang).entries} for lang in ("mk", "en")}
    (settings.feeds.output_dir / "feeds/mk/atom.xml").unlink()  # a rebuild from scratch: same ids
    build_feeds(settings, store)
    assert set(before["mk"]) == {e.id for e in parse(settings, "atom", "mk").entries}
    r2 = releases["r2"]
    corrected = make_release(store, 2, "Втора вест за миграцијата (исправено)", "Прв пасус, исправен.", guid="guid-2")
    assert corrected.uid == r2.uid and corrected.revision == 2
    report = build_feeds(settings, store)
    assert "feeds/mk/atom.xml" in [f.path for f in report.written]
    after = {e.id: e for e in parse(settings, "atom", "mk").entries}
    assert set(after) == set(before["mk"])
    entry_id = f"tag:127.0.0.1,2026:release/{r2.uid}/mk"
    assert after[entry_id].title.endswith("(исправено)")
    assert dt.datetime.fromisoformat(after[entry_id].updated) > dt.datetime.fromisoformat(before["mk"][entry_id].updated)
    assert after[entry_id].published_parsed == before["mk"][entry_id].published_parsed


def test_no_change_rebuild_writes_nothing(site, store):
    populate(store)
    settings = settings_for(site)
    build_feeds(settings, store)
    out = settings.feeds.output_dir
    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert len(files) == 8 and not [p for p in files if p.name.endswith(".tmp")]
    past = 1_600_000_000
    for path in files:
        os.utime(path, (past, past))
    snapshot = {p: p.read_bytes() for p in files}
    report = build_feeds(settings, store)
    assert report.counts() == {"written": 0, "unchanged": 8}
    for path in files:
        assert path.stat().st_mtime == past and path.read_bytes() == snapshot[path]
    # a file edited by hand (fingerprint line intact) is put right by the byte comparison
    # only when its inputs change; a deleted one is rebuilt at once
    (out / "feeds/en/rss.xml").unlink()
    report = build_feeds(settings, store)
    assert [f.path for f in report.written] == ["feeds/en/rss.xml"]


def test_newest_n_entries_and_long_titles_and_control_characters(site, store):
    long_title = "Многу " * 80 + "долг наслов"
    for n in range(1, 6):
        make_release(store, n, f"Вест {n}\x07\x1b" if n < 5 else long_title, f"Текст\x01 {n}.\x0c")
    settings = settings_for(site, max_entries=3)
    build_feeds(settings, store)
    for kind in ("rss", "atom"):
        raw = (settings.feeds.output_dir / settings.feeds.path(kind, "mk")).read_bytes()
        etree.fromstring(raw.split(b"\n", 1)[1].split(b"\n", 1)[1])  # well-formed
        assert b"\x07" not in raw and b"\x01" not in raw and b"&#" not in raw
        d = parse(settings, kind, "mk")
        assert [e.title[:6] for e in d.entries] == ["Многу ", "Вест 4", "Вест 3"]
        assert len(d.entries[0].title) <= 200 and d.entries[0].title.endswith("…")


def test_a_crash_mid_build_leaves_the_previous_feeds_intact(site, store, monkeypatch):
    populate(store)
    settings = settings_for(site)
    build_feeds(settings, store)
    out = settings.feeds.output_dir
    previous = {p: p.read_bytes() for p in out.rglob("*.xml")}
    make_release(store, 9, "Нова вест", "Нов текст.")

    def crash(fd: int) -> None:  # the disk fills up / the process dies while writing
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(feeds_write.os, "fsync", crash)
    with pytest.raises(OSError):
        build_feeds(settings, store)
    assert {p: p.read_bytes() for p in out.rglob("*.xml")} == previous
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]
    monkeypatch.undo()
    report = build_feeds(settings, store)
    assert {f.path for f in report.written} >= {"feeds/mk/rss.xml", "feeds/mk/atom.xml"}
    assert parse(settings, "rss", "mk").entries[0].title == "Нова вест"


def test_atomic_write_replaces_in_one_step(tmp_path, monkeypatch):
    target = tmp_path / "feeds" / "mk" / "rss.xml"
    feeds_write.atomic_write(target, b"old")
    seen = []
    real_replace = os.replace

    def spy(src, dst):
        seen.append((Path(src).parent, Path(dst), target.read_bytes()))  # the target is still whole
        real_replace(src, dst)

    monkeypatch.setattr(feeds_write.os, "replace", spy)
    assert feeds_write.write_if_changed(target, b"new" * 1000)
    assert seen == [(target.parent, target, b"old")]
    assert target.read_bytes() == b"new" * 1000
    assert not feeds_write.write_if_changed(target, b"new" * 1000)


# ---------------------------------------------------------------------------- pure parts
def test_sanitize_html_removes_scripts_handlers_and_tracking_pixels():
    dirty = ('<p onclick="steal()">Hi<script>alert(1)</script><style>p{}</style></p>'
             '<img src="https://tracker.example/p.gif" width="1" height="1">'
             '<img src="http://127.0.0.1:8080/static/photo.jpg" alt="photo">'
             '<img src="http://127.0.0.1:8080/static/pixel.gif" width="1" height="1">'
             '<a href="javascript:evil()">x</a><a href="https://iom.int/">IOM</a><iframe src="x"></iframe>')
    clean = sanitize_html(dirty, "http://127.0.0.1:8080")
    for bad in ("script", "onclick", "style", "tracker.example", "javascript", "iframe", 'width="1"'):
        assert bad not in clean
    assert '<img src="http://127.0.0.1:8080/static/photo.jpg" alt="photo">' in clean
    assert '<a href="https://iom.int/" rel="noopener noreferrer">IOM</a>' in clean


def test_text_helpers():
    assert xml_text("a\x00b\x1fc\ufffed\ttab\n") == "abcd\ttab\n"
    assert shorten("кратко", 10) == "кратко"
    cut = shorten("збор " * 100, 50)
    assert len(cut) <= 50 and cut.endswith("збор…")


def test_settings_reject_paths_without_lang_and_outside_the_folder(site):
    site.write('[feeds]\nrss_path = "feeds/rss.xml"\n')
    with pytest.raises(Exception, match=r"\{lang\}"):
        site.settings()
    site.write('[feeds]\nopml_path = "../feeds.opml"\n')
    with pytest.raises(Exception, match="relative path"):
        site.settings()


def test_unknown_language_is_refused(site, store):
    with pytest.raises(PublisherError, match="not a language"):
        build_feeds(settings_for(site), store, ["de"])


def test_site_template_overrides_the_packaged_index(site, store):
    (site.dir / "templates" / "feed").mkdir(parents=True)
    (site.dir / "templates" / "feed" / "index.html").write_text("custom {{ site_name }}", encoding="utf-8")
    settings = settings_for(site)
    build_feeds(settings, store)
    assert (settings.feeds.output_dir / "feeds/index.html").read_text(encoding="utf-8") == "custom IOM North Macedonia"


def test_cli_feeds_build_json(site, store):
    populate(store)
    settings = settings_for(site)
    runner = CliRunner()
    result = runner.invoke(main, ["feeds", "build", "--settings", str(site.settings_file), "--lang", "sq", "--json"])
    assert result.exit_code == 0, result.output
    import json

    data = json.loads(result.output)
    assert [f["path"] for f in data["files"] if f["written"]] == [
        "feeds/sq/rss.xml", "feeds/sq/atom.xml", "feeds/feeds.opml", "feeds/index.html"]
    assert not (settings.feeds.output_dir / "feeds/mk/rss.xml").exists()
    again = runner.invoke(main, ["feeds", "build", "--settings", str(site.settings_file)])
    assert again.exit_code == 0 and "4 written, 4 unchanged" in again.output
    bad = runner.invoke(main, ["feeds", "build", "--settings", str(site.settings_file), "--lang", "de"])
    assert bad.exit_code == 1 and "not a language" in bad.output
    assert load_settings(site.settings_file, environ={}).feeds.max_entries == 50


def test_logo_custom_titles_and_notes(site, store):
    populate(store)
    settings = settings_for(site, extra='logo = "/static/logo.png"\ntitles = {en = "{site} news"}\n'
                        'machine_notes = {en = "Translated by machine from {original}."}\n')
    build_feeds(settings, store)
    rss, atom = parse(settings, "rss", "en"), parse(settings, "atom", "en")
    assert rss.feed.title == atom.feed.title == "IOM North Macedonia news"
    assert rss.feed.image.href == "http://127.0.0.1:8080/static/logo.png"
    assert atom.feed.logo == "http://127.0.0.1:8080/static/logo.png"
    assert "Translated by machine from Macedonian." in atom.entries[-1].content[0].value


def test_every_kind_of_change_rebuilds_only_the_feeds_it_touches(site, store):
    releases = populate(store)
    settings = settings_for(site)
    build_feeds(settings, store)
    # a staff edit of the English text: only the English feeds change
    store.save_human_translation(releases["r2"], "en", "Second news on migration, corrected", "First.\n\nSecond.",
                                 editor="ana")
    report = build_feeds(settings, store)
    assert sorted(f.path for f in report.written) == ["feeds/en/atom.xml", "feeds/en/rss.xml"]
    assert "corrected" in (settings.feeds.output_dir / "feeds/en/atom.xml").read_text(encoding="utf-8")
    # the same title, only the body changed: still caught
    store.save_human_translation(releases["r2"], "en", "Second news on migration, corrected", "First.\n\nChanged.",
                                 editor="ana")
    assert sorted(f.path for f in build_feeds(settings, store).written) == ["feeds/en/atom.xml", "feeds/en/rss.xml"]
    assert build_feeds(settings, store).written == []
