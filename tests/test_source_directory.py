"""The `directory` source through the real ingest stage, on SQLite and PostgreSQL."""

from __future__ import annotations

import codecs
import datetime as dt
import os
import random
import shutil
import textwrap
import time
from pathlib import Path

import pytest

from publisher.app import App

from .conftest import SAMPLE, SAMPLE_TITLE

SAMPLE_TEXT = SAMPLE.read_text(encoding="utf-8")
UTC = dt.timezone.utc
OLD = time.time() - 3 * 3600  # an mtime well past any settle time

MK_BODY = (
    "Меѓународната организација за миграции денеска одржа обука за граничната полиција во Скопје, "
    "посветена на идентификација на ранливи мигранти и заштита на нивните права.\n\n"
    "На обуката учествуваа триесет полициски службеници од сите гранични премини, кои ги "
    "разменија своите искуства и добрите практики од регионот на Западен Балкан."
)

ARTICLE_HTML = """<!DOCTYPE html>
<html lang="mk"><head><meta charset="utf-8">
<title>ИОМ ја поддржува обуката на граничната полиција | ИОМ Северна Македонија</title>
<meta property="og:title" content="ИОМ ја поддржува обуката на граничната полиција">
<meta property="article:published_time" content="2024-07-14T09:30:00">
</head><body>
<header><nav><ul><li><a href="/">Почетна</a></li><li><a href="/za-nas">За нас</a></li>
<li><a href="/kontakt">Контакт со навигацијата</a></li></ul></nav></header>
<main><article>
<h1>ИОМ ја поддржува обуката на граничната полиција</h1>
<p>Меѓународната организација за миграции (ИОМ) денеска одржа дводневна обука за припадниците на
граничната полиција во Скопје, посветена на идентификација на ранливи мигранти.</p>
<p>На обуката учествуваа триесет полициски службеници од сите гранични премини, кои ги разменија
своите искуства и добрите практики од регионот на Западен Балкан.</p>
<p>Обуката е дел од регионалниот проект финансиран од Европската унија, кој има за цел зајакнување
на капацитетите за управување со границите и заштита на човековите права.</p>
</article></main>
<footer><p>© 2024 Меѓународна организација за миграции. Сите права задржани. Футерски текст.</p></footer>
</body></html>
"""


def ingest(site):
    with App(site.settings()) as app:
        return app.ingest()


def drop(site, name: str, data: bytes | str, mtime: float = OLD) -> Path:
    path = site.inbox / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    os.utime(path, (mtime, mtime))
    return path


def only_release(store):
    [release] = store.list_releases()
    return release


def counts(report, **expected):
    full = {"new": 0, "updated": 0, "unchanged": 0, "quarantined": 0, "failed_sources": 0}
    full.update(expected)
    assert report.counts() == full, (report.quarantined, report.failed_sources)


# ----------------------------------------------------------------------------- .txt in any encoding


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(SAMPLE_TEXT.encode("utf-8"), id="utf-8"),
        pytest.param(codecs.BOM_UTF8 + SAMPLE_TEXT.encode("utf-8"), id="utf-8-bom"),
        pytest.param(SAMPLE_TEXT.encode("cp1251"), id="windows-1251"),
        pytest.param(SAMPLE_TEXT.replace("\n", "\r\n").encode("utf-16"), id="utf-16-bom-crlf"),
        pytest.param(SAMPLE_TEXT.encode("utf-16-le"), id="utf-16-le"),
        pytest.param(SAMPLE_TEXT.encode("utf-16-be"), id="utf-16-be"),
        pytest.param(SAMPLE_TEXT.encode("utf-32"), id="utf-32"),
    ],
)
def test_txt_in_each_encoding_ingests(site, store, data):
    drop(site, "release.txt", data)
    counts(ingest(site), new=1)
    release = only_release(store)
    assert release.title == SAMPLE_TITLE
    assert len(release.paragraphs) == 4
    assert release.paragraphs[0].startswith("Меѓународната организација за миграции (ИОМ)")
    assert "Треба да знаете" not in release.body and "  " not in release.body
    assert release.language == "mk" and release.flags == ()
    assert abs(release.published_at.timestamp() - OLD) < 0.001  # no date in a .txt: its mtime
    assert store.raw_revision(release.id) == data  # the original bytes, not re-encoded


