#!/usr/bin/env python3
"""Archive and search time against a baseline measured in the same run.

Stores N releases (the sample's paragraphs, numbered; every 50th one with a rare word) in a
fresh store, each with an English machine translation, then times (median of --repeat runs):
  baseline     Store.publishable(lang, limit=20): the /{lang}/ list, the query the archive extends
  page 1       Store.archive(lang): the first 20 and the total count
  last page    Store.archive(lang, offset=N-20)
  common word  a search every release matches (mk "соработка", en "border")
  rare word    a search 1 in 50 releases match
  punctuation  a query with no word (answered without the database)
on SQLite (FTS5) and, with --pg URL (an empty database; it is migrated), on PostgreSQL.

    .venv/bin/python bench/archive_bench.py [--releases 2000] [--repeat 5] [--pg postgresql+psycopg://…]
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from publisher.models import CleanRelease  # noqa: E402
from publisher.store import Store  # noqa: E402

SAMPLE = ROOT / "tests" / "data" / "iom-border-chiefs-meeting.mk.txt"


def populate(store: Store, count: int) -> None:
    lines = SAMPLE.read_text(encoding="utf-8").split("\n")
    title, paragraphs = lines[0], [p for p in "\n".join(lines[1:]).split("\n\n") if p.strip()][:4]
    start = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    for i in range(count):
        rare = " Водоснабдување." if i % 50 == 0 else ""
        body = "\n\n".join(f"{p} Број {i}." for p in paragraphs) + rare
        clean = CleanRelease(
            source="bench", ref=f"r{i}", raw=b"", content_type="text/plain", title=f"{title} ({i})", body=body,
            content_hash=hashlib.sha256(f"{i}{body}".encode()).hexdigest(), guid=f"g{i}", link=None,
            published_at=start + dt.timedelta(hours=i), language="mk")
        _, release = store.save_release(clean)
        en_rare = " Water supply." if i % 50 == 0 else ""
        store.save_machine_translation(release, "en", f"IOM meeting of border chiefs ({i})",
                                       f"Regional border cooperation in Skopje, number {i}.{en_rare}", "apertium", [])


def timed(repeat: int, fn) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def run(store: Store, count: int, repeat: int, label: str) -> None:
    print(f"\n{label}: {count} releases, median of {repeat}")
    print(f"| case | lang | ms | × baseline | matches |\n|---|---|---:|---:|---:|")
    for lang, common, rare in (("mk", "соработка", "водоснабдување"), ("en", "border", "water")):
        base = 0.0
        cases = [("baseline (publishable, 20)", lambda: (None, store.publishable(lang, "mk", "machine", limit=20))),
                 ("page 1", lambda: store.archive(lang, "machine")),
                 ("last page", lambda: store.archive(lang, "machine", offset=count - 20)),
                 (f"common word ({common})", lambda: store.archive(lang, "machine", common)),
                 (f"rare word ({rare})", lambda: store.archive(lang, "machine", rare)),
                 ("punctuation only", lambda: store.archive(lang, "machine", '"*) -')),]
        for name, fn in cases:
            seconds, result = timed(repeat, fn)
            base = base or seconds  # the first case is the baseline
            total = result[0] if result[0] is not None else len(result[1])
            print(f"| {name} | {lang} | {seconds * 1000:.1f} | {seconds / base:.2f} | {total} |")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--releases", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--pg", help="an empty PostgreSQL database URL (migrated here)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        store = Store.upgraded(f"sqlite:///{Path(folder) / 'bench.db'}")
        populate(store, args.releases)
        run(store, args.releases, args.repeat, "SQLite")
        store.close()
    if args.pg:
        store = Store.upgraded(args.pg)
        populate(store, args.releases)
        with store.engine.begin() as conn:  # fresh planner statistics
            conn.exec_driver_sql("ANALYZE")
        run(store, args.releases, args.repeat, "PostgreSQL")
        store.close()


if __name__ == "__main__":
    main()
