"""Any OpenAI-compatible chat completions server through the official ``openai`` client
(written against 2.x, which keeps 1.x's ``chat.completions.create``): Ollama, vLLM,
llama.cpp's ``llama-server``, LM Studio, or OpenAI itself.

Wire protocol: ``POST {base_url}/chat/completions`` with ``{"model", "messages": [system,
user], "temperature", "max_tokens"}``; the answer's ``choices[0].message.content`` is the
translation, ``finish_reason`` says whether it is complete, ``usage`` what it cost.

* The **system message** carries every instruction: source and target language, the register
  of a press release, the glossary terms of these texts (as the placeholders the service put
  in, with their renderings), "keep placeholders, numbers and names exactly", and the reply
  format. The **user message** carries only the text: one segment as plain text, or a JSON
  array of strings when the service sends several (``batch_segments``).
* The reply must have the same shape, parsed strictly. A wrong count, extra commentary, a
  refusal, an empty or a truncated answer (``finish_reason`` "length") of a batch is split
  and every segment asked alone; a bad answer for one segment raises ``EngineError``
  (not transient), so the service falls back to the next engine of the chain.
* The client retries 429/5xx/timeouts itself (``max_retries`` defaults to 2): the service
  owns retries and the circuit breaker, so the client is built with ``max_retries=0``; a 429's
  ``Retry-After`` (or OpenAI's ``retry-after-ms``) is read from ``exc.response.headers`` and
  handed to the service. The client's ``timeout`` bounds each socket operation, not the
  request, so every request also runs in a worker thread bounded by ``timeout_seconds``.
* The key comes only from PUBLISHER_TRANSLATION__ENGINES__OPENAI__API_KEY. The client
  would read OPENAI_API_KEY, OPENAI_BASE_URL, OPENAI_ORG_ID… from the environment; every
  value is passed explicitly instead, and without a key no Authorization header is sent
  (local servers need none).
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Sequence
from email.utils import parsedate_to_datetime
from typing import Any

import openai
from babel import Locale

from .base import EngineError, EngineUnavailable, TermHint, TranslatorBase
from .deep import call_with_timeout, env_var, malformed, split_outer_space
from .options import OpenAIOptions

_REFUSAL = re.compile(
    r"^\W*(?:(?:I'?m|I am) sorry|I apologi[sz]e|Unfortunately)[,.!]?\s+(?:but\s+)?I\s*(?:can(?:'|no)?t|cannot|am unable|'m unable|won'?t|must decline)"
    r"|^\W*I\s*(?:can(?:'|no)?t|cannot|am unable to|'m unable to|won'?t)\s+(?:help|assist|translate|comply|provide|do that)"
    r"|^\W*As an AI\b",
    re.IGNORECASE,
)
_PREAMBLE = re.compile(
    r"^\W*(?:here(?:'s| is| are)|sure|certainly|of course|below is)\b"
    r"|^\W*(?:translation|translated text|the translation|përkthimi|превод)\b[^:\n]{0,40}:",
    re.IGNORECASE,
)


def language_name(code: str) -> str:
    name = Locale("en").languages.get(code)
    return f"{name} ({code})" if name else code


def retry_after(headers: Any) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date)."""
    if headers is None:
        return None
    try:
        millis = headers.get("retry-after-ms")
        if millis is not None:
            return max(0.0, float(millis) / 1000)
    except (TypeError, ValueError):
        pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        import datetime as dt

        when = parsedate_to_datetime(value)
        return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())
    except (TypeError, ValueError, IndexError):
        return None


class BadReply(Exception):
    """The answer does not have the shape that was asked for (why, for the error message)."""


