#!/usr/bin/env python3
"""Which Macedonian words Apertium mkd-eng does not know, most frequent first.

Input: word lists (one word per line, most frequent first, e.g. wordfreq's
``top_n_list('mk', 50000)``) and/or running text (counted). Each word goes through the
analysis half of mkd-eng (lt-proc -w | cg-proc | tagger | pretransfer | lt-proc -b) and is
classed as ``*`` (the analyser lacks it), ``@`` (analysed, missing from the bilingual
dictionary) or known. Prints TSV: rank/count, class, word, analysis. Never point it at the
evaluation data.

    python tools/lexicon_gaps.py --wordfreq 50000 --text ../shared/samples/*.txt > gaps.tsv
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

D = "/usr/share/apertium/apertium-mkd-eng"
ANALYSE = (f"lt-proc -w {D}/mkd-eng.automorf.bin | cg-proc -w {D}/mkd-eng.rlx.bin | "
           f"apertium-tagger -g {D}/mkd-eng.prob | apertium-pretransfer | lt-proc -b {D}/mkd-eng.autobil.bin")
_WORD = re.compile(r"[а-шѓќѕјљњџѐѝА-ШЃЌЅЈЉЊЏ]+")
_LU = re.compile(r"\^((?:\\.|[^\\$])*)\$")


def classify(words: list[str]) -> list[tuple[str, str, str]]:
    """(word, class, first analysis) per word; class is '*', '@' or ''."""
    out = subprocess.run(["/bin/sh", "-c", ANALYSE], input="\n".join(words) + "\n",
                         capture_output=True, text=True, check=True).stdout
    lines = out.split("\n")
    result = []
    for word, line in zip(words, lines):
        units = _LU.findall(line)
        cls, analysis = "", ""
        for u in units:
            parts = u.split("/")
            if parts[0].startswith("*") or (len(parts) > 1 and parts[1].startswith("*")):
                cls = "*"
            elif len(parts) > 1 and parts[1].startswith("@"):
                cls, analysis = "@", parts[0]
            elif not analysis:
                analysis = parts[0]
        result.append((word, cls, analysis))
    return result


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--wordfreq", type=int, default=0, help="take wordfreq's top N Macedonian words")
    p.add_argument("--list", type=Path, action="append", default=[], help="a word list, most frequent first")
    p.add_argument("--text", type=Path, nargs="*", default=[], help="running Macedonian text to count")
    p.add_argument("--all", action="store_true", help="print known words too")
    args = p.parse_args()
    words: dict[str, int] = {}
    if args.wordfreq:
        import wordfreq  # generation-time only: pip install wordfreq

        for w in wordfreq.top_n_list("mk", args.wordfreq):
            if _WORD.fullmatch(w):
                words.setdefault(w, len(words) + 1)
    for path in args.list:
        for w in path.read_text("utf-8").split():
            if _WORD.fullmatch(w):
                words.setdefault(w.lower(), len(words) + 1)
    counts = Counter(w.lower() for path in args.text for w in _WORD.findall(path.read_text("utf-8")))
    for w, _ in counts.most_common():
        words.setdefault(w, len(words) + 1)
    ranked = sorted(words, key=words.get)
    rows = classify(ranked)
    tally = Counter(cls for _, cls, _ in rows)
    for word, cls, analysis in rows:
        if cls or args.all:
            print(f"{words[word]}\t{cls or '-'}\t{word}\t{analysis}")
    print(f"# {len(rows)} words: unknown (*) {tally['*']}, no bilingual entry (@) {tally['@']}, "
          f"known {tally['']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
