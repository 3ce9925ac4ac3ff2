"""Fuzz ingest with the full hostile corpus (tests/hostile_corpus.py) and report the figures.

    .venv/bin/python bench/fuzz_ingest.py --cases 10000

Drops the corpus into drop folders in batches (and serves hostile feed documents through an
in-process transport: no network), runs the real ingest on a SQLite store (or --db-url), and
checks every entry: good files ingested, bad ones quarantined with a row and a .reason.txt,
the rest skipped under the right reason. Prints cases, tracebacks (exceptions that escaped
ingest plus exceptions ingest caught and logged: both must be 0), good files lost (must be
0), other problems, the slowest item and the peak RSS of this process (must be < 300 MB).

Run as root, it re-executes itself under `setpriv` without CAP_DAC_OVERRIDE and
CAP_DAC_READ_SEARCH, so that an unreadable file in the corpus is really unreadable
(--privileged keeps root's overrides; unreadable files are then just files).
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import resource
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from publisher.app import App  # noqa: E402
from publisher.settings import load_settings  # noqa: E402
from publisher.store import Store  # noqa: E402
from tests import hostile_corpus as corpus  # noqa: E402

SETTINGS = """
[site]
name = "Fuzz"
base_url = "http://127.0.0.1:8080"
source_language = "mk"
target_languages = ["en", "sq"]
timezone = "Europe/Skopje"

[store]
url = "{url}"

[http]
per_host_interval_seconds = 0
timeout_seconds = 5
"""


class TracebackCounter(logging.Handler):
    """Counts log records that carry an exception: a traceback ingest caught and logged."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.name.startswith("publisher"):
            self.records.append(record)


