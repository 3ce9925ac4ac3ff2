#!/usr/bin/env python3
"""Quality of the offline engine on NTREX-128 mk→en, scored with sacrebleu (chrF and BLEU).

Runs the Macedonian side through ApertiumTranslator (persistent pipeline, one block per
sentence) in three configurations and scores each against the English references:
  raw        plain Apertium: marks stripped (as `apertium -u`), no rules, no romanisation
  translit   + unknown Cyrillic words romanised
  lexicon    + the supplementary lexicon (publisher/translate/data/lexicon-mk-en.tsv), no rules
  rules      + the packaged sense and grammar rules too: what the service runs
Prints chrF and BLEU with sacrebleu's signatures, the share of output words that are
romanised Macedonian (qa_meaning.romanised_words: names inside a sentence not counted), the
throughput against raw Apertium in the same run, and checks that no Cyrillic is left in the
"rules" output.

    .venv/bin/python bench/translation_quality.py [--limit N] [--repeat N] [--data /work/shared/eval-data]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from sacrebleu.metrics import BLEU, CHRF

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from publisher.translate.apertium import ApertiumTranslator
from publisher.translate.options import ApertiumOptions
from publisher.translate.qa_meaning import pairs_of, romanised_words
from publisher.translate.translit import has_cyrillic

CONFIGS = {
    "raw": {"transliterate_unknown": False, "use_rules": False},
    "translit": {"transliterate_unknown": True, "use_rules": False},
    "lexicon": {"transliterate_unknown": True, "use_rules": False, "use_lexicon": True},
    "rules": {"transliterate_unknown": True, "use_rules": True},
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "eval-data")
    parser.add_argument("--limit", type=int, default=0, help="only the first N sentences (0: all)")
    parser.add_argument("--save", type=Path, default=None, help="write each configuration's output here")
    parser.add_argument("--repeat", type=int, default=1,
                        help="translate N times per configuration and keep the fastest (a shared machine is noisy)")
    args = parser.parse_args()

    src = (args.data / "ntrex128.mk").read_text("utf-8").splitlines()
    ref = (args.data / "ntrex128.en").read_text("utf-8").splitlines()
    if len(src) != len(ref):
        raise SystemExit(f"{len(src)} source lines but {len(ref)} reference lines")
    if args.limit:
        src, ref = src[: args.limit], ref[: args.limit]
    print(f"NTREX-128 mk→en, {len(src)} sentences, data {args.data}")

    chrf, bleu = CHRF(), BLEU()
    rows = []
    for name, cfg in CONFIGS.items():
        engine = ApertiumTranslator(
            ApertiumOptions(transliterate_unknown=cfg["transliterate_unknown"]), use_rules=cfg["use_rules"],
            use_lexicon=cfg.get("use_lexicon"),
        )
        seconds = float("inf")
        try:
            for _ in range(max(1, args.repeat)):
                start = time.perf_counter()
                hyp = engine.translate_batch(src, "mk", "en")
                seconds = min(seconds, time.perf_counter() - start)
        finally:
            engine.close()
        if args.save:
            args.save.mkdir(parents=True, exist_ok=True)
            (args.save / f"ntrex128.{name}.en").write_text("\n".join(hyp) + "\n", "utf-8")
        c = chrf.corpus_score(hyp, [ref])
        b = bleu.corpus_score(hyp, [ref])
        cyr = sum(1 for h in hyp if has_cyrillic(h))
        roman = total = 0
        for s_line, h_line in zip(src, hyp):
            spans, words = romanised_words(pairs_of([s_line], [h_line]), "mk")
            roman, total = roman + len(spans), total + words
        rows.append((name, c.score, b.score, cyr, seconds))
        speed = f"{rows[0][4] / seconds * 100:5.0f}% of raw"
        print(f"{name:9s} chrF {c.score:6.2f}  BLEU {b.score:6.2f}  romanised {100 * roman / max(1, total):5.2f}% "
              f"of {total} words  lines with Cyrillic {cyr:4d}  {seconds:6.1f} s ({speed})")

    print(f"chrF signature: {chrf.get_signature()}")
    print(f"BLEU signature: {bleu.get_signature()}")
    base = rows[0]
    for name, c, b, _, _ in rows[1:]:
        print(f"{name} vs raw: chrF {c - base[1]:+.2f}, BLEU {b - base[2]:+.2f}")
    if rows[-1][3]:
        print("ERROR: Cyrillic left in the post-processed output", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
