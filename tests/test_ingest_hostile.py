"""Hostile and careless input through the directory source and ingest (issue 9): bombs,
impossible dates, unreadable files, names that are not UTF-8, files that cannot be moved,
and an account of every file that is skipped. SQLite and PostgreSQL (the `site` fixture).

Where a case needs a process that root's overrides do not help (a file the service may not
read, a folder it may not write), ingest runs in a child process started by `setpriv` without
CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, so file permissions apply as to a service account;
where memory is measured, ingest runs in a child process whose peak RSS is read with getrusage.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from publisher.app import App
from publisher.cli import main
from publisher.sources import limits

from .conftest import SAMPLE, SAMPLE_TITLE, Site

SAMPLE_TEXT = SAMPLE.read_text(encoding="utf-8")
OLD = time.time() - 3 * 3600
ROOT = Path(__file__).resolve().parent.parent
MK_BODY = (
    "Меѓународната организација за миграции денеска одржа обука за граничната полиција во Скопје, "
    "посветена на идентификација на ранливи мигранти и заштита на нивните права."
)

YAML_BOMB = textwrap.dedent(
    """\
    ---
    a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
    b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
    c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
    d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
    e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
    f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
    g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
    h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
    i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
    title: *i
    ---
    """
) + MK_BODY + "\n"

# ingest in a child process: address-space guard, peak RSS in the answer
CHILD = r"""
import json, os, resource, sys, time
guard = 3 * 1024 ** 3  # a runaway child dies here instead of taking the machine with it
resource.setrlimit(resource.RLIMIT_AS, (guard, guard))
from publisher.app import App
from publisher.settings import load_settings
def peak_mb():
    # VmHWM: this process's own peak since exec. ru_maxrss is not: Linux carries the parent's
    # high-water mark over fork/exec, so under a big pytest worker it reports the worker's size.
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
start = time.monotonic()
with App(load_settings(sys.argv[1], environ={})) as app:
    report = app.ingest()
