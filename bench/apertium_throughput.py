#!/usr/bin/env python3
"""Throughput of the offline engine, against plain Apertium, measured in the same run.

  engine       ApertiumTranslator, sentence by sentence through its persistent null-flushed
               pipeline (with the sense rules and romanisation), every sentence of the file
  one process  `apertium -u mkd-eng` over the whole file at once: the floor (no isolation,
               no rules; sentences can influence each other)
  per call     `apertium -u mkd-eng` started once per sentence, on a small sample: what a
               naive adapter would cost
Prints words/s (Macedonian words, split on whitespace) and the ratios.

    .venv/bin/python bench/apertium_throughput.py [--sample 40] [--data /work/shared/eval-data]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from publisher.translate.apertium import ApertiumTranslator
from publisher.translate.options import ApertiumOptions


def words(lines: list[str]) -> int:
    return sum(len(line.split()) for line in lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "eval-data")
    parser.add_argument("--sample", type=int, default=40, help="sentences for the process-per-sentence run")
    args = parser.parse_args()
    src = (args.data / "ntrex128.mk").read_text("utf-8").splitlines()
    total = words(src)
    print(f"NTREX-128 mk: {len(src)} sentences, {total} words")

    engine = ApertiumTranslator(ApertiumOptions())
    try:
        engine.translate_batch(["Загревање."], "mk", "en")  # start-up is not throughput
        start = time.perf_counter()
        for sentence in src:
            engine.translate_batch([sentence], "mk", "en")
        t_engine = time.perf_counter() - start
    finally:
        engine.close()

    text = "\n".join(src) + "\n"
    start = time.perf_counter()
    subprocess.run(["apertium", "-u", "mkd-eng"], input=text, capture_output=True, text=True, check=True)
    t_whole = time.perf_counter() - start

    sample = src[: args.sample]
    start = time.perf_counter()
    for sentence in sample:
        subprocess.run(["apertium", "-u", "mkd-eng"], input=sentence + "\n", capture_output=True, text=True, check=True)
    t_each = time.perf_counter() - start

    r_engine, r_whole, r_each = total / t_engine, total / t_whole, words(sample) / t_each
    print(f"engine (persistent pipe, per sentence): {r_engine:9.0f} words/s  ({t_engine:.2f} s)")
    print(f"apertium -u, whole file, one process:   {r_whole:9.0f} words/s  ({t_whole:.2f} s)")
    print(f"apertium -u, one process per sentence:  {r_each:9.0f} words/s  ({t_each:.2f} s, {len(sample)} sentences)")
    print(f"engine / one process:          {r_engine / r_whole:6.2f}x")
    print(f"engine / process per sentence: {r_engine / r_each:6.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
