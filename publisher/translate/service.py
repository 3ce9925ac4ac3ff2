"""The translation service: owns chains, fallback, retries with backoff and jitter, rate
limits, the circuit breaker, glossary masking, the translation memory and quality checks.
Engines only translate (see base.py)."""

from __future__ import annotations

import logging
import random
import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..structure import inline_text, mask_inline, unmask_inline
from ..settings import Settings
from .base import EngineError, EngineUnavailable, TermHint, Translator
from .engines import build_engine
from .glossary import TOKEN, Glossary, Masked, Term
from .qa import Check, check_translation, describe, rejections
from .qa_meaning import segment_pairs
from ..store.memory import HUMAN
from .segment import BATCHED_ENGINES, segment_key, split_long, split_sentences

log = logging.getLogger(__name__)
_MARKUP_TOKEN = re.compile(r"XTAGX\d+")  # inline markup placeholders (issue 9)
@dataclass
class _Circuit:
    failures: int = 0
    open_until: float = 0.0
    last_call: float = float("-inf")


@dataclass
class TranslationResult:
    texts: list[str] | None
    engine: str | None = None
    machine: bool = True
    checks: list[Check] = field(default_factory=list)
    attempts: list[tuple[str, str]] = field(default_factory=list)  # (engine, why it was not used)
    memory_hits: int = 0  # segments not sent to an engine: its own memory plus the staff memory
    human_hits: int = 0  # of them, sentences from the staff memory (issue 11; check "staff-memory")
    engine_segments: int = 0
    usage: dict[str, dict[str, int]] = field(default_factory=dict)  # engine → tokens, requests (all attempts)
    html: list[str | None] | None = None  # per text: the rebuilt inline HTML when markup was given (issue 9)
    rejected: list[str] | None = None  # per text: the last output whose quality checks failed (compare.py)

    @property
    def ok(self) -> bool:
        return self.texts is not None

    @property
    def reason(self) -> str:
        return "; ".join(f"{name}: {why}" for name, why in self.attempts) or "no engine in the chain"

    @property
    def only_unavailable(self) -> bool:
        """No engine could even try (all unavailable/unsupported/circuit open): wait, don't fail."""
        return not self.ok and all(why.startswith(("unavailable", "does not translate", "circuit open"))
                                   for _, why in self.attempts)