def transport(documents: dict[str, bytes]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        body = documents.get(request.url.path)
        if body is None:
            return httpx.Response(404, text="not here")
        return httpx.Response(200, content=body, headers={"content-type": "application/rss+xml"})

    return httpx.MockTransport(handler)


def warm_up(url: str, work: Path, languages: bool = True) -> float:
    """Load what any ingest loads once per process (lingua's models for short and long texts,
    in Latin and Cyrillic script; trafilatura; markdown-it) before the corpus, and return the
    peak RSS then: the rise over it is what the hostile corpus costs."""
    from publisher.langid import detect_language
    from publisher.sources.extract import extract_html, extract_markdown

    settings_file = work / "warm.toml"
    settings_file.write_text(SETTINGS.format(url=url), encoding="utf-8")
    settings = load_settings(settings_file, environ={})
    candidates = set(settings.cleaning.detector_languages) | set(settings.site.languages)
    for text in ("Кратка вест на македонски.", "Short news in English.", "Lajm i shkurtër shqip.",
                 " ".join(corpus.P), "The International Organization for Migration met the heads of the "
                 "border police services of the Western Balkans to discuss regional cooperation.",
                 "Organizata Ndërkombëtare për Migracion organizoi takimin rajonal me shefat e policisë kufitare."):
        if languages:
            detect_language(text, candidates)
    extract_html(corpus.good_html(random.Random(0), 0))
    extract_markdown(corpus.good_md(random.Random(0), 0))
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", type=int, default=2000, help="folder entries and feed documents in all")
    parser.add_argument("--batch", type=int, default=50, help="entries per drop folder (one ingest run each)")
    parser.add_argument("--feeds", type=int, default=3, help="feed documents per batch (counted as cases)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--db-url", help="a migrated, empty database (default: a new SQLite file)")
    parser.add_argument("--privileged", action="store_true", help="keep root's file-permission overrides")
    parser.add_argument("--show", type=int, default=20, help="problems to print")
    parser.add_argument("--no-language-detection", action="store_true",
                        help="[cleaning] detect_language = false: the peak without lingua's models")
    parser.add_argument("--no-warm-up", action="store_true",
                        help="do not load lingua's models before the corpus (the peak then includes them)")
    args = parser.parse_args()

    if os.geteuid() == 0 and not args.privileged and not os.environ.get("FUZZ_INGEST_UNPRIVILEGED"):
        setpriv = shutil.which("setpriv")
        if setpriv:
            os.environ["FUZZ_INGEST_UNPRIVILEGED"] = "1"
            os.execv(setpriv, [setpriv, "--bounding-set=-dac_override,-dac_read_search",
                               sys.executable, *sys.argv])
    can_deny = os.geteuid() != 0 or bool(os.environ.get("FUZZ_INGEST_UNPRIVILEGED"))

    logging.basicConfig(level=logging.CRITICAL)  # quiet: the counter below sees what matters
    counter = TracebackCounter()
    logging.getLogger().addHandler(counter)
    work = Path(tempfile.mkdtemp(prefix="fuzz-ingest-"))
    url = args.db_url or f"sqlite:///{work / 'fuzz.db'}"
    if not args.db_url:
        Store.upgraded(url).close()
    baseline = warm_up(url, work, not args.no_language_detection) if not args.no_warm_up else None
    rng = random.Random(args.seed)
    base = "http://127.0.0.1:9"
    cases = escaped = lost = 0
    problems: list[str] = []
    labels: dict[str, int] = {}
    slowest = (0.0, "")
    grew = (0.0, "")  # the largest rise of the peak RSS over one item
    started = time.monotonic()
    batch_no = 0
    try:
        while cases < args.cases:
            batch_no += 1
            n_files = min(args.batch, args.cases - cases)
            n_feeds = min(args.feeds, max(0, args.cases - cases - n_files))
            entries = corpus.entries_unique([corpus.entry(rng, cases + k) for k in range(n_files)])
            name = f"fz{batch_no}"
            inbox = work / f"inbox-{batch_no}"
            corpus.materialize(entries, inbox, can_deny=can_deny)
            documents, good_links, sources = {}, [], []
            for k in range(n_feeds):
                data, links, label = corpus.feed_document(rng, batch_no * 100 + k, base)
                labels[label] = labels.get(label, 0) + 1
                path = f"/feed-{batch_no}-{k}.xml"
                documents[path] = data
                feed_name = f"feed{batch_no}x{k}"
                good_links += [f"{feed_name}:{link}" for link in links]
                sources.append(f'\n[[sources]]\nname = "{feed_name}"\ntype = "feed"\nurl = "{base}{path}"\n'
                               'full_text = "entry"\nallow_private_networks = true\n')
            for item in entries:
                labels[item.label] = labels.get(item.label, 0) + 1
            settings_file = work / "settings.toml"
            settings_file.write_text(
                SETTINGS.format(url=url)
                + ("\n[cleaning]\ndetect_language = false\n" if args.no_language_detection else "")
                + f'\n[ingest]\nquarantine_dir = "{work / "quarantine"}"\n'
                + f'\n[[sources]]\nname = "{name}"\ntype = "directory"\npath = "{inbox}"\n'
                  "settle_seconds = 30\nmax_bytes = 1000000\n" + "".join(sources),
                encoding="utf-8")
            last = [time.monotonic(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024]

            def step(source: str, outcome, ref: str) -> None:
                nonlocal slowest, grew
                now = time.monotonic()
                if now - last[0] > slowest[0]:
                    slowest = (now - last[0], f"{source}:{ref}")
                last[0] = now
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
                if rss - last[1] > grew[0]:
                    grew = (rss - last[1], f"{source}:{ref}")
                last[1] = rss

            try:
                with App(load_settings(settings_file, environ={})) as app:
                    report = app.ingest(transport=transport(documents), progress=step)
                    rows = {row.ref: row for row in app.store.list_quarantine(limit=100_000, source=name)}
            except Exception:
                escaped += 1
                problems.append("exception escaped ingest:\n" + traceback.format_exc())
                cases += n_files + n_feeds
                continue
            found = corpus.check(report, entries, name, work / "quarantine" / name, rows)
            found += [f"source failed: {s}: {e}" for s, e in report.failed_sources if s != name]
            ingested = set(report.new) | set(report.updated) | set(report.unchanged)
            for ref in good_links:
                if ref not in ingested:
                    found.append(f"LOST good feed entry {ref}")
            lost += sum(1 for line in found if line.startswith("LOST"))
            problems += found
            cases += n_files + n_feeds
            shutil.rmtree(inbox, ignore_errors=True)
            print(f"\r{cases} cases, {time.monotonic() - started:.0f} s", end="", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(file=sys.stderr)
    seconds = time.monotonic() - started
    logged = len(counter.records)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"cases:            {cases} ({args.batch} per folder, {args.feeds} feed documents per folder, seed {args.seed})")
    print(f"unprivileged:     {'yes (unreadable files are unreadable)' if can_deny else 'no (root: unreadable files are read)'}")
    print(f"tracebacks:       {escaped + logged} (escaped ingest: {escaped}, caught and logged: {logged})")
    print(f"good files lost:  {lost}")
    print(f"other problems:   {len(problems) - lost}")
    if baseline is not None:
        print(f"RSS after warm-up: {baseline:.0f} MB (" + ("lingua's models, " if not args.no_language_detection else "")
              + "trafilatura, markdown-it: once per process)")
    print(f"peak RSS:         {peak:.0f} MB" + (f" ({peak - baseline:+.0f} MB over the warm-up)" if baseline else "")
          + f"; largest rise over one item: {grew[0]:.0f} MB ({grew[1][:60]})")
    print(f"time:             {seconds:.0f} s ({1000 * seconds / max(cases, 1):.1f} ms per case); "
          f"slowest item {slowest[0]:.2f} s ({slowest[1][:80]})")
    print("corpus:           " + ", ".join(f"{k} {v}" for k, v in sorted(labels.items(), key=lambda kv: -kv[1])))
    for line in problems[: args.show]:
        print("  - " + line[:2000])
    for record in counter.records[: args.show]:
        print(f"  - logged: {record.getMessage()}\n" + "".join(traceback.format_exception(*record.exc_info))[-1500:])
    ok = escaped + logged == 0 and lost == 0 and not problems and peak < 300
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
