"""Which translation routes of the chains can run here, and why the others cannot (for
``publisher config check``). A route is a chain entry: one engine, or a pivot ``a>b``
(see docs/translation.md). Building an engine connects to nothing; only a LibreTranslate
server is asked for its languages (it is the site's own server, or online is on)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .base import EngineError, EngineUnavailable, Translator
from .engines import build_engine
from .hosting import where
from .options import TranslationSettings

PIVOT = ">"
PIVOT_LANGUAGE = "en"


def hops(route: str, src: str, tgt: str) -> list[tuple[str, str, str]]:
    """(engine, from, to) for each hop: ``apertium>libre`` = src→en with apertium, en→tgt with libre."""
    names = route.split(PIVOT)
    if len(names) == 1:
        return [(route, src, tgt)]
    return [(names[0], src, PIVOT_LANGUAGE), (names[1], PIVOT_LANGUAGE, tgt)]


@dataclass(frozen=True)
class RouteState:
    lang: str
    route: str
    ok: bool
    detail: str  # where it runs, or why it cannot


def route_report(
    settings: TranslationSettings, src: str, langs: list[str],
    build: Callable[[str, TranslationSettings], Translator] = build_engine,
) -> list[RouteState]:
    built: dict[str, Translator | str] = {}  # name → engine, or why it is unavailable
    states: list[RouteState] = []
    try:
        for lang in langs:
            for route in settings.chains.get(lang, []):
                problems, places = [], []
                for name, a, b in hops(route, src, lang):
                    if name not in built:
                        try:
                            built[name] = build(name, settings)
                        except EngineUnavailable as exc:
                            built[name] = str(exc).split(": ", 1)[-1]
                    engine = built[name]
                    if isinstance(engine, str):
                        problems.append(f"{name}: {engine}")
                        continue
                    why = _cannot(engine, a, b)
                    if why:
                        problems.append(f"{name}: {why}")
                    else:
                        places.append(f"{name} {a}→{b} {where(name, settings)}")
                ok = not problems
                states.append(RouteState(lang, route, ok, "; ".join(places) if ok else "; ".join(problems)))
    finally:
        for engine in built.values():
            if not isinstance(engine, str):
                engine.close()
    return states


def _cannot(engine: Translator, src: str, tgt: str) -> str | None:
    languages = getattr(engine, "languages", None)
    if callable(languages):  # a server that lists its pairs (LibreTranslate)
        try:
            languages()
        except EngineError as exc:
            return f"cannot list its languages ({str(exc).split(': ', 1)[-1]})"
    if not engine.supports(src, tgt):
        return f"does not translate {src}→{tgt}"
    return None