# ----------------------------------------------------------------------------- .md and .html


def test_markdown_front_matter(site, store):
    drop(site, "sredba.md", textwrap.dedent(
        """\
        ---
        title: "ИОМ одржа обука за граничната полиција"
        date: 2024-05-01 10:30
        lang: mk
        slug: obuka-granicna-policija
        author: Служба за односи со јавноста
        tags: [граници, обука]
        ---
        # Поднаслов во телото

        """) + MK_BODY.replace("Скопје,", "**Скопје**,"))
    counts(ingest(site), new=1)
    release = only_release(store)
    assert release.title == "ИОМ одржа обука за граничната полиција"
    # 10:30 in Skopje in May (CEST, UTC+2) is 08:30 UTC
    assert release.published_at == dt.datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
    assert release.slug == "obuka-granicna-policija"
    assert release.categories == ("граници", "обука")
    assert release.author == "Служба за односи со јавноста"
    assert release.language == "mk" and release.flags == ()
    assert release.paragraphs[0] == "Поднаслов во телото"
    assert "Скопје," in release.body and "**" not in release.body and "---" not in release.body


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("2024-01-15 10:30:00", dt.datetime(2024, 1, 15, 9, 30, tzinfo=UTC)),  # winter: UTC+1
        ("2024-01-15", dt.datetime(2024, 1, 14, 23, 0, tzinfo=UTC)),  # midnight in Skopje
        ("2024-06-01T12:00:00Z", dt.datetime(2024, 6, 1, 12, 0, tzinfo=UTC)),
        ("2024-06-01T12:00:00+03:00", dt.datetime(2024, 6, 1, 9, 0, tzinfo=UTC)),
    ],
)
def test_markdown_dates_are_read_as_skopje_time(site, store, date, expected):
    drop(site, "r.md", f"---\ntitle: Наслов на соопштението\ndate: {date}\n---\n\n{MK_BODY}\n")
    counts(ingest(site), new=1)
    assert only_release(store).published_at == expected


def test_markdown_without_front_matter_uses_the_first_heading(site, store):
    drop(site, "r.markdown", f"# ИОМ одржа обука за граничната полиција\n\n{MK_BODY}\n\n* прва точка\n* втора точка\n")
    counts(ingest(site), new=1)
    release = only_release(store)
    assert release.title == "ИОМ одржа обука за граничната полиција"
    assert release.paragraphs[0].startswith("Меѓународната организација за миграции")
    assert release.paragraphs[-2:] == ["- прва точка", "- втора точка"]  # issue 9: list items read as such
    assert "#" not in release.body


def test_html_article_is_extracted(site, store):
    drop(site, "article.html", ARTICLE_HTML)
    counts(ingest(site), new=1)
    release = only_release(store)
    assert release.title == "ИОМ ја поддржува обуката на граничната полиција"
    assert release.published_at == dt.datetime(2024, 7, 14, 7, 30, tzinfo=UTC)  # 09:30 CEST
    assert len(release.paragraphs) == 3
    assert release.paragraphs[0].startswith("Меѓународната организација за миграции (ИОМ)")
    for nav_or_footer in ("Почетна", "За нас", "навигацијата", "Сите права задржани", "Футерски"):
        assert nav_or_footer not in release.body
    assert release.title not in release.paragraphs
    assert release.language == "mk" and release.flags == ()


def test_html_in_windows_1251_with_meta_charset(site, store):
    html = ARTICLE_HTML.replace('<meta charset="utf-8">', '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">')
    drop(site, "article.htm", html.encode("cp1251"))
    counts(ingest(site), new=1)
    assert only_release(store).title == "ИОМ ја поддржува обуката на граничната полиција"


# ----------------------------------------------------------------------------- idempotence and revisions


