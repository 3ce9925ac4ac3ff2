"""A corpus of hostile and careless inputs for the ingest fuzz test and bench (issue 9).

Each generator makes one folder entry (an Entry: a file, link, pipe, folder or unreadable
file, with its name as bytes) and says what ingest must do with it:

- ``good``: a release; it must be ingested (new, updated or unchanged). Losing one is a bug.
- ``bad``: it must be quarantined with a reason (a row, the moved file, a .reason.txt).
- ``skip:<why>``: it must be skipped and counted under that reason.
- ``any``: ingested or quarantined, never lost, never an exception (truncated and mixed
  encodings, NUL bytes, mutated bytes: whether the text is still a release is not ours to say).

``feed_document`` makes feed documents the same way (bombs, deep XML, broken XML, good feeds).
Used by tests/test_fuzz_ingest.py (a sample, with Hypothesis) and bench/fuzz_ingest.py (all).
"""

from __future__ import annotations

import codecs
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

P = [
    "Меѓународната организација за миграции (ИОМ) го организираше регионалниот состанок со "
    "шефовите на граничните полиции од земјите на Западен Балкан.",
    "Средбата беше организирана во рамките на регионалните проекти за зајакнување на капацитетите "
    "за реадмисија во земјите од Западен Балкан.",
    "Регионалната соработка и координација се клучни за справување со идентификуваните предизвици "
    "и промовирање на ефективни системи на гранично управување.",
    "Во земјите од Западен Балкан, ИОМ продолжува со имплементација на програми и поддршка за "
    "политиките според потребите на институциите.",
    "На обуката учествуваа триесет полициски службеници од сите гранични премини, кои ги "
    "разменија своите искуства и добрите практики.",
]
OLD = 1_700_000_000  # an mtime long past any settle time

YAML_BOMB = (
    "---\n" + 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(f"{c}: &{c} [{','.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    + "title: *i\n---\n" + P[0] + "\n"
)
BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY lol "lol">\n'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">\n' for i in range(1, 10))
    + ']>\n<rss version="2.0"><channel><title>&lol9;</title><item><title>&lol9;</title>'
    "<description>&lol9;</description></item></channel></rss>"
)


@dataclass
class Entry:
    name: bytes
    kind: str  # file | symlink | fifo | dir | unreadable
    data: bytes = b""
    expect: str = "any"  # good | bad | any | skip:<why>
    label: str = ""
    fresh: bool = False  # mtime now: still settling
    target: bytes = b""  # symlink target


def _title(rng: random.Random, i: int) -> str:
    words = ["Соопштение", "ИОМ", "обука", "граничната", "полиција", "Скопје", "миграции", "проект"]
    return f"{rng.choice(words)} број {i}: " + " ".join(rng.sample(words, 4))


def _body(rng: random.Random, i: int) -> list[str]:
    paragraphs = rng.sample(P, rng.randint(2, 4))
    return paragraphs + [f"Ова соопштение има реден број {i} и е дел од тестот за безбедно внесување."]


def good_text(rng: random.Random, i: int) -> str:
    return _title(rng, i) + "\n\n" + "\n\n".join(_body(rng, i)) + "\n"


def good_md(rng: random.Random, i: int) -> str:
    front = f'---\ntitle: "{_title(rng, i)}"\ndate: 2024-05-{rng.randint(1, 28):02d} 10:30\nlang: mk\ntags: [обука, граници]\n---\n'
    body = "\n\n".join(f"**{p}**" if rng.random() < .3 else p for p in _body(rng, i))
    return front + "\n" + body + "\n\n* прва точка\n* [втора](https://example.org/) точка\n"


def good_html(rng: random.Random, i: int) -> str:
    title = _title(rng, i)
    paras = "".join(f"<p>{p}</p>\n" for p in _body(rng, i))
    return (f'<!DOCTYPE html><html lang="mk"><head><meta charset="utf-8"><title>{title}</title>'
            f'<meta property="og:title" content="{title}"></head><body><nav><a href="/">Почетна</a></nav>'
            f"<main><article><h1>{title}</h1>{paras}</article></main><footer>© ИОМ</footer></body></html>")


_ENCODINGS = ["utf-8", "utf-8-sig", "cp1251", "utf-16", "utf-32"]


def _n(i: int, stem: str, ext: str) -> bytes:
    return f"{i:05d}-{stem}{ext}".encode("utf-8")


