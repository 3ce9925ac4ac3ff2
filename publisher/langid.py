"""Language identification with lingua, restricted to the languages a site can meet."""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache


@lru_cache(maxsize=8)
def _detector(codes: tuple[str, ...]):  # type: ignore[no-untyped-def]
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    isos = [IsoCode639_1.from_str(code) for code in codes]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*isos).with_preloaded_language_models().build()


def detect_language(text: str, candidates: Iterable[str]) -> str | None:
    """ISO 639-1 code of the most likely language among ``candidates``, or None if unsure."""
    codes = tuple(sorted(set(candidates)))
    if len(codes) < 2:
        return codes[0] if codes else None
    sample = text[:1000]  # plenty for lingua; detection time grows with length
    if not sample.strip():
        return None
    language = _detector(codes).detect_language_of(sample)
    return language.iso_code_639_1.name.lower() if language is not None else None