class TranslationService:
    def __init__(
        self,
        settings: Settings,
        store: object | None = None,
        engines: dict[str, Translator] | None = None,
        glossary: Glossary | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ):
        self.settings = settings
        self.options = settings.translation
        self.store = store
        self.glossary = glossary if glossary is not None else Glossary.load(self.options.glossary)
        self._engines: dict[str, Translator] = dict(engines or {})
        self._unavailable: dict[str, str] = {}
        self._circuits: dict[str, _Circuit] = {}
        self._clock, self._sleep, self._jitter = clock, sleep, jitter
        self.stats: Counter[str] = Counter()

    # ------------------------------------------------------------------ engines
    def engine(self, name: str) -> Translator:
        if name in self._engines:
            return self._engines[name]
        if name in self._unavailable:
            raise EngineUnavailable(name, self._unavailable[name])
        if ">" in name:  # a pivot route through English (pivot.py): not cached, its hops are
            from .pivot import build_pivot

            return build_pivot(self, name)
        try:
            engine = build_engine(name, self.options)
        except EngineUnavailable as exc:
            self._unavailable[name] = str(exc).split(": ", 1)[-1]
            raise
        self._engines[name] = engine
        return engine

    def chain(self, tgt: str, engine: str | None = None) -> list[str]:
        if engine:
            return [engine]
        return list(self.options.chains.get(tgt, []))

    def close(self) -> None:
        for engine in self._engines.values():
            try:
                engine.close()
            except Exception:  # closing must not hide the real error
                log.exception("closing engine %s", engine.name)
        self._engines.clear()

    def _options(self, name: str):  # type: ignore[no-untyped-def]
        return getattr(self.options.engines, name, None)

    # ------------------------------------------------------------------ calls
    def _call(self, engine: Translator, texts: list[str], src: str, tgt: str,
              terms: list[list[TermHint]] | None = None) -> list[str]:
        """One engine call with rate limit, retries (exponential backoff + jitter), circuit."""
        opts = self._options(engine.name)
        retries = opts.max_retries if opts else 0
        backoff = opts.backoff_seconds if opts else 0.0
        interval = 1.0 / opts.requests_per_second if opts else 0.0
        circuit = self._circuits.setdefault(engine.name, _Circuit())
        attempt = 0
        while True:
            wait = circuit.last_call + interval - self._clock()
            if wait > 0:
                self._sleep(wait)
            circuit.last_call = self._clock()
            self.stats[f"{engine.name}.calls"] += 1
            try:
                if getattr(engine, "uses_terms", False):
                    out = engine.translate_batch(texts, src, tgt, terms=terms or [[] for _ in texts])  # type: ignore[call-arg]
                else:
                    out = engine.translate_batch(texts, src, tgt)
            except EngineError as exc:
                self.stats[f"{engine.name}.errors"] += 1
                if not exc.transient or attempt >= retries:
                    self._trip(engine.name)
                    raise
                delay = backoff * (2**attempt) * (0.5 + self._jitter())
                if exc.retry_after is not None:
                    delay = max(delay, exc.retry_after)
                log.info("%s: %s; retry %d in %.1fs", engine.name, exc, attempt + 1, delay)
                self._sleep(delay)
                attempt += 1
                continue
            if len(out) != len(texts):
                self._trip(engine.name)
                raise EngineError(engine.name, f"answered {len(out)} texts for {len(texts)} (malformed answer)")
            circuit.failures = 0
            return list(out)

    def _trip(self, name: str) -> None:
        circuit = self._circuits.setdefault(name, _Circuit())
        circuit.failures += 1
        opts = self._options(name)
        if opts and circuit.failures >= opts.circuit_failures:
            circuit.open_until = self._clock() + opts.circuit_reset_seconds
            log.warning("%s: circuit open for %.0fs after %d failures", name, opts.circuit_reset_seconds, circuit.failures)

    def _circuit_open(self, name: str) -> float:
        circuit = self._circuits.get(name)
        if circuit and circuit.open_until > self._clock():
            return circuit.open_until - self._clock()
        return 0.0

    # ------------------------------------------------------------------ translate
    def translate_texts(self, texts: Sequence[str], src: str, tgt: str, engine: str | None = None,
                        markup: Sequence[str | None] | None = None) -> TranslationResult:
        """Translate texts (e.g. a title and its paragraphs), trying the chain in order.

        ``markup``: per text, its inline HTML (publisher.structure) or None. The tags travel
        through the engine as protected placeholders, like glossary terms; ``result.html``
        holds the rebuilt HTML and ``result.texts`` its plain rendering."""
        result = TranslationResult(texts=None)
        markup = list(markup) if markup is not None else [None] * len(texts)
        if len(markup) != len(texts):
            raise ValueError(f"markup for {len(markup)} texts given with {len(texts)} texts; pass one (or None) per text")
        masked_markup = [mask_inline(m) if m is not None else None for m in markup]
        sources = [mm[0] if mm is not None else text for text, mm in zip(texts, masked_markup)]
        sentences = [split_sentences(text) or [text] for text in sources]
        masks = [[self._mask(s, tgt) for s in text] for text in sentences]
        human = self._human_memory(sentences, src, tgt)  # issue 11: staff renderings first, before any engine
        if human and len(human) == sum(len(text) for text in sentences):
            blank = [["" for _ in text] for text in masks]
            if self._finish(result, HUMAN, False, texts, markup, masked_markup, masks, sentences, blank, human, src,
                            tgt):
                result.memory_hits = result.human_hits = self._count_human(human, sentences)
                self.stats["human.accepted"] += 1
                return result
            human = {}  # a staff rendering failed a blocking check in this text: the engines translate it
        for name in self.chain(tgt, engine):
            try:
                translator = self.engine(name)
            except EngineUnavailable as exc:
                result.attempts.append((name, f"unavailable: {str(exc).split(': ', 1)[-1]}"))
                continue
            if not translator.supports(src, tgt):
                result.attempts.append((name, f"does not translate {src}→{tgt}"))
                continue
            wait = self._circuit_open(name)
            if wait:
                result.attempts.append((name, f"circuit open after repeated failures; tried again in {wait:.0f}s"))
                continue
            used = _usage_of(translator)
            try:
                outputs, fresh, hits = self._run_engine(translator, masks, src, tgt, skip=set(human))
            except EngineError as exc:
                result.attempts.append((name, f"failed: {str(exc).split(': ', 1)[-1]}"))
                continue
            finally:
                _add_usage(result.usage, name, used, _usage_of(translator))
            if not self._finish(result, name, translator.machine, texts, markup, masked_markup, masks, sentences,
                                outputs, human, src, tgt):
                self.stats[f"{name}.qa_failed"] += 1
                continue
            self._remember(translator.name, src, tgt, fresh)
            result.human_hits = self._count_human(human, sentences)
            result.memory_hits, result.engine_segments = hits + result.human_hits, len(fresh)
            self.stats[f"{name}.accepted"] += 1
            return result
        return result

    def _finish(self, result: TranslationResult, name: str, machine: bool, texts: Sequence[str],
                markup: Sequence[str | None], masked_markup: list, masks: list[list[Masked]],  # type: ignore[type-arg]
                sentences: list[list[str]], outputs: list[list[str]], human: dict[tuple[int, int], dict],  # type: ignore[type-arg]
                src: str, tgt: str) -> bool:
        """Restore the engine's output (glossary terms, markup), put the staff renderings in
        their places, run the checks; True (and ``result`` filled) when no blocking check failed."""
        texts_out, glossary_problems, markup_problems, html_out = [], [], [], []
        segments_out: list[list[str]] = []  # per text, per sentence: the restored output (QA)
        for i, (text_masks, text_outputs, text_markup) in enumerate(zip(masks, outputs, masked_markup)):
            parts: list[str] = []
            segments_out.append(parts)
            for j, (masked, out) in enumerate(zip(text_masks, text_outputs)):
                if (i, j) in human:
                    parts.append(str(human[(i, j)]["target"]).strip())
                    continue
                restored, problems = self.glossary.unmask(out, masked, tgt)
                glossary_problems.extend(p for p in problems if "'XTAGX" not in p)  # markup: below
                parts.append(restored.strip())
            joined = " ".join(p for p in parts if p)
            if text_markup is None:
                texts_out.append(joined)
                html_out.append(None)
            else:
                fragment, problems = unmask_inline(joined, text_markup[1])
                markup_problems.extend(problems)
                html_out.append(fragment)
                texts_out.append(inline_text(fragment))
        protected = [t.render(tgt) or "" for text in masks for m in text for t in m.terms]
        qa_sources = [inline_text(m) if m is not None else text for text, m in zip(texts, markup)]
        checks = check_translation(
            qa_sources, texts_out, src, tgt, protected=protected,
            min_ratio=self.options.min_length_ratio, max_ratio=self.options.max_length_ratio,
            language_candidates=set(self.settings.cleaning.detector_languages),
            segments=segment_pairs(qa_sources, texts_out, sentences, segments_out),
            max_untranslated_share=self.options.max_untranslated_share,
        )
        checks.append(Check("glossary", not glossary_problems, "; ".join(glossary_problems[:5]),
                            tuple({"side": "target", "words": [p]} for p in glossary_problems[:20])))
        if any(mm is not None and mm[1] for mm in masked_markup):
            checks.append(Check("markup", not markup_problems, "; ".join(markup_problems[:5])))
        if human:
            checks.append(_staff_memory(human, segments_out, texts_out))
        result.checks = checks
        if rejections(checks):  # a failed meaning check does not reject (qa.py): it is recorded
            result.rejected = texts_out
            result.attempts.append((name, f"quality check failed: {describe(rejections(checks))}"))
            return False
        result.texts, result.engine, result.machine = texts_out, name, machine
        result.html = html_out if any(h is not None for h in html_out) else None
        return True

    def _human_memory(self, sentences: list[list[str]], src: str, tgt: str) -> dict[tuple[int, int], dict]:  # type: ignore[type-arg]
        """(text, sentence) → the human memory entry for that source sentence (staff edits,
        imports). A sentence carrying inline markup placeholders is left to the engines (its
        tags must travel through the translation)."""
        if self.store is None or not self.options.memory or not hasattr(self.store, "memory_get_human"):
            return {}
        keys = {(i, j): segment_key(s) for i, text in enumerate(sentences) for j, s in enumerate(text)
                if s.strip() and "XTAGX" not in s}
        if not keys:
            return {}
        found = self.store.memory_get_human(src, tgt, sorted(set(keys.values())))
        return {place: found[key] for place, key in keys.items() if key in found}

    def _count_human(self, human: dict[tuple[int, int], dict], sentences: list[list[str]]) -> int:  # type: ignore[type-arg]
        served = len({sentences[i][j] for i, j in human})
        self.stats["human.memory_hits"] += served
        return served

    def _mask(self, sentence: str, tgt: str) -> Masked:
        """Glossary masking, then every markup placeholder (``XTAGX<n>``, publisher.structure)
        becomes one more protected token whose rendering is the placeholder itself."""
        masked = self.glossary.mask(sentence, tgt)
        if "XTAGX" not in masked.text:
            return masked

        def protect(match: re.Match[str]) -> str:
            masked.terms.append(Term((match.group(0),), {"*": match.group(0)}))
            return TOKEN.format(len(masked.terms))

        masked.text = _MARKUP_TOKEN.sub(protect, masked.text)
        return masked

    def _run_engine(
        self, translator: Translator, masks: list[list[Masked]], src: str, tgt: str,
        skip: set[tuple[int, int]] | frozenset[tuple[int, int]] = frozenset(),
    ) -> tuple[list[list[str]], dict[str, str], int]:
        """Outputs per text per sentence (still masked), the engine's fresh output per
        segment (to remember once the checks pass), and the number of memory hits.
        ``skip``: (text, sentence) places served from the staff memory (their output is empty)."""
        pieces_of: list[list[list[str]]] = [
            [[] if (i, j) in skip else split_long(m.text, translator.max_chars) for j, m in enumerate(text)]
            for i, text in enumerate(masks)
        ]
        unique = list(dict.fromkeys(p for text in pieces_of for sentence in text for p in sentence))
        keys = {p: segment_key(p) for p in unique}
        memory: dict[str, str] = {}
        if self.store is not None and self.options.memory:
            found = self.store.memory_get(translator.name, src, tgt, list(set(keys.values())))
            memory = {p: found[k] for p, k in keys.items() if k in found}
        missing = [p for p in unique if p not in memory]
        self.stats[f"{translator.name}.memory_hits"] += len(unique) - len(missing)
        translated: dict[str, str] = dict(memory)
        step = (len(missing) or 1) if translator.name in BATCHED_ENGINES else max(1, getattr(translator, "batch_size", 1))
        hints = _term_hints(masks, pieces_of, tgt) if getattr(translator, "uses_terms", False) else {}
        for start in range(0, len(missing), step):
            chunk = missing[start : start + step]
            terms = [hints.get(p, []) for p in chunk]
            for piece, out in zip(chunk, self._call(translator, chunk, src, tgt, terms)):
                translated[piece] = out
        self.stats[f"{translator.name}.segments"] += len(missing)
        outputs = [[" ".join(translated[p] for p in sentence) for sentence in text] for text in pieces_of]
        return outputs, {p: translated[p] for p in missing}, len(unique) - len(missing)

    def _remember(self, engine: str, src: str, tgt: str, fresh: dict[str, str]) -> None:
        if self.store is not None and self.options.memory and fresh:
            self.store.memory_put(engine, src, tgt, [(segment_key(p), p, out) for p, out in fresh.items()])