# ----------------------------------------------------------------------------- generators
def g_good_txt(rng, i):
    enc = rng.choice(_ENCODINGS)
    return Entry(_n(i, "good-" + enc, ".txt"), "file", good_text(rng, i).encode(enc), "good", "good txt " + enc)


def g_good_md(rng, i):
    return Entry(_n(i, "good", rng.choice([".md", ".markdown"])), "file", good_md(rng, i).encode(), "good", "good md")


def g_good_html(rng, i):
    enc = rng.choice(["utf-8", "cp1251"])
    html = good_html(rng, i)
    if enc == "cp1251":
        html = html.replace('<meta charset="utf-8">', '<meta charset="windows-1251">')
    return Entry(_n(i, "good", rng.choice([".html", ".htm"])), "file", html.encode(enc), "good", "good html " + enc)


def g_odd_name(rng, i):
    stem = rng.choice(["с празни места", "line\nbreak", "-dash", "x" * 200, "емоџи 🎉", "a..b", "tab\tname",
                       "NAME ВЕЛИКИ", "#hash", "semi;colon'quote\"", "ünïcödé"])
    return Entry(_n(i, stem, ".txt"), "file", good_text(rng, i).encode(), "good", "odd name")


def g_yaml_bomb(rng, i):
    return Entry(_n(i, "bomb", ".md"), "file", YAML_BOMB.encode(), "bad", "yaml alias bomb")


def g_bad_front(rng, i):
    front = rng.choice([
        "title: &t x\nslug: *t", "title: " + "[" * rng.randint(40, 3000), "- a\n- b", "title: [unclosed",
        "title: !!python/object/apply:os.system [id]", "title: x\ndate: 0001-01-01 00:30:00",
        "title: x\ndate: 9999-12-31 23:30:00 -05:00", "title: x\nembargo: утре", "title: x\ndate: 2024-13-45",
        "\t: :\n::", "title: x\n" + "k: v\n" * 6000, "title: " + "y" * 70_000, "title: 0b" + "1" * 20000,
    ])
    return Entry(_n(i, "front", ".md"), "file", f"---\n{front}\n---\n\n{P[0]}\n".encode(), "bad", "bad front matter")


def g_empty(rng, i):
    data = rng.choice([b"", b"   \n\n", codecs.BOM_UTF8, "\u00a0\u2003\n".encode(), "   ".encode("utf-16")])
    return Entry(_n(i, "empty", rng.choice([".txt", ".md", ".html"])), "file", data, "bad", "empty")


def g_binary(rng, i):
    data = rng.choice([b"%PDF-1.7\n", b"PK\x03\x04", b"\x89PNG\r\n\x1a\n", b"\x7fELF", b"\x1f\x8b\x08"]) + rng.randbytes(500)
    return Entry(_n(i, "binary", ".txt"), "file", data, "bad", "binary")


def g_nul_laden(rng, i):
    return Entry(_n(i, "nul", ".txt"), "file", b"title\x00body\x00\x00" * rng.randint(10, 500), "bad", "NUL-laden")


def g_deep_html(rng, i):
    depth = rng.randint(300, 30_000)
    tag = rng.choice(["div", "b", "span", "section"])
    data = "<html><body>" + f"<{tag}>" * depth + f"<p>{P[0]}</p></body></html>"
    return Entry(_n(i, "deep", ".html"), "file", data.encode(), "bad", "deep HTML")


def g_many_elements(rng, i):
    data = "<html><body><article>" + "<span>а</span>" * rng.randint(21_000, 40_000) + f"<p>{P[0]}</p></article></body></html>"
    return Entry(_n(i, "many", ".html"), "file", data.encode(), "bad", "HTML over the element limit")


def g_no_article(rng, i):
    data = "<html><body><nav><a href='/'>Почетна</a></nav><footer>©</footer></body></html>"
    return Entry(_n(i, "noarticle", ".html"), "file", data.encode(), "bad", "HTML without article")


def g_big_markdown(rng, i):
    data = "# Наслов\n\n" + ("Долг текст на соопштението. " * 20 + "\n\n") * rng.randint(600, 1500)
    return Entry(_n(i, "bigmd", ".md"), "file", data.encode(), "bad", "Markdown over the limit")


