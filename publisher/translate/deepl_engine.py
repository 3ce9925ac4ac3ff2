"""DeepL through the official ``deepl`` client (1.x; written against 1.32).

deep-translator's DeepL backend sends the key as a form field, which DeepL no longer
accepts; the official client sends ``Authorization: DeepL-Auth-Key …`` and a JSON body
({"text": [...], "source_lang": "MK", "target_lang": "EN-GB", ...}) to /v2/translate.

The client retries 429/5xx itself with backoff (``deepl.http_client.max_network_retries``,
a module setting documented by the client): the translation service owns retries, so the
adapter sets it to 0, and sets ``min_connection_timeout`` to ``timeout_seconds`` so that an
abandoned request ends. Each request also runs in a worker thread bounded by
``timeout_seconds``. One request carries at most 50 texts (DeepL's limit).

The module is not called ``deepl.py``: with this directory on sys.path (python started
here) such a file would shadow the client package.
"""

from __future__ import annotations

from collections.abc import Sequence

import deepl
from deepl import http_client as _deepl_http

from .base import EngineError, EngineUnavailable, TranslatorBase
from .deep import (
    OUR_LANGUAGES,
    call_with_timeout,
    env_var,
    language_pairs,
    malformed,
    split_outer_space,
)
from .options import DeeplOptions

MAX_TEXTS_PER_REQUEST = 50
# DeepL codes: source languages are bare; English as a target needs a variant.
_SOURCE_CODES = {"mk": "MK", "sq": "SQ", "en": "EN"}
_TARGET_CODES = {"mk": "MK", "sq": "SQ", "en": "EN-GB"}


class DeeplTranslator(TranslatorBase):
    name = "deepl"
    pairs = language_pairs(OUR_LANGUAGES)  # MK and SQ are in deepl.Language (client 1.32)

    def __init__(self, options: DeeplOptions):
        self.options = options
        self.max_chars = options.max_chars
        key = options.auth_key.get_secret_value().strip() if options.auth_key else ""
        if not key:
            raise EngineUnavailable(self.name, f"no auth key; set {env_var(self.name, 'auth_key')}")
        _deepl_http.max_network_retries = 0
        _deepl_http.min_connection_timeout = options.timeout_seconds
        self._client = deepl.DeepLClient(key, server_url=options.server_url, send_platform_info=False)

    @property
    def _endpoint(self) -> str:
        return str(self._client.server_url)

    def close(self) -> None:
        self._client.close()

    def translate_batch(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        if not self.supports(src, tgt):
            raise EngineError(self.name, f"the pair {src}→{tgt} is not supported", transient=False)
        parts = [split_outer_space(text) for text in texts]
        for text in texts:
            if len(text) > self.max_chars:
                raise EngineError(
                    self.name,
                    f"a text of {len(text)} characters exceeds max_chars={self.max_chars}; the service must split it",
                )
        todo = [i for i, (_, core, _) in enumerate(parts) if core]
        done: dict[int, str] = {}
        for start in range(0, len(todo), MAX_TEXTS_PER_REQUEST):
            chunk = todo[start : start + MAX_TEXTS_PER_REQUEST]
            cores = [parts[i][1] for i in chunk]
            results = call_with_timeout(
                self.name,
                self.options.timeout_seconds,
                lambda c=cores: self._client.translate_text(
                    c,
                    source_lang=_SOURCE_CODES[src],
                    target_lang=_TARGET_CODES[tgt],
                    preserve_formatting=True,
                ),
                self._map_error,
            )
            if not isinstance(results, list) or len(results) != len(cores):
                got = len(results) if isinstance(results, list) else type(results).__name__
                raise malformed(self.name, f"answered {got} texts for {len(cores)} sent")
            for i, result in zip(chunk, results):
                text = getattr(result, "text", None)
                if not isinstance(text, str) or not text.strip():
                    raise malformed(self.name, "a translation without text")
                done[i] = text
        out = [lead + done[i] + trail if i in done else texts[i] for i, (lead, _, trail) in enumerate(parts)]
        return self._check_count(texts, out)

    def _map_error(self, exc: BaseException) -> EngineError:
        name, key_var = self.name, env_var(self.name, "auth_key")
        if isinstance(exc, EngineError):
            return exc
        if isinstance(exc, deepl.QuotaExceededException):
            return EngineError(
                name,
                f"character quota of this billing period exhausted ({exc}); raise it or set {key_var} to another key",
            )
        status = getattr(exc, "http_status_code", None)
        if isinstance(exc, deepl.AuthorizationException) or status == 401:
            return EngineError(
                name,
                f"HTTP {status} key rejected ({exc}); check {key_var}",
                transient=False,
            )
        if isinstance(exc, deepl.TooManyRequestsException):
            return EngineError(
                name,
                f"HTTP 429 too many requests ({exc})",
                transient=True,
                retry_after=None,
            )
        if isinstance(exc, deepl.ConnectionException):
            message = f"cannot reach {self._endpoint} (check server_url): {exc}"
            return EngineError(name, message, transient=exc.should_retry)
        if isinstance(exc, deepl.DeepLException):
            transient = exc.should_retry or (status is not None and status >= 500)
            return EngineError(name, str(exc), transient=transient)
        if isinstance(exc, (ValueError, KeyError, IndexError, TypeError, AttributeError)):
            return malformed(name, f"{type(exc).__name__}: {exc}")
        return EngineError(name, f"unexpected {type(exc).__name__}: {exc}", transient=False)