# ---------------------------------------------------------------------- staff memory provenance
STAFF_MEMORY = "staff-memory"  # the entry in ``checks``/``qa`` naming the sentences staff wrote once


def _staff_memory(human: dict[tuple[int, int], dict], segments_out: list[list[str]],  # type: ignore[type-arg]
                  texts_out: list[str]) -> Check:
    """Not a test but a record: which target sentences came from the staff memory, by whom and
    when (a span per sentence with ``by`` and ``at``), so the review page can say so."""
    spans: list[dict[str, object]] = []
    people: dict[str, None] = {}
    for (i, j), entry in sorted(human.items()):
        target = segments_out[i][j]
        at = texts_out[i].find(target) if target else -1
        when = entry.get("changed_at") or entry.get("created_at")
        by = str(entry.get("created_by") or "")
        span: dict[str, object] = {"side": "target", "text": i, "words": [target], "sentence": j, "by": by,
                                   "at": when.isoformat() if when is not None else ""}
        if at >= 0:
            span.update(start=at, end=at + len(target))
        spans.append(span)
        people[f"{by}, {when:%Y-%m-%d}" if when is not None else by] = None
    total = sum(len(s) for s in segments_out)
    detail = f"{len(human)} of {total} sentences from staff memory ({'; '.join(people)})"
    return Check(STAFF_MEMORY, True, detail, tuple(spans), blocking=False)