class OpenAITranslator(TranslatorBase):
    name = "openai"
    pairs = None  # a model translates any pair it knows; QA checks the output's language
    uses_terms = True

    def __init__(self, options: OpenAIOptions):
        self.options = options
        self.max_chars = options.max_chars
        self.batch_size = options.batch_segments
        if not options.model:
            raise EngineUnavailable(
                self.name, "no model; set [translation.engines.openai] model (e.g. \"gemma3:12b\" for Ollama)"
            )
        key = options.api_key.get_secret_value().strip() if options.api_key else ""
        # OPENAI_ORG_ID / OPENAI_PROJECT_ID from the environment are not ours to send
        self._headers: dict[str, Any] = {"OpenAI-Organization": openai.Omit(), "OpenAI-Project": openai.Omit()}
        if not key:
            self._headers["Authorization"] = openai.Omit()
        self._client = openai.OpenAI(
            api_key=key or "unused",  # the client insists on one; not sent (header omitted) without a key
            base_url=options.base_url.rstrip("/"),
            timeout=options.timeout_seconds,
            max_retries=0,
        )
        self._completions = self._client.chat.completions  # its first use imports the API types (~1 s)
        self._usage: Counter[str] = Counter()
        self._lock = threading.Lock()

    def close(self) -> None:
        self._client.close()

    def usage(self) -> dict[str, int]:
        with self._lock:
            return dict(self._usage)

    # ------------------------------------------------------------------ prompt
    def system_message(self, src: str, tgt: str, terms: Sequence[Sequence[TermHint]], count: int) -> str:
        source, target = language_name(src), language_name(tgt)
        if self.options.system_prompt:
            intro = self.options.system_prompt.replace("{source}", source).replace("{target}", target)
        else:
            intro = (
                f"You are a professional translator. Translate the user's text from {source} into {target}.\n"
                "The text is from a press release of a public institution: use the formal, neutral, factual "
                f"register a press office would publish in {target.split(' (')[0]}. Translate everything, add "
                "nothing, leave nothing out, and do not explain."
            )
        lines = [intro.strip(), "Keep placeholders (such as XGLX1), numbers, dates, names, URLs and e-mail "
                 "addresses exactly as they are written."]
        glossary = self._glossary_lines(terms)
        if glossary:
            lines.append("Glossary: each placeholder below stands for a term with a required rendering. Copy the "
                         "placeholder unchanged (it is replaced by the rendering afterwards) and write the sentence "
                         "around it so that the rendering fits:")
            lines.extend(glossary)
        if count == 1:
            lines.append("Reply with the translation only: no notes, no quotation marks around it, no other text.")
        else:
            lines.append(f"The user's message is a JSON array of {count} strings. Reply with a JSON array of exactly "
                         f"{count} strings, the translation of each string in the same order, and nothing else.")
        if self.options.extra_instructions:
            lines.append(self.options.extra_instructions.strip())
        return "\n".join(lines)

    @staticmethod
    def _glossary_lines(terms: Sequence[Sequence[TermHint]]) -> list[str]:
        meanings: dict[str, dict[tuple[str, str], list[int]]] = {}
        for number, hints in enumerate(terms, start=1):
            for hint in hints:
                meanings.setdefault(hint.token, {}).setdefault((hint.source, hint.target), []).append(number)
        lines = []
        for token, options in meanings.items():
            for (source, target), where in options.items():
                tail = f" (in string {', '.join(map(str, where))})" if len(options) > 1 else ""
                lines.append(f"- {token} = “{source}” → “{target}”{tail}")
        return lines

    # ------------------------------------------------------------------ translate
    def translate_batch(
        self, texts: Sequence[str], src: str, tgt: str, terms: Sequence[Sequence[TermHint]] | None = None
    ) -> list[str]:
        for text in texts:
            if len(text) > self.max_chars:
                raise EngineError(
                    self.name,
                    f"a text of {len(text)} characters exceeds max_chars={self.max_chars}; the service must split it",
                )
        hints = list(terms) if terms is not None else [[] for _ in texts]
        if len(hints) != len(texts):
            hints = [[] for _ in texts]
        parts = [split_outer_space(text) for text in texts]
        todo = [i for i, (_, core, _) in enumerate(parts) if core]
        done: dict[int, str] = {}
        if len(todo) > 1:
            cores = [parts[i][1] for i in todo]
            try:
                for i, out in zip(todo, self._ask_many(cores, src, tgt, [hints[i] for i in todo])):
                    done[i] = out
            except BadReply:
                pass  # every segment alone, below
        for i in todo:
            if i not in done:
                try:
                    done[i] = self._ask_one(parts[i][1], src, tgt, hints[i])
                except BadReply as exc:
                    raise EngineError(self.name, f"unusable answer: {exc}", transient=False) from None
        out = [lead + done[i] + trail if i in done else texts[i] for i, (lead, _, trail) in enumerate(parts)]
        return self._check_count(texts, out)

    def _ask_one(self, text: str, src: str, tgt: str, hints: Sequence[TermHint]) -> str:
        reply = self._complete(self.system_message(src, tgt, [hints], 1), text).strip()
        if _REFUSAL.search(reply) and not _REFUSAL.search(text):
            raise BadReply(f"the model refused: {reply[:80]!r}")
        if reply.startswith("```") or (_PREAMBLE.search(reply) and not _PREAMBLE.search(text)):
            raise BadReply(f"commentary around the translation: {reply[:80]!r}")
        if len([line for line in reply.splitlines() if line.strip()]) > max(1, len(text.splitlines())):
            raise BadReply(f"more lines than the text sent (commentary?): {reply[:80]!r}")
        return reply

    def _ask_many(self, texts: list[str], src: str, tgt: str, hints: list[Sequence[TermHint]]) -> list[str]:
        user = json.dumps(texts, ensure_ascii=False)
        reply = self._complete(self.system_message(src, tgt, hints, len(texts)), user)
        try:
            data = json.loads(reply)
        except ValueError:
            raise BadReply(f"not a JSON array: {reply[:80]!r}") from None
        if not isinstance(data, list) or len(data) != len(texts):
            got = len(data) if isinstance(data, list) else type(data).__name__
            raise BadReply(f"answered {got} strings for {len(texts)} sent")
        if not all(isinstance(item, str) and item.strip() for item in data):
            raise BadReply("an empty or non-string item")
        if any(_REFUSAL.search(item) and not _REFUSAL.search(text) for item, text in zip(data, texts)):
            raise BadReply("a refusal among the items")
        return [item.strip() for item in data]

    def _complete(self, system: str, user: str) -> str:
        """One chat completion; its usage is counted. Raises BadReply for a refused, empty or
        truncated answer, EngineError for everything the service must know about."""
        options = self.options
        kwargs: dict[str, Any] = {
            "model": options.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "temperature": options.temperature,
            "extra_headers": self._headers,
        }
        if options.max_tokens is not None:
            kwargs["max_tokens"] = options.max_tokens
        completion = call_with_timeout(
            self.name, options.timeout_seconds, lambda: self._completions.create(**kwargs), self._map_error
        )
        usage = getattr(completion, "usage", None)
        with self._lock:
            self._usage["requests"] += 1
            for field in ("prompt_tokens", "completion_tokens", "total_tokens"):
                value = getattr(usage, field, None)
                if isinstance(value, int):
                    self._usage[field] += value
        choices = getattr(completion, "choices", None)
        if not isinstance(choices, list) or not choices:
            raise malformed(self.name, "no choices in the answer")
        choice = choices[0]
        message = getattr(choice, "message", None)
        if getattr(message, "refusal", None):
            raise BadReply(f"the model refused: {str(message.refusal)[:80]!r}")
        if choice.finish_reason == "content_filter":
            raise BadReply("the server's content filter stopped the answer")
        if choice.finish_reason == "length":
            raise BadReply("the answer was cut off (finish_reason \"length\"; raise max_tokens or lower max_chars)")
        content = getattr(message, "content", None)
        if not isinstance(content, str) or not content.strip():
            raise BadReply("an empty answer")
        return content

    def _map_error(self, exc: BaseException) -> EngineError:
        name, base = self.name, self.options.base_url
        if isinstance(exc, EngineError):
            return exc
        if isinstance(exc, openai.APITimeoutError):
            return EngineError(name, f"no answer from {base} within {self.options.timeout_seconds:g} s", transient=True)
        if isinstance(exc, openai.APIConnectionError):
            return EngineError(name, f"cannot connect to {base} (is the server running? check base_url)", transient=True)
        if isinstance(exc, openai.APIStatusError):
            status = exc.status_code
            body = exc.body if isinstance(exc.body, dict) else {}
            detail = str(body.get("message") or exc.message)[:200]
            if status == 429:
                return EngineError(name, f"HTTP 429 too many requests ({detail})", transient=True,
                                   retry_after=retry_after(exc.response.headers))
            if status in (401, 403):
                return EngineError(name, f"HTTP {status} key rejected ({detail}); check {env_var(name, 'api_key')}")
            if status == 404:
                return EngineError(name, f"HTTP 404 ({detail}); check model = {self.options.model!r} "
                                   f"(`ollama pull` it) and base_url = {base!r} (it usually ends in /v1)")
            if status in (408, 409) or status >= 500:
                return EngineError(name, f"HTTP {status} ({detail})", transient=True)
            return EngineError(name, f"HTTP {status} request rejected ({detail})")
        if isinstance(exc, (openai.APIResponseValidationError, ValueError, KeyError, TypeError, AttributeError)):
            return malformed(name, f"{type(exc).__name__}: {exc}")
        return EngineError(name, f"unexpected {type(exc).__name__}: {exc}")
