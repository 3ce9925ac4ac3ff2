#!/usr/bin/env python3
"""Feed build time against a floor measured in the same run.

Stores N releases (the sample's paragraphs, numbered) in a fresh SQLite store, each with a
machine translation into en and sq, and sets [feeds] max_entries = N, so every feed holds every
release: N releases × 3 languages × 2 formats. Then measures:
  floor       what any build must do: the same store reads (Store.publishable /
              published_languages), the same entry data (sanitised HTML, notes, links), and the
              same RSS + Atom XML written with plain lxml.etree calls, to the same files
  full        build_feeds() into an empty folder (feedgen, atomic writes)
  render      feedgen alone vs the lxml floor alone, on the same FeedSpecs
  no-change   build_feeds() again: nothing changed, nothing written
and prints seconds, the ratios, and peak RSS.

    .venv/bin/python bench/feeds_bench.py [--releases 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from publisher.feeds import build_feeds  # noqa: E402
from publisher.feeds.render import MEDIA_TYPES, render, with_mark  # noqa: E402
from publisher.feeds.spec import FeedSpec, collect, feed_specs, load_pairs  # noqa: E402
from publisher.feeds.write import write_if_changed  # noqa: E402
from publisher.models import CleanRelease  # noqa: E402
from publisher.settings import load_settings  # noqa: E402
from publisher.store import Store  # noqa: E402

SAMPLE = ROOT / "tests" / "data" / "iom-border-chiefs-meeting.mk.txt"
ATOM_NS = "http://www.w3.org/2005/Atom"
XML_NS = "http://www.w3.org/XML/1998/namespace"


def populate(store: Store, count: int) -> None:
    lines = SAMPLE.read_text(encoding="utf-8").split("\n")
    title, paragraphs = lines[0], [p for p in "\n".join(lines[1:]).split("\n\n") if p.strip()][:4]
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    for i in range(count):
        body = "\n\n".join(f"{p} Број {i}." for p in paragraphs)
        clean = CleanRelease(
            source="bench", ref=f"r{i}", raw=b"", content_type="text/plain", title=f"{title} ({i})", body=body,
            content_hash=hashlib.sha256(f"{i}{body}".encode()).hexdigest(), guid=f"g{i}", link=None,
            published_at=start + dt.timedelta(hours=i), language="mk", categories=("миграции",))
        _, release = store.save_release(clean)
        store.save_machine_translation(release, "en", f"IOM meeting ({i})", "First paragraph.\n\nSecond.",
                                       "bench", [])
        store.save_machine_translation(release, "sq", f"Takimi i IOM-së ({i}) për çështjet", "Paragrafi ë ç.",
                                       "bench", [])


# ---------------------------------------------------------------- the floor: plain lxml
def _sub(parent, tag, text=None, **attrib):  # type: ignore[no-untyped-def]
    element = etree.SubElement(parent, tag, attrib)
    if text is not None:
        element.text = text
    return element


def lxml_rss(spec: FeedSpec) -> bytes:
    dc, content = "http://purl.org/dc/elements/1.1/", "http://purl.org/rss/1.0/modules/content/"
    root = etree.Element("rss", version="2.0", nsmap={"atom": ATOM_NS, "dc": dc, "content": content})
    ch = _sub(root, "channel")
    _sub(ch, "title", spec.title)
    _sub(ch, "link", spec.site_url)
    _sub(ch, "description", spec.description)
    _sub(ch, f"{{{ATOM_NS}}}link", href=spec.self_url, rel="self", type=MEDIA_TYPES["rss"])
    _sub(ch, "generator", spec.generator)
    _sub(ch, "language", spec.lang)
    _sub(ch, "lastBuildDate", spec.updated.strftime("%a, %d %b %Y %H:%M:%S %z"))
    for e in spec.entries:
        item = _sub(ch, "item")
        _sub(item, "title", e.title)
        _sub(item, "link", e.link)
        _sub(item, "description", e.summary_html)
        _sub(item, f"{{{content}}}encoded", e.content_html)
        _sub(item, "guid", e.id, isPermaLink="false")
        for term in e.categories:
            _sub(item, "category", term)
        _sub(item, "pubDate", e.published.strftime("%a, %d %b %Y %H:%M:%S %z"))
        _sub(item, f"{{{dc}}}creator", e.author)
    return with_mark(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True),
                     spec.fingerprint)


def lxml_atom(spec: FeedSpec) -> bytes:
    root = etree.Element(f"{{{ATOM_NS}}}feed", nsmap={None: ATOM_NS})
    root.set(f"{{{XML_NS}}}lang", spec.lang)
    _sub(root, "id", spec.id)
    _sub(root, "title", spec.title)
    _sub(root, "updated", spec.updated.isoformat())
    _sub(root, "link", href=spec.self_url, rel="self", type=MEDIA_TYPES["atom"])
    for lang, url in spec.alternates:
        _sub(root, "link", href=url, rel="alternate", type=MEDIA_TYPES["atom"], hreflang=lang)
    _sub(root, "link", href=spec.site_url, rel="alternate", type="text/html")
    _sub(root, "generator", spec.generator)
    _sub(root, "subtitle", spec.description)
    for e in spec.entries:
        entry = _sub(root, "entry")
        _sub(entry, "id", e.id)
        _sub(entry, "title", e.title)
        _sub(entry, "updated", e.updated.isoformat())
        _sub(_sub(entry, "author"), "name", e.author)
        _sub(entry, "content", e.content_html, type="html")
        for lang, url in (*e.alternates, (spec.lang, e.link)):
            _sub(entry, "link", rel="alternate", type="text/html", hreflang=lang, href=url)
        _sub(entry, "summary", e.summary_html, type="html")
        for term in e.categories:
            _sub(entry, "category", term=term)
        _sub(entry, "published", e.published.isoformat())
    return with_mark(etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True),
                     spec.fingerprint)


def floor_build(settings, store) -> dict[str, FeedSpec]:  # type: ignore[no-untyped-def]
    specs = {}
    collected, langs_of = collect(settings, store, settings.site.languages)
    for lang, (fingerprint, _count) in collected.items():
        pairs = load_pairs(settings, store, lang)
        for kind, spec in feed_specs(settings, lang, fingerprint, pairs, langs_of).items():
            data = lxml_rss(spec) if kind == "rss" else lxml_atom(spec)
            write_if_changed(settings.feeds.output_dir / settings.feeds.path(kind, lang), data)
            specs[f"{lang}/{kind}"] = spec
    return specs


def timed(fn, repeat: int):  # type: ignore[no-untyped-def]
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--releases", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs per phase")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        url = f"sqlite:///{root / 'bench.db'}"
        (root / "settings.toml").write_text(
            f'[store]\nurl = "{url}"\n[feeds]\noutput_dir = "out"\nmax_entries = {args.releases}\n', encoding="utf-8")
        settings = load_settings(root / "settings.toml", environ={})
        store = Store.upgraded(url)
        t0 = time.perf_counter()
        populate(store, args.releases)
        print(f"stored {args.releases} releases × 3 languages in {time.perf_counter() - t0:.1f} s")
        out = settings.feeds.output_dir

        def fresh(fn):  # type: ignore[no-untyped-def]
            def run():  # type: ignore[no-untyped-def]
                shutil.rmtree(out, ignore_errors=True)
                return fn()
            return run

        floor, specs = timed(fresh(lambda: floor_build(settings, store)), args.repeat)
        floor_bytes = {k: (out / settings.feeds.path(k.split("/")[1], k.split("/")[0])).stat().st_size for k in specs}
        full, report = timed(fresh(lambda: build_feeds(settings, store)), args.repeat)
        assert len(report.written) == 8, report.counts()
        ours_bytes = {k: (out / settings.feeds.path(k.split("/")[1], k.split("/")[0])).stat().st_size for k in specs}
        nochange, report = timed(lambda: build_feeds(settings, store), args.repeat)
        assert not report.written, report.counts()
        render_floor, _ = timed(lambda: [lxml_rss(s) if s.kind == "rss" else lxml_atom(s) for s in specs.values()],
                                args.repeat)
        render_ours, _ = timed(lambda: [render(s) for s in specs.values()], args.repeat)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        store.close()
        shutil.rmtree(out)
        # a full build alone, in a fresh process (what `publisher feeds build` costs)
        code = ("import sys; sys.path.insert(0, sys.argv[1]); from publisher.settings import load_settings; "
                "from publisher.store import Store; from publisher.feeds import build_feeds; "
                "s = load_settings(sys.argv[2], environ={}); build_feeds(s, Store(s.store.url))")
        subprocess.run([sys.executable, "-c", code, str(ROOT), str(root / "settings.toml")], check=True)
        child_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    entries = sum(len(s.entries) for s in specs.values())
    print(f"{entries} entries in 6 feeds ({sum(ours_bytes.values()) / 1e6:.1f} MB; "
          f"lxml floor {sum(floor_bytes.values()) / 1e6:.1f} MB); best of {args.repeat}")
    print("| phase | seconds | × floor |\n|---|---:|---:|")
    print(f"| floor (store reads + entry data + lxml + write) | {floor:.3f} | 1.00 |")
    print(f"| full build_feeds | {full:.3f} | {full / floor:.2f} |")
    print(f"| render only: lxml floor | {render_floor:.3f} | 1.00 |")
    print(f"| render only: feedgen | {render_ours:.3f} | {render_ours / render_floor:.2f} |")
    print(f"| no-change rebuild | {nochange:.3f} | {nochange / full:.1%} of a full build |")
    print(f"peak RSS: {child_peak:.0f} MiB for one full build in a fresh process; "
          f"{peak:.0f} MiB for this whole benchmark run")


if __name__ == "__main__":
    main()
