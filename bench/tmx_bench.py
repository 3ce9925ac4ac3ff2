#!/usr/bin/env python3
"""TMX export and import of the translation memory, against the bare operations underneath,
measured in the same run on a fresh SQLite store in a temporary folder.

  read store   iterate Store.memory_entries() and nothing else (the floor of an export)
  export       write_tmx over memory_entries() to a file (what `publisher memory export` does)
  parse        lxml iterparse over that file, clearing each <tu> (the floor of a read)
  read_tmx     read_tmx of that file (safety checks, languages, inline codes, dates)
  import       memory_import of the read entries into an empty store (one transaction)
Prints seconds, entries/s and the peak RSS of this process after each step.

    .venv/bin/python bench/tmx_bench.py [--entries 100000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lxml import etree  # noqa: E402

from publisher.store import Store  # noqa: E402
from publisher.store.memory import HUMAN  # noqa: E402
from publisher.translate import tmx  # noqa: E402
from publisher.translate.segment import segment_key  # noqa: E402


def rss_mb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entries", type=int, default=100_000)
    args = parser.parse_args()
    n = args.entries
    rows: list[tuple[str, float, int]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        store = Store.upgraded(f"sqlite:///{folder / 'a.db'}")
        now = dt.datetime.now(dt.timezone.utc)
        store.memory_import({
            "engine": HUMAN if i % 2 else "apertium", "src": "mk", "tgt": "en" if i % 3 else "sq",
            "key": segment_key(f"Реченица број {i} за состанокот во Скопје."),
            "source": f"Реченица број {i} за состанокот во Скопје.",
            "target": f"Sentence number {i} about the meeting in Skopje.",
            "created_by": "ana", "created_at": now, "changed_at": None,
        } for i in range(n))

        def step(name: str, func) -> object:  # noqa: ANN001
            start = time.perf_counter()
            result = func()
            rows.append((name, time.perf_counter() - start, rss_mb()))
            return result

        step("read store", lambda: sum(1 for _ in store.memory_entries()))
        path = folder / "a.tmx"

        def export() -> int:
            with path.open("wb") as handle:
                return tmx.write_tmx(handle, store.memory_entries(), "mk", "bench")

        step("export", export)

        def parse() -> int:
            count = 0
            for _, element in etree.iterparse(str(path), tag="tu", resolve_entities=False, no_network=True):
                count += 1
                element.clear()
            return count

        step("parse", parse)
        read = step("read_tmx", lambda: tmx.read_tmx(path, {"mk", "en", "sq"}, "mk", "bench"))
        entries = [{"engine": u.engine or HUMAN, "src": u.src, "tgt": u.tgt, "key": segment_key(u.source),
                    "source": u.source, "target": u.target, "created_by": u.created_by,
                    "created_at": u.created_at, "changed_at": u.changed_at} for u in read.units]
        fresh = Store.upgraded(f"sqlite:///{folder / 'b.db'}")
        counts = step("import", lambda: fresh.memory_import(entries))
        assert counts["added"] == n, counts
        size = path.stat().st_size
        store.close()
        fresh.close()
    print(f"{n} entries, TMX file {size / 1e6:.1f} MB")
    print(f"| step | s | entries/s | peak RSS MB |\n|---|---:|---:|---:|")
    for name, seconds, peak in rows:
        print(f"| {name} | {seconds:.2f} | {n / seconds:,.0f} | {peak} |")


if __name__ == "__main__":
    main()