def test_second_run_stores_nothing_new(site, store):
    drop(site, "a.txt", SAMPLE_TEXT)
    drop(site, "b.md", f"# Втора вест за граничната полиција\n\n{MK_BODY}\n")
    drop(site, "c.html", ARTICLE_HTML)
    counts(ingest(site), new=3)
    counts(ingest(site), unchanged=3)
    # touched but identical content: read again, still nothing new
    os.utime(site.inbox / "a.txt", (OLD + 60, OLD + 60))
    counts(ingest(site), unchanged=3)
    assert store.count_releases() == 3
    assert all(r.revision == 1 for r in store.list_releases())


def test_edited_file_becomes_revision_2(site, store):
    original = SAMPLE_TEXT.encode("utf-8")
    drop(site, "release.txt", original)
    counts(ingest(site), new=1)
    edited = SAMPLE_TEXT.replace("Западен Балкан\n", "Западен Балкан и Турција\n", 1).encode("cp1251")
    drop(site, "release.txt", edited, mtime=OLD + 120)
    counts(ingest(site), updated=1)
    release = only_release(store)
    assert release.revision == 2
    assert release.title == SAMPLE_TITLE + " и Турција"
    revisions = store.revisions(release.uid)
    assert [r.revision for r in revisions] == [1, 2]
    assert revisions[0].title == SAMPLE_TITLE and revisions[1].title == release.title
    assert revisions[0].content_hash != revisions[1].content_hash
    assert [r.raw_size for r in revisions] == [len(original), len(edited)]
    assert store.raw_revision(release.id, 1) == original
    assert store.raw_revision(release.id, 2) == edited
    assert store.raw_revision(release.id) == edited


def test_same_content_under_another_name_is_stored_once(site, store):
    drop(site, "a.txt", SAMPLE_TEXT)
    counts(ingest(site), new=1)
    # same words, other spacing and encoding: still the same release
    drop(site, "copy.txt", SAMPLE_TEXT.replace(" ", "  ").encode("utf-16"))
    counts(ingest(site), unchanged=2)
    assert store.count_releases() == 1
    assert len(store.revisions(only_release(store).id)) == 1


# ----------------------------------------------------------------------------- quarantine

BAD = {
    "empty.txt": (b"", "empty"),
    "scan.txt": (b"%PDF-1.7\n" + bytes(range(256)) * 4, "binary"),
    "huge.txt": (("Огромна вест\n\n" + "збор " * 5000).encode("utf-8"), "max_bytes"),
    "garbled.txt": (random.Random(7).randbytes(3000).replace(b"\x00", b"\x9d"), "undecodable"),
    "nav-only.txt": ("Треба да знаете\n\nПоследни објави\n\nСподели\n".encode("utf-8"), "no title"),
    "title-only.txt": ("Само наслов без текст\n\nТреба да знаете\n".encode("utf-8"), "no body"),
    "long-line.md": (("Ова е многу долга прва реченица без празен ред. " * 8 + "\n\n" + MK_BODY).encode("utf-8"),
                     "over 300"),
}


def test_bad_files_are_quarantined_and_good_files_still_ingest(site, store):
    site.write(sources=textwrap.dedent(
        """
        [[sources]]
        name = "inbox"
        type = "directory"
        path = "inbox"
        settle_seconds = 0
        max_bytes = 20000
        """))
    for name, (data, _) in BAD.items():
        drop(site, name, data)
    drop(site, "good.txt", SAMPLE_TEXT)
    report = ingest(site)
    counts(report, new=1, quarantined=len(BAD))
    assert only_release(store).title == SAMPLE_TITLE
    assert sorted(os.listdir(site.inbox)) == ["good.txt"]  # the bad ones were moved out

    quarantine_dir = site.dir / "var" / "quarantine" / "inbox"
    reasons = dict(report.quarantined)
    rows = {row.ref: row for row in store.list_quarantine()}
    assert set(rows) == set(BAD)
    for name, (data, expected) in BAD.items():
        row = rows[name]
        assert expected in row.reason and expected in reasons[f"inbox:{name}"], (name, row.reason)
        assert row.source == "inbox"
        moved = Path(row.stored_path)
        assert moved.parent == quarantine_dir and moved.name.endswith(name)
        assert moved.read_bytes() == data
        note = moved.with_name(moved.name + ".reason.txt").read_text(encoding="utf-8")
        assert f"file: {name}" in note and row.reason in note
        if name != "huge.txt":  # an oversize file is not read into the database
            assert store.quarantine_raw(row.id) == data and row.size == len(data)
    assert "20000" in rows["huge.txt"].reason
    assert "300" in rows["long-line.md"].reason

    # nothing is retried while the files stay in quarantine
    counts(ingest(site), unchanged=1)


