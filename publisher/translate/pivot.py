"""Pivot routes: a chain entry ``"a>b"`` translates source → English with engine ``a``, then
English → target with engine ``b`` (``"apertium>libre"``: Apertium mk→en offline, then a
self-hosted LibreTranslate en→sq).

The route is one Translator to the service, so the chain, the quality checks (on the final
text only), the glossary (its placeholders travel through both hops and become the target
language's renderings at the end), the route's own memory and the stored engine name
(``apertium>libre``) work as for any engine. Each hop is a real engine called through the
service's ``_call``: its own rate limit, retries and circuit breaker. The English of the
first hop is kept in the translation memory under the first engine (``apertium``, mk→en) as
soon as it is made, so a changed or failing second engine never re-runs the first hop.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from .base import EngineError, TermHint, Translator, TranslatorBase
from .routes import PIVOT, PIVOT_LANGUAGE
from .segment import BATCHED_ENGINES, segment_key



class HopRunner(Protocol):
    """What a route needs of the translation service (service.TranslationService is one): its
    engines, memory store and options, and the call that runs one hop with the engine's own rate
    limit, retries and circuit breaker. A protocol, so this module does not import the service."""

    store: Any
    options: Any
    stats: Any

    def engine(self, name: str) -> Translator: ...

    def _circuit_open(self, name: str) -> float: ...

    def _call(self, translator: Translator, texts: Sequence[str], src: str, tgt: str,
              terms: Sequence[Sequence[TermHint]] | None = None) -> list[str]: ...

BIG_BATCH = 50


def via(engine: str | None) -> str | None:
    """The pivot language of a stored engine name ('apertium>libre' → 'en'), else None."""
    return PIVOT_LANGUAGE if engine and PIVOT in engine else None


class PivotTranslator(TranslatorBase):
    def __init__(self, name: str, first: Translator, second: Translator, service: HopRunner,
                 key: Callable[[str], str]):
        self.name = name
        self.first, self.second = first, second
        self.machine = first.machine and second.machine
        self.max_chars = min(first.max_chars, second.max_chars)
        self.batch_size = BIG_BATCH
        self.uses_terms = True
        self._service, self._key = service, key

    def supports(self, src: str, tgt: str) -> bool:
        return (src != PIVOT_LANGUAGE != tgt and self.first.supports(src, PIVOT_LANGUAGE)
                and self.second.supports(PIVOT_LANGUAGE, tgt))

    def usage(self) -> dict[str, int]:
        total: Counter[str] = Counter()
        for hop in (self.first, self.second):
            counts = getattr(hop, "usage", None)
            total.update(counts() if callable(counts) else {})
        return dict(total)

    def close(self) -> None:
        return None  # the hops belong to the service, which closes them

    def translate_batch(self, texts: Sequence[str], src: str, tgt: str,
                        terms: Sequence[Sequence[TermHint]] | None = None) -> list[str]:
        hints = [list(t) for t in terms] if terms is not None else [[] for _ in texts]
        english = self._first_hop(list(texts), src, hints)
        return self._hop(self.second, english, PIVOT_LANGUAGE, tgt, hints)

    def _first_hop(self, texts: list[str], src: str, hints: list[list[TermHint]]) -> list[str]:
        store, use_memory = self._service.store, self._service.options.memory
        keys = [self._key(t) for t in texts]
        found = store.memory_get(self.first.name, src, PIVOT_LANGUAGE, list(set(keys))) if (
            store is not None and use_memory) else {}
        todo = [i for i, k in enumerate(keys) if k not in found]
        out = [found.get(k, "") for k in keys]
        if todo:
            done = self._hop(self.first, [texts[i] for i in todo], src, PIVOT_LANGUAGE, [hints[i] for i in todo])
            for i, text in zip(todo, done):
                out[i] = text
            if store is not None and use_memory:
                store.memory_put(self.first.name, src, PIVOT_LANGUAGE, [(keys[i], texts[i], out[i]) for i in todo])
        self._service.stats[f"{self.first.name}.memory_hits"] += len(texts) - len(todo)
        return out

    def _hop(self, engine: Translator, texts: list[str], src: str, tgt: str, hints: list[list[TermHint]]) -> list[str]:
        service = self._service
        wait = service._circuit_open(engine.name)
        if wait:
            raise EngineError(self.name, f"{engine.name}: circuit open after repeated failures; tried again in {wait:.0f}s")
        step = (len(texts) or 1) if engine.name in BATCHED_ENGINES else max(1, getattr(engine, "batch_size", 1))
        out: list[str] = []
        try:
            for start in range(0, len(texts), step):
                out.extend(service._call(engine, texts[start:start + step], src, tgt, hints[start:start + step]))
        except EngineError as exc:
            # the hop's own retries and circuit have run: the route has failed, for now
            raise EngineError(self.name, f"{engine.name} {src}→{tgt}: {str(exc).split(': ', 1)[-1]}") from exc
        return out


def build_pivot(service: HopRunner, name: str) -> PivotTranslator:
    """The route ``a>b`` from the service's engines ``a`` and ``b`` (EngineUnavailable names the hop)."""
    from .base import EngineUnavailable

    first_name, second_name = name.split(PIVOT)
    hops = []
    for hop in (first_name, second_name):
        try:
            hops.append(service.engine(hop))
        except EngineUnavailable as exc:
            raise EngineUnavailable(name, f"{hop}: {str(exc).split(': ', 1)[-1]}") from None
    return PivotTranslator(name, hops[0], hops[1], service, segment_key)
