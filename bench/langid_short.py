"""How language identification treats short texts (under langid.LONG_TEXT characters).

Reads the eval data in ../shared/eval-data and prints, per file, the share of short lines that
publisher.langid.detect_language calls the file's language, another language, or unsure, with
the site's default candidate languages, and the peak RSS. Run:

    .venv/bin/python bench/langid_short.py [--lines 600]
"""

from __future__ import annotations

import argparse
import resource
from pathlib import Path

from publisher.langid import LONG_TEXT, detect_language
from publisher.settings import Settings

DATA = Path(__file__).resolve().parents[2] / "shared" / "eval-data"
FILES = [("tatoeba.mk", "mk"), ("ntrex128.mk", "mk"), ("ntrex128.sq", "sq"), ("tatoeba.en", "en")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=600)
    args = parser.parse_args()
    settings = Settings()
    candidates = set(settings.cleaning.detector_languages) | set(settings.site.languages)
    for name, lang in FILES:
        lines = [line.strip() for line in (DATA / name).read_text(encoding="utf-8").splitlines()]
        short = [line for line in lines if line and len(line) < LONG_TEXT][: args.lines]
        answers = [detect_language(line, candidates) for line in short]
        right = sum(a == lang for a in answers)
        unsure = sum(a is None for a in answers)
        other = len(answers) - right - unsure
        print(f"{name:12} {len(short):5} short lines  right {right / len(short):6.1%}  "
              f"other language {other / len(short):6.1%}  unsure {unsure / len(short):6.1%}")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
