"""The translate stage: every (release, target language) without a current translation is
translated through the service and the result (or the reason) stored. Reads and writes only
the store; never overwrites a staff translation."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import PublisherError
from ..models import StoredRelease, StoredTranslation, TranslationStatus
from ..structure import rebuild, translation_blocks
from .qa import describe, failures
from .service import TranslationService

log = logging.getLogger(__name__)

ProgressFn = Callable[[StoredRelease, str, StoredTranslation], None]


@dataclass
class TranslateReport:
    translated: Counter[str] = field(default_factory=Counter)  # engine → releases
    failed: list[tuple[int, str, str]] = field(default_factory=list)  # (release id, lang, reason)
    waiting: list[tuple[int, str, str]] = field(default_factory=list)  # no engine could try
    held: list[tuple[int, str, str]] = field(default_factory=list)  # machine output that failed a check
    stale: int = 0
    memory_hits: int = 0
    engine_segments: int = 0

    def as_dict(self) -> dict[str, object]:
        return {
            "translated": dict(self.translated),
            "failed": [{"release": r, "lang": lang, "reason": why} for r, lang, why in self.failed],
            "waiting": [{"release": r, "lang": lang, "reason": why} for r, lang, why in self.waiting],
            "held": [{"release": r, "lang": lang, "reason": why} for r, lang, why in self.held],
            "stale": self.stale,
            "memory_hits": self.memory_hits,
            "engine_segments": self.engine_segments,
        }


def translate_release(
    service: TranslationService, release: StoredRelease, lang: str, engine: str | None = None, force: bool = False
) -> tuple[StoredTranslation, int, int]:
    """Translate one release into one language and store the outcome.
    Returns (stored translation, memory hits, segments sent to an engine)."""
    store = service.store
    if release.held:  # issue 9: not translated until staff confirm the language it is in
        raise PublisherError(f"release {release.id} is held: its text reads as {release.detected_language}; confirm "
                             f"its language first (`publisher releases confirm-language {release.id} LANG`)")
    src = release.language  # its own language: the source language, or what staff confirmed (issue 9)
    if not service.chain(lang, engine):
        reason = (f"waiting: no engine chain translates into {lang} (from {src}); add [translation] "
                  f"chains.{lang} = [...] to translate releases written in another language into it")
        return store.save_translation_problem(release, lang, reason, status=TranslationStatus.PENDING), 0, 0
    blocks = translation_blocks(release.paragraphs, release.body_html)  # issue 9: markup travels too
    result = service.translate_texts([release.title, *release.paragraphs], src, lang, engine=engine,
                                     markup=[None, *(b.html for b in blocks)] if blocks else None)
    qa = [c.as_dict() for c in result.checks]
    held = describe(failures(result.checks)) if result.ok else ""  # issue 11: failed meaning checks
    if result.ok:
        title, *paragraphs = result.texts
        body_html = None
        if blocks and result.html:
            paragraphs, body_html = rebuild(blocks, result.html[1:])
        stored = store.save_machine_translation(release, lang, title, "\n\n".join(paragraphs), result.engine, qa,
                                                force=force, usage=result.usage, body_html=body_html,
                                                held=held or None)
    elif result.only_unavailable:
        stored = store.save_translation_problem(release, lang, f"waiting: {result.reason}", qa,
                                                status=TranslationStatus.PENDING, usage=result.usage)
    else:
        stored = store.save_translation_problem(release, lang, result.reason, qa, usage=result.usage)
    return stored, result.memory_hits, result.engine_segments


def translate_pending(
    service: TranslationService,
    release: int | str | None = None,
    langs: list[str] | None = None,
    progress: ProgressFn | None = None,
) -> TranslateReport:
    store = service.store
    settings = service.settings
    report = TranslateReport(stale=store.mark_stale())
    # every site language: a release is translated into each one but its own (an Albanian
    # original confirmed by staff goes into the source language too)
    targets = langs or settings.site.languages
    for item, lang in store.translation_work(targets, settings.translation.max_attempts, release):
        stored, hits, sent = translate_release(service, item, lang)
        report.memory_hits += hits
        report.engine_segments += sent
        if stored.status is TranslationStatus.MACHINE:
            report.translated[stored.engine or "?"] += 1
            if stored.error:  # issue 11: a check failed; held for review under publish = "checked"
                report.held.append((item.id, lang, stored.error))
        elif stored.status is TranslationStatus.PENDING:
            report.waiting.append((item.id, lang, stored.error or ""))
        elif stored.status is TranslationStatus.FAILED:
            report.failed.append((item.id, lang, stored.error or ""))
        if progress is not None:
            progress(item, lang, stored)
    return report