def g_over_max_bytes(rng, i):
    return Entry(_n(i, "huge", ".txt"), "file", ("Наслов\n\n" + "збор " * 250_000).encode(), "bad", "over max_bytes")


def g_title_only(rng, i):
    return Entry(_n(i, "titleonly", ".txt"), "file", "Само наслов без текст\n".encode(), "bad", "no body")


def g_long_title(rng, i):
    data = ("Ова е многу долга прва реченица без празен ред. " * 10 + "\n\n" + P[1]).encode()
    return Entry(_n(i, "longtitle", ".txt"), "file", data, "bad", "title over 300")


def g_non_utf8_name(rng, i):
    name = f"{i:05d}-".encode() + rng.choice([b"caf\xe9", b"\xff\xfe", b"\xc3(", b"\xed\xa0\x80x"]) + b".txt"
    return Entry(name, "file", good_text(rng, i).encode(), "bad", "name not UTF-8")


def g_unreadable(rng, i):
    return Entry(_n(i, "unreadable", ".txt"), "unreadable", good_text(rng, i).encode(), "bad", "unreadable")


def g_truncated(rng, i):
    data = good_text(rng, i).encode(rng.choice(["utf-8", "utf-16", "cp1251"]))
    return Entry(_n(i, "truncated", ".txt"), "file", data[: rng.randint(1, len(data))], "any", "truncated")


def g_mixed_encodings(rng, i):
    paragraphs = _body(rng, i)
    data = _title(rng, i).encode("utf-8") + b"\n\n" + b"\n\n".join(
        p.encode(rng.choice(["utf-8", "cp1251", "koi8_r", "iso8859_5"]), "replace") for p in paragraphs)
    return Entry(_n(i, "mixed", ".txt"), "file", data, "any", "mixed encodings")


def g_huge_line(rng, i):
    line = ("збор " if rng.random() < .5 else "x") * rng.randint(50_000, 150_000)
    return Entry(_n(i, "hugeline", rng.choice([".txt", ".md", ".html"])), "file", line.encode(), "any", "huge line")


def g_sprinkled_nul(rng, i):
    data = bytearray(good_text(rng, i).encode())
    for _ in range(rng.randint(1, 5)):
        data.insert(rng.randrange(len(data)), 0)
    return Entry(_n(i, "somenul", ".txt"), "file", bytes(data), "any", "a few NUL bytes")


