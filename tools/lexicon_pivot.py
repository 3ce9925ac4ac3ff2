#!/usr/bin/env python3
"""Candidate mk→en renderings through Serbo-Croatian, for words apertium-mkd-eng lacks.

Generation-time only (the runtime needs none of these packages):
    apt-get install apertium-hbs-mkd apertium-hbs-eng
    python tools/lexicon_gaps.py --wordfreq 50000 > gaps.tsv
    python tools/lexicon_pivot.py gaps.tsv > pivot.tsv

For each unknown word: the analyser of apertium-hbs-mkd gives its lemma and part of speech,
the mkd→hbs bilingual dictionary its Serbo-Croatian lemma, and the hbs→eng dictionary of
apertium-hbs-eng the English. Prints TSV rows ``lemma POS english source`` (one per lemma,
the first rendering each dictionary offers), for review before they go into
publisher/translate/data/lexicon-mk-en.tsv.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter

H = "/usr/share/apertium/apertium-hbs-mkd"
E = "/usr/share/apertium/apertium-hbs-eng"
_LU = re.compile(r"\^((?:\\.|[^\\$])*)\$")
_TAGS = re.compile(r"<([^>]+)>")
POS = {"n": "n", "adj": "adj", "vblex": "v", "adv": "adv", "np": "np", "num": "num"}


def run(cmd: str, lines: list[str]) -> list[str]:
    out = subprocess.run(["/bin/sh", "-c", cmd], input="\n".join(lines) + "\n",
                         capture_output=True, text=True, check=True).stdout
    return out.split("\n")


def units(line: str) -> list[list[str]]:
    return [u.split("/") for u in _LU.findall(line)]


def lemma_tags(analysis: str) -> tuple[str, list[str]]:
    i = analysis.find("<")
    return (analysis, []) if i < 0 else (analysis[:i], _TAGS.findall(analysis[i:]))


def main() -> int:
    words = []
    for line in open(sys.argv[1], encoding="utf-8"):
        if line.startswith("#"):
            continue
        parts = line.rstrip("\n").split("\t")
        if len(parts) >= 3 and parts[1] in "*@":
            words.append(parts[2])
    analysed = run(f"lt-proc -w {H}/mkd-hbs.automorf.bin", words)
    lemmas: dict[tuple[str, str], str] = {}  # (lemma, pos) → full analysis to look up
    rank: dict[tuple[str, str], int] = {}
    for i, line in enumerate(analysed[: len(words)]):
        for u in units(line):
            for a in u[1:]:
                if a.startswith("*"):
                    continue
                lemma, tags = lemma_tags(a)
                if not tags or tags[0] not in POS or "+" in a:
                    continue
                key = (lemma, POS[tags[0]])
                lemmas.setdefault(key, a)
                rank.setdefault(key, i)
                break
    keys = sorted(lemmas, key=rank.get)
    hbs = run(f"lt-proc -b {H}/mkd-hbs.autobil.bin", ["^" + lemmas[k] + "$" for k in keys])
    pivots = []
    for k, line in zip(keys, hbs):
        us = units(line)
        cands = [c for c in (us[0][1:] if us else []) if not c.startswith("@")]
        pivots.append(cands[:3])
    flat = [(k, c) for k, cs in zip(keys, pivots) for c in cs]
    queries = []
    for _, c in flat:
        queries.append("^" + c + "$")
    eng = run(f"lt-proc -b {E}/hbs-eng.autobil.bin", queries)
    # a second try with Serbo-Croatian animacy tags folded (mi/ma → m)
    eng2 = run(f"lt-proc -b {E}/hbs-eng.autobil.bin",
               ["^" + re.sub(r"<m[ai]>", "<m>", c) + "$" for _, c in flat])
    best: dict[tuple[str, str], tuple[str, str]] = {}
    for (k, c), l1, l2 in zip(flat, eng, eng2):
        if k in best:
            continue
        for line in (l1, l2):
            us = units(line)
            opts = [o for o in (us[0][1:] if us else []) if not o.startswith("@")]
            if opts:
                en, _ = lemma_tags(opts[0])
                best[k] = (en.replace("# ", " ").replace("#", ""), lemma_tags(c)[0])
                break
    tally = Counter()
    for k in keys:
        if k in best:
            en, via = best[k]
            print(f"{k[0]}\t{k[1]}\t{en}\thbs:{via}")
            tally[k[1]] += 1
    print(f"# {len(words)} words, {len(keys)} lemmas analysed, {len(best)} with an English rendering "
          f"({dict(tally)})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
