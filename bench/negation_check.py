#!/usr/bin/env python3
"""The negation-polarity check (publisher/translate/qa_meaning.py) measured on NTREX-128 mk→en.

For each line whose Macedonian source negates (не, нема, ниту, никој, ништо, никогаш, без …):
  references   the human English reference: the check should pass; a flag is a false alarm
  apertium     the offline engine's English (ApertiumTranslator with romanisation and the
               packaged rules, as the service runs it): the lines the check would hold
The check runs per line (a line is one segment), as check_translation runs it per sentence.
It also prints how many lines each meaning check (qa.meaning_checks) flags on each side.

    .venv/bin/python bench/negation_check.py [--limit N] [--data ../shared/eval-data] [--show 10]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from publisher.translate.apertium import ApertiumTranslator
from publisher.translate.options import ApertiumOptions
from publisher.translate.qa import meaning_checks
from publisher.translate.qa_meaning import negation_lost, negations


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "eval-data")
    parser.add_argument("--limit", type=int, default=0, help="only the first N lines (0: all)")
    parser.add_argument("--show", type=int, default=0, help="print this many flagged lines of each side")
    args = parser.parse_args()
    src = (args.data / "ntrex128.mk").read_text("utf-8").splitlines()
    ref = (args.data / "ntrex128.en").read_text("utf-8").splitlines()
    if len(src) != len(ref):
        raise SystemExit(f"{len(src)} source lines but {len(ref)} reference lines")
    if args.limit:
        src, ref = src[: args.limit], ref[: args.limit]
    engine = ApertiumTranslator(ApertiumOptions())
    started = time.perf_counter()
    try:
        hyp = engine.translate_batch(src, "mk", "en")
    finally:
        engine.close()
    seconds = time.perf_counter() - started

    negating = [i for i, line in enumerate(src) if negations(line, "mk")]
    both = [i for i in negating if negations(ref[i], "en")]  # source and reference negate
    ref_flags = [i for i in negating if negation_lost(src[i], ref[i], "mk", "en")]
    hyp_flags = [i for i in negating if negation_lost(src[i], hyp[i], "mk", "en")]
    hyp_lost_where_both = [i for i in both if negation_lost(src[i], hyp[i], "mk", "en")]
    n = len(negating)
    print(f"NTREX-128 mk→en, {len(src)} lines, data {args.data}; Apertium {seconds:.1f} s")
    print(f"source lines with a negation: {n}")
    print(f"references flagged (false alarms): {len(ref_flags)} of {n} = {100 * len(ref_flags) / max(1, n):.1f}%")
    print(f"Apertium output flagged: {len(hyp_flags)} of {n} = {100 * len(hyp_flags) / max(1, n):.1f}% "
          f"({100 * len(hyp_flags) / max(1, len(src)):.1f}% of all lines)")
    print(f"lines where source and reference both negate: {len(both)}; Apertium lost the negation in "
          f"{len(hyp_lost_where_both)} = {100 * len(hyp_lost_where_both) / max(1, len(both)):.1f}% "
          f"(negation kept in {100 - 100 * len(hyp_lost_where_both) / max(1, len(both)):.1f}%)")
    for name, side in (("references", ref), ("apertium", hyp)):
        counts: dict[str, int] = {}
        held = 0
        for s, o in zip(src, side):
            failed = [c.name for c in meaning_checks([s], [o], "mk", "en") if not c.ok]
            held += bool(failed)
            for check in failed:
                counts[check] = counts.get(check, 0) + 1
        shown = ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        print(f"meaning checks on {name}: lines failing any {held} of {len(src)} = {100 * held / len(src):.1f}% ({shown})")
    for name, flags, side in (("reference", ref_flags, ref), ("apertium", hyp_flags, hyp)):
        for i in flags[: args.show]:
            print(f"  [{name} {i + 1}] {src[i]}\n      → {side[i]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