def g_mutated(rng, i):
    maker = rng.choice([good_text, good_md, good_html])
    data = bytearray(maker(rng, i).encode())
    for _ in range(rng.randint(1, 40)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    ext = {good_text: ".txt", good_md: ".md", good_html: ".html"}[maker]
    return Entry(_n(i, "mutated", ext), "file", bytes(data), "any", "mutated bytes")


def g_pathological_markdown(rng, i):
    body = rng.choice(["[" * 30_000, "> " * 5_000 + "x", "*a " * 20_000, "[a](" * 10_000,
                       "".join("  " * k + "- x\n" for k in range(300)), "<div>" * 20_000, "`" * 30_000])
    return Entry(_n(i, "mdpath", ".md"), "file", ("# Наслов\n\n" + body).encode(), "any", "pathological Markdown")


def g_broken_html(rng, i):
    html = good_html(rng, i)
    return Entry(_n(i, "brokenhtml", ".html"), "file", html[: rng.randint(10, len(html))].encode(), "any", "truncated HTML")


def g_random_bytes(rng, i):
    return Entry(_n(i, "random", rng.choice([".txt", ".md", ".html"])), "file", rng.randbytes(rng.randint(1, 5000)),
                 "any", "random bytes")


def g_symlink(rng, i):
    target = rng.choice([b"/etc/passwd", b"../outside.txt", b"nowhere.txt", b"/dev/zero"])
    return Entry(_n(i, "link", ".txt"), "symlink", expect="skip:link", label="symlink", target=target)


def g_fifo(rng, i):
    return Entry(_n(i, "pipe", ".txt"), "fifo", expect="skip:special-file", label="FIFO")


def g_subfolder(rng, i):
    return Entry(_n(i, "sub", rng.choice(["", ".txt"])), "dir", good_text(rng, i).encode(), "skip:folder", "sub-folder")


def g_hidden(rng, i):
    return Entry(b"." + _n(i, "hidden", ".txt"), "file", good_text(rng, i).encode(), "skip:hidden", "hidden")


def g_temporary(rng, i):
    name = rng.choice([_n(i, "x", ".txt~"), _n(i, "x", ".tmp"), _n(i, "x", ".txt.part"), _n(i, "x", ".swp"),
                       b"~$" + _n(i, "x", ".docx"), b"#" + _n(i, "x", ".txt#")])
    return Entry(name, "file", b"\x00 editor state", "skip:temporary", "temporary")


def g_unsupported(rng, i):
    ext = rng.choice([".docx", ".pdf", ".jpg", ".odt", ".xml", ".csv", ""])
    return Entry(_n(i, "unsupported", ext), "file", b"PK\x03\x04 whatever", "skip:unsupported-type", "unsupported type")


def g_fresh(rng, i):
    return Entry(_n(i, "fresh", ".txt"), "file", good_text(rng, i).encode(), "skip:still-settling", "still settling",
                 fresh=True)


# (generator, weight): mostly good files and cheap hostile ones, a few costly bombs
GENERATORS: list[tuple[Callable[[random.Random, int], Entry], int]] = [
    (g_good_txt, 14), (g_good_md, 10), (g_good_html, 8), (g_odd_name, 4),
    (g_yaml_bomb, 3), (g_bad_front, 6), (g_empty, 3), (g_binary, 2), (g_nul_laden, 2),
    (g_deep_html, 2), (g_many_elements, 1), (g_no_article, 2), (g_big_markdown, 1), (g_over_max_bytes, 1),
    (g_title_only, 2), (g_long_title, 2), (g_non_utf8_name, 3), (g_unreadable, 2),
    (g_truncated, 4), (g_mixed_encodings, 3), (g_huge_line, 1), (g_sprinkled_nul, 2), (g_mutated, 5),
    (g_pathological_markdown, 1), (g_broken_html, 2), (g_random_bytes, 3),
    (g_symlink, 2), (g_fifo, 2), (g_subfolder, 2), (g_hidden, 2), (g_temporary, 2), (g_unsupported, 2), (g_fresh, 2),
]


def entry(rng: random.Random, i: int) -> Entry:
    generators, weights = zip(*GENERATORS)
    return rng.choices(generators, weights)[0](rng, i)


# ----------------------------------------------------------------------------- a folder of entries
def materialize(entries: list[Entry], inbox: Path, can_deny: bool) -> None:
    """Create the entries in ``inbox``. ``can_deny``: the ingest process is subject to file
    permissions (not root, or root without its overrides), so an unreadable file is unreadable;
    otherwise its expectation becomes ``any``."""
    import pwd

    inbox.mkdir(parents=True, exist_ok=True)
    folder = os.fsencode(inbox)
    for item in entries:
        path = os.path.join(folder, item.name)
        if item.kind == "symlink":
            os.symlink(item.target, path)
            continue
        if item.kind == "fifo":
            os.mkfifo(path)
            continue
        if item.kind == "dir":
            os.mkdir(path)
            inner = os.path.join(path, b"inner.txt")
            with open(inner, "wb") as handle:
                handle.write(item.data)
            os.utime(path, (OLD, OLD))
            continue
        with open(path, "wb") as handle:
            handle.write(item.data)
        if item.kind == "unreadable":
            if os.geteuid() == 0:
                nobody = pwd.getpwnam("nobody")
                os.chown(path, nobody.pw_uid, nobody.pw_gid)
            os.chmod(path, 0)
            if not can_deny:
                item.expect = "any"
        mtime = None if item.fresh else OLD
        if mtime is not None:
            os.utime(path, (mtime, mtime))


def display(name: bytes) -> str:
    return name.decode("utf-8", "backslashreplace")


def check(report, entries: list[Entry], source: str, quarantine_dir: Path, rows: dict[str, object]) -> list[str]:
    """What went wrong, one line per entry (empty: every invariant holds)."""
    problems = [f"source failed: {error}" for name, error in report.failed_sources if name == source]
    ingested = set(report.new) | set(report.updated) | set(report.unchanged)
    quarantined = dict(report.quarantined)
    skipped = {ref: why for ref, why, _ in report.skipped}
    notes = {}
    if quarantine_dir.is_dir():
        for note in quarantine_dir.glob("*.reason.txt"):
            text = note.read_text(encoding="utf-8")
            for line in text.splitlines():
                if line.startswith("file: "):
                    notes.setdefault(line[6:], text)
    from publisher.sources.directory import printable

    for item in entries:
        ref = f"{source}:{display(item.name)}"
        where = [bucket for bucket, refs in (("ingested", ingested), ("quarantined", quarantined),
                                             ("skipped", skipped)) if ref in refs]
        if len(where) != 1:
            problems.append(f"{item.label} {ref!r}: accounted {where or 'nowhere'}")
            continue
        if item.expect == "accounted":
            pass
        elif item.expect == "good" and where != ["ingested"]:
            problems.append(f"LOST good file ({item.label}) {ref!r}: {where[0]} {quarantined.get(ref, skipped.get(ref))}")
        elif item.expect == "bad" and where != ["quarantined"]:
            problems.append(f"bad file ({item.label}) {ref!r} was {where[0]}")
        elif item.expect.startswith("skip:") and skipped.get(ref) != item.expect[5:]:
            problems.append(f"{item.label} {ref!r}: expected {item.expect}, got {where[0]} {skipped.get(ref)}")
        if where == ["quarantined"]:
            rel = display(item.name)
            if not quarantined[ref].strip() or rel not in rows:
                problems.append(f"{item.label} {ref!r}: quarantined without a row or a reason")
            elif "could not be moved" not in quarantined[ref] and not notes.get(printable(rel), "").strip():
                problems.append(f"{item.label} {ref!r}: moved without a .reason.txt")
    return problems


# ----------------------------------------------------------------------------- feeds
def feed_document(rng: random.Random, i: int, base: str) -> tuple[bytes, list[str], str]:
    """(document, the links of its good entries, label). Good entries carry their full text."""
    kind = rng.choice(["good", "good", "good", "laughs", "deep", "markup", "broken", "random", "utf16", "entity",
                       "hostile-entry"])
    links: list[str] = []
    items = []
    for k in range(rng.randint(1, 4)):
        link = f"{base}/vesti/{i}-{k}"
        body = "".join(f"<p>{p}</p>" for p in _body(rng, i * 10 + k))
        items.append(f"<item><title>{_title(rng, i * 10 + k)}</title><link>{link}</link><guid>{link}</guid>"
                     f"<pubDate>Tue, 14 May 2024 09:30:00 +0200</pubDate>"
                     f"<description><![CDATA[{body}]]></description></item>")
        links.append(link)
    good = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>ИОМ</title>'
            f"<link>{base}/</link><language>mk</language>{''.join(items)}</channel></rss>")
    if kind == "good":
        return good.encode(), links, "good feed"
    if kind == "hostile-entry":  # the good entries must survive one entry of hostile HTML
        content = rng.choice(["<div>" * rng.randint(300, 5000), "<b>x</b>" * rng.randint(21_000, 30_000)])
        bad = (f"<item><title>Лош запис {i}</title><link>{base}/vesti/{i}-bad</link>"
               f"<description><![CDATA[{content}<p>{P[0]}</p>]]></description></item>")
        return good.replace("</channel>", bad + "</channel>").encode(), links, "feed with a hostile entry"
    if kind == "utf16":
        return good.replace('encoding="utf-8"', 'encoding="utf-16"').encode("utf-16"), links, "good feed in UTF-16"
    if kind == "laughs":
        return BILLION_LAUGHS.encode(), [], "billion laughs"
    if kind == "entity":
        return (f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
                f'<rss version="2.0"><channel><item><title>t</title><description>&e;</description></item>'
                "</channel></rss>").encode(), [], "external entity"
    if kind == "deep":
        depth = rng.randint(250, 20_000)
        return (f'<rss version="2.0"><channel>{"<x>" * depth}{"</x>" * depth}</channel></rss>').encode(), [], "deep XML"
    if kind == "markup":
        return (f'<rss version="2.0"><channel>{"<i>x</i>" * rng.randint(51_000, 80_000)}</channel></rss>').encode(), [], "markup"
    if kind == "broken":
        data = good.encode()
        return data[: rng.randint(1, len(data) - 1)], [], "truncated feed"
    return rng.randbytes(rng.randint(0, 3000)), [], "random bytes"



def entries_unique(entries: list[Entry]) -> list[Entry]:
    """The entries without repeated names (a later one would overwrite an earlier one)."""
    seen: set[bytes] = set()
    out = []
    for item in entries:
        if item.name not in seen:
            seen.add(item.name)
            out.append(item)
    return out
