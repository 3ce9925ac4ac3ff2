#!/usr/bin/env python3
"""Ingest throughput of the drop-folder source against a floor measured in the same run.

Generates N Macedonian releases (paragraphs of the sample release, shuffled and numbered) as
.txt files, then measures:
  floor      read + UTF-8 decode + paragraph split + sha256 + one INSERT per file with the
             sqlite3 module in one transaction: the least any ingest of these files must do
  first      `publisher` ingest of the whole folder into a fresh SQLite store
  no-change  the same ingest again (file fingerprints unchanged: nothing is read)
  touched    every file's mtime changed, bytes the same (read, cleaned, deduped by hash)
and prints seconds, releases per second, the ratio to the floor, and peak RSS.

    .venv/bin/python bench/ingest_bench.py [--files 2000]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import resource
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from publisher.app import App  # noqa: E402
from publisher.settings import load_settings  # noqa: E402
from publisher.store import Store  # noqa: E402

SAMPLE = ROOT / "tests" / "data" / "iom-border-chiefs-meeting.mk.txt"


def make_inbox(folder: Path, count: int) -> None:
    lines = SAMPLE.read_text(encoding="utf-8").split("\n")
    title, paragraphs = lines[0], [p for p in "\n".join(lines[1:]).split("\n\n") if p.strip()][:4]
    rng = random.Random(42)
    folder.mkdir(parents=True)
    old = time.time() - 3600
    for i in range(count):
        body = paragraphs[:]
        rng.shuffle(body)
        text = f"{title} ({i})\n\n" + "\n\n".join(f"{p} Број {i}." for p in body) + "\n\nТреба да знаете\nПоследни објави\n"
        path = folder / f"release-{i:05d}.txt"
        path.write_text(text, encoding="utf-8")
        os.utime(path, (old, old))


def floor(folder: Path, db: Path) -> float:
    start = time.perf_counter()
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE r (id INTEGER PRIMARY KEY, name TEXT UNIQUE, title TEXT, body TEXT, hash TEXT, raw BLOB)")
    rows = []
    for path in sorted(folder.iterdir()):
        raw = path.read_bytes()
        text = raw.decode("utf-8")
        title, _, rest = text.partition("\n")
        body = "\n\n".join(p.strip() for p in rest.split("\n\n") if p.strip())
        rows.append((path.name, title, body, hashlib.sha256(text.encode()).hexdigest(), raw))
    with conn:
        conn.executemany("INSERT INTO r (name, title, body, hash, raw) VALUES (?, ?, ?, ?, ?)", rows)
    conn.close()
    return time.perf_counter() - start


def timed(app: App) -> tuple[float, dict[str, int]]:
    start = time.perf_counter()
    report = app.ingest()
    return time.perf_counter() - start, report.counts()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        make_inbox(base / "inbox", args.files)
        (base / "settings.toml").write_text(
            '[store]\nurl = "sqlite:///var/bench.db"\n\n[[sources]]\nname = "inbox"\ntype = "directory"\n'
            'path = "inbox"\nsettle_seconds = 0\n',
            encoding="utf-8",
        )
        floor_s = floor(base / "inbox", base / "floor.db")
        settings = load_settings(base / "settings.toml", environ={})
        Store.upgraded(settings.store.url).close()
        app = App(settings)
        from publisher.langid import detect_language  # load lingua's models outside the timing

        candidates = set(settings.cleaning.detector_languages) | set(settings.site.languages)
        detect_language("загревање", candidates)
        first_s, first = timed(app)
        again_s, again = timed(app)
        now = time.time()
        for path in (base / "inbox").iterdir():
            os.utime(path, (now - 60, now - 60))
        touched_s, touched = timed(app)
        app.close()
    n = args.files
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"files: {n}  (python {sys.version.split()[0]}, SQLite store)")
    print(f"{'phase':<10} {'seconds':>8} {'per sec':>9} {'x floor':>8}  outcome")
    print(f"{'floor':<10} {floor_s:8.3f} {n / floor_s:9.0f} {1:8.1f}  {n} inserted")
    print(f"{'first':<10} {first_s:8.3f} {n / first_s:9.0f} {first_s / floor_s:8.1f}  {first}")
    print(f"{'no-change':<10} {again_s:8.3f} {n / again_s:9.0f} {again_s / floor_s:8.1f}  {again}")
    print(f"{'touched':<10} {touched_s:8.3f} {n / touched_s:9.0f} {touched_s / floor_s:8.1f}  {touched}")
    print(f"no-change / first: {again_s / first_s:.1%}")
    print(f"peak RSS: {peak_mb:.0f} MiB")
    assert first["new"] == n and again["unchanged"] == n and touched["unchanged"] == n, "wrong outcomes"


if __name__ == "__main__":
    main()
