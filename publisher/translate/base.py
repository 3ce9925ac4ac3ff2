"""The translator protocol, its errors, and the registry of engines.

An engine (adapter) only translates: ``translate_batch(texts, src, tgt)`` returns one output
per input, in order. The translation service, not the adapter, owns fallback, retries with
backoff, rate limits, the circuit breaker, caching, glossary masking and quality checks.

Adapters raise EngineError for anything that went wrong, saying whether trying again later
can help (``transient``: 429, 5xx, timeouts, a restarted process) or not (bad key, pair not
supported, malformed answer). A missing optional dependency or binary makes the engine
unavailable with a reason that ``publisher config check`` prints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ..errors import TranslationError


class EngineError(TranslationError):
    def __init__(self, engine: str, message: str, transient: bool = False, retry_after: float | None = None):
        super().__init__(f"{engine}: {message}")
        self.engine = engine
        self.transient = transient
        self.retry_after = retry_after


class EngineUnavailable(EngineError):
    """The engine cannot run here at all (not installed, no key, online engines disabled)."""

    def __init__(self, engine: str, message: str):
        super().__init__(engine, message, transient=False)


@dataclass(frozen=True)
class TermHint:
    """A glossary term the service masked in one text: the placeholder the engine sees, the
    source form, and the rendering it will become. Passed (as ``terms=``, one list per text)
    only to engines with ``uses_terms = True``, which may tell a model what each placeholder
    stands for; the service still restores the renderings itself."""

    token: str
    source: str
    target: str


@runtime_checkable
class Translator(Protocol):
    name: str
    machine: bool  # False only for the human engine
    max_chars: int  # longest text one request may carry (the service splits below it)

    def supports(self, src: str, tgt: str) -> bool: ...

    def translate_batch(self, texts: Sequence[str], src: str, tgt: str) -> list[str]: ...

    def close(self) -> None: ...


class TranslatorBase:
    """Defaults for adapters."""

    name = "base"
    machine = True
    max_chars = 4500
    pairs: frozenset[tuple[str, str]] | None = None  # None: any pair the service asks for
    batch_size = 1  # segments the service sends per call (apertium: all, see service.BATCHED_ENGINES)
    uses_terms = False  # True: translate_batch takes terms=[[TermHint, ...] per text]

    def usage(self) -> dict[str, int]:
        """Running totals of what calls cost (tokens, requests); {} when nothing is counted."""
        return {}

    def supports(self, src: str, tgt: str) -> bool:
        return self.pairs is None or (src, tgt) in self.pairs

    def close(self) -> None:
        return None

    def translate_batch(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:  # pragma: no cover
        raise NotImplementedError

    def _check_count(self, texts: Sequence[str], out: Sequence[Any]) -> list[str]:
        if len(out) != len(texts):
            raise EngineError(self.name, f"answered {len(out)} texts for {len(texts)} sent (malformed answer)")
        return [str(x) for x in out]


def describe_usage(usage: dict[str, dict[str, int]]) -> str:
    """'openai: 3 requests, 420 prompt + 300 completion = 720 tokens' for each engine."""
    parts = []
    for engine, counts in sorted(usage.items()):
        line = f"{engine}: {counts.get('requests', 0)} request(s)"
        if "total_tokens" in counts or "prompt_tokens" in counts:
            line += (f", {counts.get('prompt_tokens', 0)} prompt + {counts.get('completion_tokens', 0)} completion"
                     f" = {counts.get('total_tokens', 0)} tokens")
        parts.append(line)
    return "; ".join(parts)