print(json.dumps({
    "counts": report.counts(), "new": report.new, "quarantined": report.quarantined,
    "skipped": report.skipped_counts(), "seconds": time.monotonic() - start,
    "peak_rss_mb": peak_mb(),
}))
"""


def run_child(site: Site, unprivileged: bool = False) -> dict:
    """Ingest in a child process. ``unprivileged``: without the capabilities that let root
    read and write any file (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so file permissions
    apply to it as to a service account (tests run as root)."""
    args = [sys.executable, "-c", CHILD, str(site.settings_file)]
    if unprivileged and os.geteuid() == 0:
        args = [shutil.which("setpriv"), "--bounding-set=-dac_override,-dac_read_search", *args]
    done = subprocess.run(args, capture_output=True, text=True, timeout=240, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def drop(site: Site, name: str | bytes, data: bytes | str, mtime: float = OLD) -> Path:
    path = Path(os.fsdecode(os.path.join(os.fsencode(site.inbox), os.fsencode(name))))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    os.utime(path, (mtime, mtime))
    return path


def ingest(site: Site):
    with App(site.settings()) as app:
        return app.ingest()


def reason_file(row) -> str:
    moved = Path(row.stored_path)
    assert moved.exists(), row.stored_path
    return moved.with_name(moved.name + ".reason.txt").read_text(encoding="utf-8")


def good_md(title: str = "Обука за граничната полиција") -> str:
    return f"---\ntitle: {title}\ndate: 2024-05-01 10:30\n---\n\n{MK_BODY}\n"


# ----------------------------------------------------------------------------- the YAML alias bomb


def test_yaml_alias_bomb_is_quarantined_fast_in_small_memory(site, store):
    drop(site, "bomb.md", YAML_BOMB)
    drop(site, "z-good.txt", SAMPLE_TEXT)
    assert len(YAML_BOMB.encode("utf-8")) < 1024
    result = run_child(site)
    assert result["counts"]["new"] == 1 and result["counts"]["quarantined"] == 1, result
    assert result["peak_rss_mb"] < 300, result
    assert result["seconds"] < 30, result
    [row] = store.list_quarantine()
    assert row.ref == "bomb.md"
    assert "front matter uses YAML aliases (&/*), which are not allowed; write the values out" in row.reason
    assert row.reason in reason_file(row)
    assert [r.title for r in store.list_releases()] == [SAMPLE_TITLE]


@pytest.mark.parametrize(
    ("front", "expected"),
    [
        ("title: &t Наслов\nslug: *t", "aliases"),
        ("base: &b {lang: mk}\n<<: *b\ntitle: Наслов", "aliases"),
        ("title: " + "[" * 200 + "]" * 200, "nested over"),
        ("tags: [" + ", ".join(["x"] * 6000) + "]\ntitle: Наслов", "over 5000 YAML values"),
        ("title: " + "x" * 70_000, "over the 64000-character limit"),
        ("- a\n- b", "not a mapping"),
        ("title: !!python/object:os.system x", "not valid YAML"),
        ("title: Наслов\ndate: 0001-01-01 00:30:00", "date"),
        ("title: Наслов\ndate: 9999-12-31 23:30:00 -05:00", "date"),
    ],
)
def test_front_matter_limits(site, store, front, expected):
    drop(site, "a-bad.md", f"---\n{front}\n---\n\n{MK_BODY}\n")
    drop(site, "b-good.md", good_md())
    report = ingest(site)
    assert report.counts()["new"] == 1 and report.counts()["quarantined"] == 1, report.quarantined
    [row] = store.list_quarantine()
    assert expected in row.reason and row.ref == "a-bad.md", row.reason
    assert row.reason in reason_file(row)
    assert [r.title for r in store.list_releases()] == ["Обука за граничната полиција"]


def test_load_yaml_refuses_the_bomb_without_building_it():
    started = time.monotonic()
    with pytest.raises(limits.ItemRejected, match="aliases"):
        limits.load_front_matter(YAML_BOMB)
    assert time.monotonic() - started < 1
    meta, body = limits.load_front_matter(good_md())
    assert meta["title"] == "Обука за граничната полиција" and body == MK_BODY


# ----------------------------------------------------------------------------- one bad file, the rest go on


def test_impossible_date_does_not_stop_the_folder(site, store):
    drop(site, "a-date.md", "---\ntitle: Стар датум\ndate: 0001-01-01 00:30:00\n---\n\n" + MK_BODY)
    drop(site, "b-good.txt", SAMPLE_TEXT)
    report = ingest(site)
    assert report.counts()["new"] == 1 and report.counts()["quarantined"] == 1, report.quarantined
    [row] = store.list_quarantine()
    assert "front matter date" in row.reason and "0001-01-01" in row.reason
    assert row.reason in reason_file(row)


def test_an_unexpected_error_in_one_file_quarantines_it_alone(site, store, monkeypatch):
    import publisher.sources.directory as directory

    real = directory.extract_markdown

    def broken(text, **kwargs):
        if "взрив" in text:
            raise KeyError("a bug in an extractor")
        return real(text, **kwargs)

    monkeypatch.setattr(directory, "extract_markdown", broken)
    drop(site, "a.md", good_md("Прва") + "\nвзрив\n")
    drop(site, "b.md", good_md("Втора"))
    report = ingest(site)
    assert report.counts()["new"] == 1 and report.counts()["quarantined"] == 1
    [row] = store.list_quarantine()
    assert row.ref == "a.md" and "internal error" in row.reason and "KeyError" in row.reason
    assert row.reason in reason_file(row)


def test_file_name_that_is_not_utf8_is_quarantined_with_row_and_reason(site, store):
    drop(site, b"caf\xe9-\xff.txt", SAMPLE_TEXT)
    drop(site, "z-good.md", good_md())
    report = ingest(site)
    assert report.counts()["new"] == 1 and report.counts()["quarantined"] == 1, report.quarantined
    [row] = store.list_quarantine()
    assert row.ref == "caf\\xe9-\\xff.txt"
    assert "not valid UTF-8" in row.reason and "rename" in row.reason
    note = reason_file(row)
    assert note.strip() and row.reason in note and "caf\\xe9-\\xff.txt" in note
    assert Path(row.stored_path).read_bytes() == SAMPLE_TEXT.encode("utf-8")
    assert os.listdir(site.inbox) == ["z-good.md"]
    assert ingest(site).counts()["unchanged"] == 1  # nothing left to retry


def test_very_long_name_is_quarantined(site, store):
    name = "а" * 120 + ".txt"  # 244 bytes: the quarantine's timestamp prefix must not overflow NAME_MAX
    drop(site, name, b"")
    report = ingest(site)
    assert report.counts()["quarantined"] == 1, report.quarantined
    [row] = store.list_quarantine()
    assert "empty" in row.reason and row.ref == name
    assert len(os.fsencode(Path(row.stored_path).name + ".reason.txt")) <= 255
    assert row.reason in reason_file(row)


# ----------------------------------------------------------------------------- not root: unreadable, unmovable


def nobodys(path: Path, mode: int) -> None:
    nobody = pwd.getpwnam("nobody")
    os.chown(path, nobody.pw_uid, nobody.pw_gid)
    os.chmod(path, mode)


def test_file_the_service_may_not_read_is_quarantined_and_the_rest_ingest(site, store):
    secret = drop(site, "a-secret.txt", SAMPLE_TEXT)
    nobodys(secret, 0o600)  # someone else's private file; ingest runs without root's overrides
    drop(site, "b-good.md", good_md())
    result = run_child(site, unprivileged=True)
    assert result["counts"]["new"] == 1 and result["counts"]["quarantined"] == 1, result
    [row] = store.list_quarantine()
    assert row.ref == "a-secret.txt" and "permission denied" in row.reason.lower(), row.reason
    assert row.reason in reason_file(row)
    assert not secret.exists()  # moved: a rename needs only the folder's permission
    assert [r.title for r in store.list_releases()] == ["Обука за граничната полиција"]


def test_file_that_cannot_be_moved_is_recorded_once_until_it_changes(site, store):
    bad = drop(site, "empty.txt", b"")
    drop(site, "good.md", good_md())
    nobodys(site.inbox, 0o755)  # the service may read the folder but not move files out of it
    first = run_child(site, unprivileged=True)
    assert first["counts"]["new"] == 1 and first["counts"]["quarantined"] == 1, first
    [(ref, reason)] = first["quarantined"]
    assert ref == "inbox:empty.txt" and "empty" in reason and "could not be moved" in reason
    [row] = store.list_quarantine()
    assert row.reason == reason and row.stored_path is None
    second = run_child(site, unprivileged=True)
    assert second["counts"]["quarantined"] == 0 and second["counts"]["unchanged"] == 1, second
    assert second["skipped"] == {"rejected-unmoved": 1}, second
    assert len(store.list_quarantine()) == 1
    bad.write_text("Само наслов\n", encoding="utf-8")
    os.utime(bad, (OLD + 60, OLD + 60))
    third = run_child(site, unprivileged=True)
    assert third["counts"]["quarantined"] == 1, third
    assert "no body" in store.list_quarantine()[0].reason
    assert len(store.list_quarantine()) == 2


# ----------------------------------------------------------------------------- every file accounted for

SKIP_SETTINGS = '\n[[sources]]\nname = "inbox"\ntype = "directory"\npath = "inbox"\nsettle_seconds = 60\n'


def make_skippable_folder(site: Site) -> None:
    drop(site, "good.txt", SAMPLE_TEXT)
    drop(site, "notes.docx", b"PK\x03\x04 zip")
    drop(site, "photo.jpg", b"\xff\xd8\xff\xe0 jpeg")
    drop(site, ".hidden.txt", SAMPLE_TEXT)
    drop(site, "release.txt~", SAMPLE_TEXT)
    drop(site, "upload.txt.part", SAMPLE_TEXT)
    drop(site, "sub/inner.txt", SAMPLE_TEXT)
    drop(site, "fresh.txt", SAMPLE_TEXT, mtime=time.time())
    os.symlink(site.inbox / "good.txt", site.inbox / "link.txt")
    os.mkfifo(site.inbox / "pipe.txt")


def test_skipped_files_are_counted_with_why(site, store):
    site.write(sources=SKIP_SETTINGS)
    make_skippable_folder(site)
    report = ingest(site)
    assert report.counts()["new"] == 1
    assert report.skipped_counts() == {
        "unsupported-type": 2, "hidden": 1, "temporary": 2, "folder": 1, "still-settling": 1,
        "link": 1, "special-file": 1,
    }
    detail = {ref: why for ref, why, _ in report.skipped}
    assert detail["inbox:pipe.txt"] == "special-file" and detail["inbox:sub"] == "folder"
    assert detail["inbox:fresh.txt"] == "still-settling"
    assert store.list_quarantine() == []


def test_ingest_summary_and_json_show_the_skipped_files(site):
    from click.testing import CliRunner

    site.write(sources=SKIP_SETTINGS)
    make_skippable_folder(site)
    runner = CliRunner()
    result = runner.invoke(main, ["ingest", "--json", "--settings", str(site.settings_file)],
                           catch_exceptions=False, env={"PUBLISHER_SETTINGS": None})
    data = json.loads(result.stdout)
    assert data["new"] == 1 and data["quarantined"] == 0  # the existing keys stay
    assert data["skipped"] == {
        "unsupported-type": 2, "hidden": 1, "temporary": 2, "folder": 1, "still-settling": 1,
        "link": 1, "special-file": 1,
    }
    items = {item["ref"]: item for item in data["items"]["skipped"]}
    assert items["inbox:fresh.txt"]["why"] == "still-settling" and "settle" in items["inbox:fresh.txt"]["detail"]
    assert items["inbox:notes.docx"]["why"] == "unsupported-type"

    result = runner.invoke(main, ["ingest", "--settings", str(site.settings_file)],
                           catch_exceptions=False, env={"PUBLISHER_SETTINGS": None})
    assert "skipped: 9" in result.stdout, result.stdout
    assert "still-settling: 1" in result.stdout and "inbox:fresh.txt" in result.stdout


# ----------------------------------------------------------------------------- bounded HTML and Markdown

P = f"<p>{MK_BODY}</p>"


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("deep.html", "<html><body>" + "<div>" * 20_000 + P + "</body></html>", "nested over 250"),
        ("many.html", "<html><body><article>" + "<span>а</span>" * 30_000 + P + "</article></body></html>",
         "over the 20000-element limit"),
        ("big.md", "# Наслов\n\n" + ("Ова е долг текст. " * 20 + "\n\n") * 1000, "over the 300000-character limit"),
    ],
)
def test_html_and_markdown_over_the_limits_are_quarantined_fast(site, store, name, data, expected):
    drop(site, name, data)
    drop(site, "z-good.txt", SAMPLE_TEXT)
    started = time.monotonic()
    report = ingest(site)
    assert time.monotonic() - started < 20
    assert report.counts()["new"] == 1 and report.counts()["quarantined"] == 1, report.quarantined
    [row] = store.list_quarantine()
    assert expected in row.reason, row.reason


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY lol "lol">\n'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10))
    + ']>\n<rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title>'
    "<description>&lol9;</description></item></channel></rss>"
)


def test_feed_with_entity_declarations_is_refused(site, store, httpserver):
    httpserver.expect_request("/rss.xml").respond_with_data(BILLION_LAUGHS, content_type="application/rss+xml")
    site.write(sources=f'\n[[sources]]\nname = "rss"\ntype = "feed"\nurl = "{httpserver.url_for("/rss.xml")}"\n'
               "allow_private_networks = true\n")
    report = ingest(site)
    assert report.counts()["quarantined"] == 1 and report.counts()["new"] == 0, report.quarantined
    [row] = store.list_quarantine()
    assert "declares XML entities" in row.reason, row.reason


def test_feed_limits_without_a_server():
    deep = b'<?xml version="1.0"?><rss version="2.0"><channel>' + b"<x>" * 500 + b"</x>" * 500 + b"</channel></rss>"
    for document, expected in [
        (BILLION_LAUGHS.encode("utf-8"), "declares XML entities"),
        (BILLION_LAUGHS.encode("utf-16"), "declares XML entities"),
        (deep, "nested over 200"),
        (b"<rss>" + b"<i>x</i>" * 60_000 + b"</rss>", "over the 100000-tag limit"),
        (b"<rss>" + b"x" * 2_100_000 + b"</rss>", "over the 2000000-byte limit"),
    ]:
        parsed = limits.parse_feed(document)
        assert not parsed.entries and expected in str(parsed.bozo_exception), (expected, parsed.bozo_exception)
    ok = limits.parse_feed(b'<rss version="2.0"><channel><item><title>t</title></item></channel></rss>')
    assert ok.version == "rss20" and len(ok.entries) == 1


def test_file_with_a_future_mtime_is_read_not_left_settling_for_ever(site, store):
    site.write(sources=SKIP_SETTINGS)
    drop(site, "future.txt", SAMPLE_TEXT, mtime=time.time() + 365 * 86400)  # a wrong clock
    drop(site, "now.txt", MK_BODY + "\n\n" + MK_BODY, mtime=time.time() + 5)  # being written
    report = ingest(site)
    assert report.counts()["new"] == 1 and report.new == ["inbox:future.txt"]
    assert report.skipped_counts() == {"still-settling": 1}


def test_a_few_nul_bytes_in_a_good_file_do_not_lose_it(site, store):
    data = SAMPLE_TEXT.encode("utf-8")
    data = data[:200] + b"\x00" + data[200:400] + b"\x00" + data[400:]
    drop(site, "nul.txt", data)
    report = ingest(site)
    assert report.counts()["new"] == 1, report.quarantined
    [release] = store.list_releases()
    assert "\x00" not in release.title + release.body and store.raw_revision(release.id) == data


def test_recursive_listing_follows_no_link_and_counts_hidden_folders_once(site, store, tmp_path):
    site.write(sources=SKIP_SETTINGS.replace("settle_seconds = 60", "settle_seconds = 0\nrecursive = true"))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SAMPLE_TEXT, encoding="utf-8")
    os.symlink(outside, site.inbox / "linked-folder")
    drop(site, ".git/a.txt", SAMPLE_TEXT)
    drop(site, ".git/b.txt", SAMPLE_TEXT)
    drop(site, "sub/deeper/release.md", good_md())
    report = ingest(site)
    assert report.counts()["new"] == 1 and report.new == ["inbox:sub/deeper/release.md"]
    assert report.skipped_counts() == {"hidden": 1, "link": 1}
