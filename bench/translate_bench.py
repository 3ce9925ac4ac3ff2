#!/usr/bin/env python3
"""Full translation chain throughput with the offline engine against raw Apertium.

The NTREX-128 Macedonian sentences are grouped into releases (a title and four paragraphs of
five sentences each) and translated mk→en through TranslationService: sentence splitting,
glossary masking, the persistent Apertium engine, unmasking, the quality checks and the
translation memory (SQLite). The ceiling is `apertium -u mkd-eng` over the same text in one
process, measured in the same run. A second pass over the same releases must call no engine.

    .venv/bin/python bench/translate_bench.py [--releases 80]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from publisher.settings import load_settings  # noqa: E402
from publisher.store import Store  # noqa: E402
from publisher.translate.service import TranslationService  # noqa: E402

DATA = ROOT.parent / "shared" / "eval-data" / "ntrex128.mk"


def releases(count: int) -> list[list[str]]:
    sentences = [s.strip() for s in DATA.read_text(encoding="utf-8").splitlines() if s.strip()]
    out, i = [], 0
    while len(out) < count and i + 21 <= len(sentences):
        title = sentences[i].rstrip(".")
        paragraphs = [" ".join(sentences[i + 1 + 5 * p : i + 6 + 5 * p]) for p in range(4)]
        out.append([title, *paragraphs])
        i += 21
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--releases", type=int, default=80)
    parser.add_argument("--repeat", type=int, default=3, help="best of N for the raw ceiling and the chain")
    args = parser.parse_args()
    work = releases(args.releases)
    text = "\n".join(t for release in work for t in release)
    words = len(text.split())
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        shutil.copy(ROOT / "glossary.toml", base / "glossary.toml")
        (base / "settings.toml").write_text('[store]\nurl = "sqlite:///bench.db"\n'
                                            '[translation]\nchains = { en = ["apertium"] }\n', encoding="utf-8")
        settings = load_settings(base / "settings.toml", environ={})
        store = Store.upgraded(settings.store.url)

        raw_s = float("inf")
        for _ in range(args.repeat):
            start = time.perf_counter()
            raw = subprocess.run(["apertium", "-u", "mkd-eng"], input=text.encode(), capture_output=True, check=True)
            raw_s = min(raw_s, time.perf_counter() - start)
            assert raw.stdout

        service = TranslationService(settings, store)
        service.translate_texts(["Загревање на моторот."], "mk", "en")  # start-up is not throughput
        chain_s = float("inf")
        for _ in range(args.repeat):  # memory off for the timed first runs, so each one is real
            service.options.memory = False
            calls_before = service.stats["apertium.calls"]
            start = time.perf_counter()
            failed = sum(not service.translate_texts(r, "mk", "en").ok for r in work)
            chain_s = min(chain_s, time.perf_counter() - start)
            calls_first = service.stats["apertium.calls"] - calls_before
        service.options.memory = True
        for r in work:  # fill the memory
            service.translate_texts(r, "mk", "en")
        calls_before = service.stats["apertium.calls"]

        start = time.perf_counter()
        second = [service.translate_texts(r, "mk", "en") for r in work]
        memory_s = time.perf_counter() - start
        calls_second = service.stats["apertium.calls"] - calls_before
        service.close()
        store.close()
    sent = sum(r.engine_segments for r in second)
    print(f"{len(work)} releases, {words} words (NTREX-128 mk, grouped)")
    print(f"raw `apertium -u mkd-eng`, one process:  {words / raw_s:8.0f} words/s  ({raw_s:.2f} s)")
    print(f"full chain, first run (engine):          {words / chain_s:8.0f} words/s  ({chain_s:.2f} s, "
          f"{calls_first} engine calls, {failed} failed the checks)")
    print(f"full chain, second run (memory):         {words / memory_s:8.0f} words/s  ({memory_s:.2f} s, "
          f"{calls_second} engine calls, {sent} segments sent)")
    print(f"chain / raw: {raw_s / chain_s:.2f}x   second run / raw: {raw_s / memory_s:.2f}x   (best of {args.repeat})")
    assert calls_second == 0 and sent == 0, "the second run called the engine"


if __name__ == "__main__":
    main()
