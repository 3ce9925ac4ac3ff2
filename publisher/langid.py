"""Language identification with lingua, restricted to the languages a site can meet.

Only lingua's low-accuracy mode is used (trigram models: 39 MiB and 0.05 s to build, where the
high-accuracy models take ~300 MiB and 1.2 s for the default candidate list). That bounds the
memory of one ingest (issue 9: peak RSS of the hostile-corpus ingest under 300 MB).

Texts of 120 characters or more get lingua's answer as it is: on text this long the two modes
agree, as lingua's documentation says. A shorter text is answered only when lingua is at least
``SHORT_TEXT_CONFIDENCE`` sure; otherwise it is "unsure" (None), so a short Macedonian release is
not held as another language on a guess. Measured on ../shared/eval-data with the default
candidates (`bench/langid_short.py`), short Tatoeba Macedonian lines called another language:
16% with the high-accuracy models and no threshold, 5% now; 98% of short Albanian lines (NTREX)
are still recognised.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

LONG_TEXT = 120
SHORT_TEXT_CONFIDENCE = 0.9


@lru_cache(maxsize=8)
def _detector(codes: tuple[str, ...]):  # type: ignore[no-untyped-def]
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    isos = [IsoCode639_1.from_str(code) for code in codes]
    builder = LanguageDetectorBuilder.from_iso_codes_639_1(*isos)
    return builder.with_low_accuracy_mode().with_preloaded_language_models().build()


def detect_language(text: str, candidates: Iterable[str]) -> str | None:
    """ISO 639-1 code of the most likely language among ``candidates``, or None if unsure."""
    codes = tuple(sorted(set(candidates)))
    if len(codes) < 2:
        return codes[0] if codes else None
    sample = text[:1000].strip()  # plenty for lingua; detection time grows with length
    if not sample:
        return None
    detector = _detector(codes)
    if len(sample) >= LONG_TEXT:
        language = detector.detect_language_of(sample)
    else:
        values = detector.compute_language_confidence_values(sample)
        language = values[0].language if values and values[0].value >= SHORT_TEXT_CONFIDENCE else None
    return language.iso_code_639_1.name.lower() if language is not None else None