def test_fixed_file_dropped_again_ingests(site, store):
    drop(site, "release.txt", "Само наслов\n\nПоследни објави\n")
    counts(ingest(site), quarantined=1)
    [row] = store.list_quarantine()
    assert "no body" in row.reason and not (site.inbox / "release.txt").exists()
    drop(site, "release.txt", f"Само наслов\n\n{MK_BODY}\n", mtime=OLD + 60)
    counts(ingest(site), new=1)
    assert only_release(store).title == "Само наслов"


def test_quarantined_file_moved_back_unchanged_after_a_settings_fix_ingests(site, store):
    # the body line is (wrongly) configured as boilerplate: no body, quarantined
    def settings(extra: str) -> str:
        return f'\n[[sources]]\nname = "inbox"\ntype = "directory"\npath = "inbox"\nsettle_seconds = 0\n{extra}\n'

    site.write(sources=settings('boilerplate_lines = ["Краток текст на соопштението."]'))
    drop(site, "release.txt", "Наслов на соопштението\n\nКраток текст на соопштението.\n")
    counts(ingest(site), quarantined=1)
    [row] = store.list_quarantine()
    site.write(sources=settings(""))
    shutil.move(row.stored_path, site.inbox / "release.txt")  # same bytes, same mtime
    counts(ingest(site), new=1)
    assert only_release(store).paragraphs == ["Краток текст на соопштението."]


def test_missing_inbox_fails_the_source_without_raising(site, store):
    site.write(sources=textwrap.dedent(
        """
        [[sources]]
        name = "gone"
        type = "directory"
        path = "no-such-folder"
        settle_seconds = 0

        [[sources]]
        name = "inbox"
        type = "directory"
        path = "inbox"
        settle_seconds = 0
        """))
    drop(site, "a.txt", SAMPLE_TEXT)
    report = ingest(site)
    counts(report, new=1, failed_sources=1)
    [(name, message)] = report.failed_sources
    assert name == "gone"
    assert str(site.dir / "no-such-folder") in message and "does not exist" in message
    state = store.get_source_state("gone")
    assert state.last_error == message and state.last_success_at is None
    assert store.get_source_state("inbox").last_error is None


# ----------------------------------------------------------------------------- what is not read


def test_files_still_being_written_wait_for_the_next_run(site, store):
    site.write(sources='\n[[sources]]\nname = "inbox"\ntype = "directory"\npath = "inbox"\nsettle_seconds = 600\n')
    path = drop(site, "fresh.txt", SAMPLE_TEXT, mtime=time.time())
    drop(site, "fresh-empty.txt", b"", mtime=time.time())
    counts(ingest(site))
    assert path.exists() and (site.inbox / "fresh-empty.txt").exists()
    os.utime(path, (OLD, OLD))
    counts(ingest(site), new=1)
    assert only_release(store).title == SAMPLE_TITLE


@pytest.mark.parametrize("patterns", [None, '["*"]'])
def test_hidden_and_temporary_files_are_ignored(site, store, patterns):
    extra = f"patterns = {patterns}\n" if patterns else ""
    site.write(sources=f'\n[[sources]]\nname = "inbox"\ntype = "directory"\npath = "inbox"\n'
               f"settle_seconds = 0\nrecursive = true\n{extra}")
    ignored = [".hidden.txt", "draft.tmp", "release.txt.tmp", "release.txt.part", "release.txt~",
               ".git/notes.txt", "sub/.cache/x.txt"]
    for name in ignored:
        drop(site, name, b"\x00\x01 not a release")
    drop(site, "sub/release.txt", SAMPLE_TEXT)
    counts(ingest(site), new=1)
    assert store.list_quarantine() == []
    for name in ignored:
        assert (site.inbox / name).exists()