# ---------------------------------------------------------------------- usage and term hints
def _usage_of(translator: Translator) -> dict[str, int]:
    usage = getattr(translator, "usage", None)
    return dict(usage()) if callable(usage) else {}


def _add_usage(into: dict[str, dict[str, int]], name: str, before: dict[str, int], after: dict[str, int]) -> None:
    delta = {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}
    if delta:
        total = into.setdefault(name, {})
        for key, value in delta.items():
            total[key] = total.get(key, 0) + value


def _term_hints(masks: list[list[Masked]], pieces_of: list[list[list[str]]], tgt: str) -> dict[str, list[TermHint]]:
    """Piece → the glossary terms masked in it (placeholder, source form, rendering), for
    engines that can use them (a model can make the sentence agree with the rendering)."""
    hints: dict[str, list[TermHint]] = {}
    for text_masks, text_pieces in zip(masks, pieces_of):
        for masked, pieces in zip(text_masks, text_pieces):
            for piece in pieces:
                found = [TermHint(TOKEN.format(i), term.forms[0].replace("*", ""), term.render(tgt) or "")
                         for i, term in enumerate(masked.terms, start=1)
                         if re.search(re.escape(TOKEN.format(i)) + r"(?!\d)", piece)]
                if found:
                    hints.setdefault(piece, found)
    return hints
