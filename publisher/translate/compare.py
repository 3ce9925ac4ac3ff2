"""Engines side by side (``publisher translate compare``, the staff compare page): every
engine, and every pivot route in the language's chain, that can run here translates one
release; the outputs are shown paragraph by paragraph with the service's quality checks,
the time taken and the token usage, so staff can choose a chain from evidence.

Read-only: the service runs without a store (``TranslationService(settings, store=None)``),
so the translation memory is neither read (every engine really translates) nor written,
and nothing is saved as the release's translation. An output that fails its checks is
shown too (``TranslationResult.rejected``). Routes that cannot run here are listed with
the reason (publisher.translate.routes, the same answer as ``config check``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..errors import PublisherError
from ..models import StoredRelease
from ..settings import Settings
from .base import Translator, describe_usage
from .engines import build_engine, engine_names
from .qa import check_translation, describe, failures
from .routes import route_report
from .service import TranslationService


@dataclass
class RouteRun:
    name: str
    runs: bool
    where: str = ""  # where its hops run, or why it cannot
    status: str = "cannot run"  # accepted | quality check failed | failed | cannot run
    error: str | None = None
    seconds: float | None = None
    usage: dict[str, int] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)  # the service's checks on the whole release
    texts: list[dict[str, Any]] = field(default_factory=list)  # title, then paragraphs: output + own checks

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "runs": self.runs, "status": self.status}
        if not self.runs:
            return {**data, "reason": self.where}
        return {**data, "where": self.where, "error": self.error, "seconds": self.seconds, "usage": self.usage,
                "cost": describe_usage({self.name: self.usage}) if self.usage else "",
                "qa_ok": not any(not c["ok"] for c in self.checks), "qa": self.checks,
                "title": self.texts[0] if self.texts else None, "paragraphs": self.texts[1:]}


def candidate_routes(settings: Settings, lang: str) -> list[str]:
    """The language's chain first (its order), then every other engine; pivot routes are
    those the chains name (``a>b``: every pair would be too many)."""
    chain = list(settings.translation.chains.get(lang, []))
    return list(dict.fromkeys([*chain, *engine_names()]))


def compare_release(
    settings: Settings, release: StoredRelease, lang: str,
    build: Callable[[str, Any], Translator] = build_engine,
) -> dict[str, Any]:
    """Run every route that can run here on ``release`` into ``lang``; store nothing."""
    if release.held:
        raise PublisherError(f"release {release.id} is held: its text reads as {release.detected_language}; confirm "
                             f"its language first (`publisher releases confirm-language {release.id} LANG`)")
    if lang not in settings.site.languages or lang == release.language:
        others = [code for code in settings.site.languages if code != release.language]
        raise PublisherError(f"release {release.id} is in {release.language}; compare engines for "
                             f"{', '.join(others)}, not {lang!r}")
    src = release.language
    routes = candidate_routes(settings, lang)
    options = settings.translation.model_copy(update={"chains": {lang: routes}})
    states = {s.route: s for s in route_report(options, src, [lang], build=build)}
    sources = [release.title, *release.paragraphs]
    service = TranslationService(settings, store=None)  # no store: no memory read or written, nothing saved
    runs: list[RouteRun] = []
    try:
        for name in routes:
            state = states[name]
            run = RouteRun(name, state.ok, state.detail)
            if state.ok:
                _run(service, run, sources, src, lang)
            runs.append(run)
    finally:
        service.close()
    runs.sort(key=lambda r: not r.runs)  # stable: those that ran first, in the chain's order
    return {
        "release": release.id, "lang": lang, "source_language": src,
        "chain": list(settings.translation.chains.get(lang, [])),
        "original": {"title": release.title, "paragraphs": list(release.paragraphs)},
        "engines": [r.as_dict() for r in runs],
        "stored": False,  # a comparison: no translation, no memory written
    }


def _run(service: TranslationService, run: RouteRun, sources: list[str], src: str, tgt: str) -> None:
    started = time.perf_counter()
    result = service.translate_texts(sources, src, tgt, engine=run.name)
    run.seconds = round(time.perf_counter() - started, 3)
    run.usage = dict(result.usage.get(run.name, {}))
    run.checks = [c.as_dict() for c in result.checks]
    outputs = result.texts if result.ok else result.rejected
    if result.ok:
        run.status = "accepted"
    elif outputs is not None:
        run.status, run.error = "quality check failed", describe(result.checks)
    else:
        run.status, run.error = "failed", result.reason.split(": ", 1)[-1]
    if outputs is None:
        return
    options = service.options
    for source, output in zip(sources, outputs):
        protected = [t.render(tgt) or "" for t in service.glossary.mask(source, tgt).terms]
        checks = check_translation([source], [output], src, tgt, protected=protected,
                                   min_ratio=options.min_length_ratio, max_ratio=options.max_length_ratio,
                                   language_candidates=set(service.settings.cleaning.detector_languages))
        run.texts.append({"source": source, "output": output, "ok": not failures(checks),
                          "qa": [c.as_dict() for c in checks]})