def test_quarantine_folder_inside_a_recursive_inbox_is_not_read_back(site, store):
    site.write(sources='\n[[sources]]\nname = "inbox"\ntype = "directory"\npath = "inbox"\n'
               'settle_seconds = 0\nrecursive = true\nquarantine_dir = "inbox/rejected"\n')
    drop(site, "title-only.txt", "Само наслов\n")
    drop(site, "good.txt", SAMPLE_TEXT)
    counts(ingest(site), new=1, quarantined=1)
    [row] = store.list_quarantine()
    assert Path(row.stored_path).parent == site.inbox / "rejected" / "inbox"
    # neither the moved file nor its .reason.txt is taken for a new release
    counts(ingest(site), unchanged=1)
    assert store.count_releases() == 1 and len(store.list_quarantine()) == 1


def test_non_matching_files_are_ignored(site, store):
    drop(site, "photo.jpg", b"\xff\xd8\xff\xe0 jpeg")
    drop(site, "notes.docx", b"PK\x03\x04 zip")
    drop(site, "nested/deep.txt", SAMPLE_TEXT)  # not recursive by default
    counts(ingest(site))
    assert store.list_quarantine() == [] and store.count_releases() == 0


# ----------------------------------------------------------------------------- language flags


def test_english_release_is_flagged_as_a_language_mismatch(site, store):
    drop(site, "english.txt", textwrap.dedent(
        """\
        IOM organised a meeting of the heads of border services of the Western Balkans

        The International Organization for Migration brought together the heads of the border
        police services from the region to discuss cooperation and the protection of migrants.

        The meeting was part of a regional project funded by the European Union.
        """))
    counts(ingest(site), new=1)
    release = only_release(store)
    assert release.language == "en"
    assert any(flag.startswith("language-mismatch") for flag in release.flags), release.flags


def test_declared_language_conflicting_with_the_text_is_flagged(site, store):
    drop(site, "declared.md", f"---\ntitle: ИОМ одржа обука за граничната полиција\nlang: en\n---\n\n{MK_BODY}\n")
    counts(ingest(site), new=1)
    release = only_release(store)
    conflicts = [flag for flag in release.flags if flag.startswith("language-conflict")]
    assert conflicts and "en" in conflicts[0] and "mk" in conflicts[0], release.flags


def test_embargo_and_expiry_from_front_matter(site):
    import datetime as dt

    from publisher.app import App

    (site.inbox / "embargoed.md").write_text(
        "---\ntitle: Соопштение под ембарго\nembargo: 2999-01-01 09:00\nexpires: 2999-02-01\n---\n"
        "Меѓународната организација за миграции ќе објави нов извештај за миграциските движења во регионот.\n",
        encoding="utf-8",
    )
    (site.inbox / "bad-date.md").write_text(
        "---\ntitle: Лош датум\nembargo: утре\n---\nТекст на соопштението за медиумите и јавноста.\n", encoding="utf-8"
    )
    app = App(site.settings())
    report = app.ingest()
    assert report.counts()["new"] == 1 and report.counts()["quarantined"] == 1
    assert "embargo: 'утре' is not a date" in report.quarantined[0][1]
    [release] = app.store.list_releases()
    # 09:00 in Skopje in January is 08:00 UTC
    assert release.embargo_until == dt.datetime(2999, 1, 1, 8, 0, tzinfo=dt.timezone.utc)
    assert release.expires_at == dt.datetime(2999, 1, 31, 23, 0, tzinfo=dt.timezone.utc)  # local midnight
    assert app.store.publishable("mk", "mk") == []  # under embargo: not published
    later = dt.datetime(2999, 1, 1, 8, 0, tzinfo=dt.timezone.utc)
    assert [r.id for r, _ in app.store.publishable("mk", "mk", now=later)] == [release.id]
    # moving only the embargo is a change, not "unchanged"
    path = site.inbox / "embargoed.md"
    path.write_text(path.read_text(encoding="utf-8").replace("2999-01-01", "2000-01-01"), encoding="utf-8")
    assert app.ingest().counts()["updated"] == 1
    assert [r.id for r, _ in app.store.publishable("mk", "mk")] == [release.id]
    app.close()
