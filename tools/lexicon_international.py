#!/usr/bin/env python3
"""Internationalisms Apertium mkd-eng lacks: регистрација → registration, екстремизам →
extremism, регионален → regional, организира → organise; candidates checked against an
English word list (wordfreq's, at generation time only), so only real English words come out.

    python tools/lexicon_gaps.py --wordfreq 50000 > gaps.tsv
    python tools/lexicon_international.py gaps.tsv > tools/lexicon-src/international.txt

Each unknown Macedonian word form is reduced to its lemma by its ending (-ција/-цијата/-ции,
-изам/-измот, -ист/-исти, -ален/-ална/-алните, -ивен, -ички, -ира/-ирал/-ирање …), the
lemma's stem romanised with English spelling variants (к → c/k, кс → x, ф → f/ph, и → i/y,
ц → c/t) and its ending mapped (-ција → -tion, -изам → -ism, -ален → -al, -ифицира → -ify, -ира → -ate/-ise…).
A candidate is kept when wordfreq's English list has it among its top 200,000 words; a few
known false friends are excluded.
"""

from __future__ import annotations

import itertools
import re
import sys

# (mk lemma ending, POS, English endings to try, Macedonian form endings that reduce to it)
RULES = [
    ("ција", "n", ["tion", "cy", "ce"], ["ција", "цијата", "ции", "циите", "цијава"]),
    ("изам", "n", ["ism"], ["изам", "измот", "изми", "измите"]),
    ("ист", "n", ["ist"], ["ист", "истот", "исти", "истите", "истка"]),
    ("тет", "n", ["ty"], ["тет", "тетот", "тети", "тетите"]),
    ("ура", "n", ["ure"], ["ура", "урата", "ури", "урите"]),
    ("ија", "n", ["y"], ["ија", "ијата", "ии", "иите"]),
    ("ент", "n", ["ent"], ["ент", "ентот", "енти", "ентите"]),
    ("ант", "n", ["ant"], ["ант", "антот", "анти", "антите"]),
    ("ален", "adj", ["al"], ["ален", "ална", "ално", "ални", "алниот", "алната", "алното", "алните"]),
    ("ивен", "adj", ["ive"], ["ивен", "ивна", "ивно", "ивни", "ивниот", "ивната", "ивното", "ивните"]),
    ("ичен", "adj", ["ic", "ical"], ["ичен", "ична", "ично", "ични", "ичниот", "ичната", "ичното", "ичните"]),
    ("ички", "adj", ["ical"], ["ички", "ичка", "ичко", "ичкиот", "ичката", "ичкото", "ичките"]),
    ("ифицира", "v", ["ify"], ["ифицира", "ифицираат", "ифицирал", "ифицирале", "ифицирано", "ифицирани",
                               "ифицирана", "ифициран", "ифицирање", "ифицирањето", "ифицираше"]),
    ("ира", "v", ["ate", "ise", "ize", "e", ""], ["ира", "ираат", "ирал", "ирала", "ирале", "ирано", "ирани",
                                                  "ирана", "иран", "ирање", "ирањето", "ираше", "ирав"]),
]
FALSE_FRIENDS = {"амбуланта", "фабрика", "евиденција", "ординација", "конкуренција", "афера", "декада",
                 "комисија", "сензибилитет", "гимназија", "апсолвент", "шанса", "акција", "регулира",
                 "реализира", "директор", "стадион", "експедитивен", "ефикасен", "потенцира", "количка",
                 "фабрички", "пласира", "канализира", "коментира", "парадира", "прецизира"}

LAT = {"а": ["a"], "б": ["b"], "в": ["v"], "г": ["g"], "д": ["d"], "ѓ": ["g"], "е": ["e"], "ж": ["zh", "g", "j"],
       "з": ["z", "s"], "ѕ": ["dz"], "и": ["i", "y"], "ј": ["j", "y", ""], "к": ["c", "k", "ch"], "л": ["l"],
       "љ": ["l"], "м": ["m"], "н": ["n"], "њ": ["n"], "о": ["o"], "п": ["p"], "р": ["r"], "с": ["s", "c"],
       "т": ["t", "th"], "ќ": ["c"], "у": ["u", "ou"], "ф": ["f", "ph"], "х": ["h", "ch"], "ц": ["c", "t", "z"],
       "ч": ["ch"], "џ": ["j"], "ш": ["sh"]}


def spellings(stem: str, limit: int = 400) -> list[str]:
    stem = stem.replace("кс", "x")
    options = [LAT.get(c, [c]) if c != "x" else ["x"] for c in stem]
    out = []
    for combo in itertools.product(*options):
        out.append("".join(combo))
        if len(out) >= limit:
            break
    return out


def main() -> int:
    import wordfreq  # generation time only

    english = set(wordfreq.top_n_list("en", 80000))
    forms = []
    for line in open(sys.argv[1], encoding="utf-8"):
        parts = line.rstrip("\n").split("\t")
        if len(parts) >= 3 and parts[1] == "*":
            forms.append(parts[2])
    seen: set[tuple[str, str]] = set()
    for form in forms:
        for ending, pos, en_endings, form_endings in RULES:
            hit = next((fe for fe in sorted(form_endings, key=len, reverse=True) if form.endswith(fe)), None)
            if hit is None or len(form) - len(hit) < 3:
                continue
            lemma = form[: len(form) - len(hit)] + ending
            if (lemma, pos) in seen or lemma in FALSE_FRIENDS:
                break
            seen.add((lemma, pos))
            stem = lemma[: len(lemma) - len(ending)]
            found = None
            for sp in spellings(stem):
                for ee in en_endings:
                    cand = sp + ee
                    if len(cand) > 4 and cand in english:
                        found = cand
                        break
                if found:
                    break
            if found and not (pos == "v" and not found.endswith(("ate", "ise", "ize", "fy")) and len(found) < 7):
                aspect = "|impf" if pos == "v" else ""
                print(f"{lemma}|{pos}|{found}{aspect}")
            break
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
