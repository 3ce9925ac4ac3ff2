"""Online engines through deep-translator (1.11.x): Google, Microsoft, MyMemory, LibreTranslate.

deep-translator has no settings for what we need, so each adapter configures the provider
instance it builds (one per batch, so that a call abandoned after a timeout never shares
state with the next batch):

* the endpoint: ``_base_url`` (read by every provider's ``translate``), set from
  ``options.base_url``; LibreTranslate takes it as ``custom_url``;
* the languages: the public ``source``/``target`` setters, so that plain ISO codes reach the
  wire (MyMemory ``langpair=mk|en``; the library's LibreTranslate table lacks mk and sq);
* Microsoft's constructor downloads the language list from the real service with no
  timeout; ``_MicrosoftProvider`` answers it locally instead;
* LibreTranslate insists on an API key in its constructor; self-hosted servers need none,
  so the ``api_key`` attribute is set to "" (not sent) after construction.

deep-translator calls ``requests`` without a timeout, so every request runs in a daemon
worker thread that the adapter waits on for ``options.timeout_seconds``.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import urljoin

import requests
from deep_translator import GoogleTranslator as _DTGoogle
from deep_translator import LibreTranslator as _DTLibre
from deep_translator import MicrosoftTranslator as _DTMicrosoft
from deep_translator import MyMemoryTranslator as _DTMyMemory
from deep_translator import exceptions as dt_errors
from deep_translator.base import BaseTranslator as _DTBase

from .base import EngineError, EngineUnavailable, TranslatorBase
from .options import (
    EngineOptions,
    GoogleOptions,
    LibreOptions,
    MicrosoftOptions,
    MyMemoryOptions,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

OUR_LANGUAGES = ("mk", "sq", "en")


def language_pairs(languages: Sequence[str]) -> frozenset[tuple[str, str]]:
    return frozenset((a, b) for a in languages for b in languages if a != b)


def env_var(engine: str, field: str) -> str:
    return f"PUBLISHER_TRANSLATION__ENGINES__{engine.upper()}__{field.upper()}"


def split_outer_space(text: str) -> tuple[str, str, str]:
    """(leading whitespace, core, trailing whitespace): services strip the outside."""
    core = text.strip()
    if not core:
        return text, "", ""
    start = text.index(core)
    return text[:start], core, text[start + len(core) :]


def malformed(engine: str, what: str) -> EngineError:
    return EngineError(engine, f"malformed answer: {what}", transient=False)


def call_with_timeout(
    engine: str,
    timeout: float,
    fn: Callable[[], T],
    on_error: Callable[[BaseException], EngineError],
) -> T:
    """Run ``fn`` in a daemon thread and wait at most ``timeout`` seconds for it.

    A call still running after the timeout is abandoned (it ends when its socket does) and
    EngineError(transient=True) is raised. Exceptions of ``fn`` go through ``on_error``.
    """
    box: dict[str, Any] = {}

    def run() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to on_error in the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=run, name=f"publisher-{engine}-request", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise EngineError(engine, f"no answer within {timeout:g} s (timeout_seconds)", transient=True)
    if "error" in box:
        exc = box["error"]
        raise on_error(exc) from exc
    return box["value"]


class _DeepTranslatorEngine(TranslatorBase):
    """What the four deep-translator adapters share: input checks, threads, error mapping."""

    options: EngineOptions

    def __init__(self, options: EngineOptions):
        self.options = options
        self.max_chars = options.max_chars

    # -- per provider -------------------------------------------------------------------
    def _provider(self, src: str, tgt: str) -> _DTBase:  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def _endpoint(self) -> str:
        return str(getattr(self.options, "base_url", ""))

    def _after(self, core: str, result: Any) -> str:
        """Check one answer of the library; returns the translation."""
        if not isinstance(result, str) or not result.strip():
            raise malformed(self.name, f"no translation text (got {result!r:.80})")
        return result

    # -- shared -------------------------------------------------------------------------
    def _check_request(self, texts: Sequence[str], src: str, tgt: str) -> None:
        if not self.supports(src, tgt):
            raise EngineError(self.name, f"the pair {src}→{tgt} is not supported", transient=False)
        for text in texts:
            if len(text) > self.max_chars:
                raise EngineError(
                    self.name,
                    f"a text of {len(text)} characters exceeds max_chars={self.max_chars}; the service must split it",
                )

    def translate_batch(self, texts: Sequence[str], src: str, tgt: str) -> list[str]:
        self._check_request(texts, src, tgt)
        provider: _DTBase | None = None
        out: list[str] = []
        for text in texts:
            lead, core, trail = split_outer_space(text)
            if not core:
                out.append(text)
                continue
            if provider is None:
                try:
                    provider = self._provider(src, tgt)
                except Exception as exc:
                    raise self._map_error(exc) from exc
            result = call_with_timeout(
                self.name,
                self.options.timeout_seconds,
                lambda p=provider, c=core: p.translate(c),
                self._map_error,
            )
            out.append(lead + self._after(core, result) + trail)
        return self._check_count(texts, out)

    def _map_error(self, exc: BaseException) -> EngineError:
        name = self.name
        if isinstance(exc, EngineError):
            return exc
        if isinstance(exc, requests.Timeout):
            return EngineError(name, f"request to {self._endpoint} timed out", transient=True)
        if isinstance(exc, requests.ConnectionError):
            return EngineError(
                name,
                f"cannot connect to {self._endpoint} (check base_url): {exc}",
                transient=True,
            )
        if isinstance(exc, requests.JSONDecodeError):
            return malformed(name, "the body is not JSON")
        if isinstance(exc, requests.RequestException):
            return EngineError(name, f"request failed: {exc} (check base_url)", transient=False)
        if isinstance(exc, dt_errors.TooManyRequests):
            return EngineError(name, "HTTP 429 too many requests", transient=True, retry_after=None)
        if isinstance(exc, dt_errors.RequestError):
            # Any status outside 2xx but 429; deep-translator does not say which.
            return EngineError(name, "the service answered with an HTTP error status", transient=True)
        if isinstance(exc, (dt_errors.NotValidLength, dt_errors.NotValidPayload)):
            return EngineError(name, f"text rejected before sending: {exc}", transient=False)
        if isinstance(exc, dt_errors.LanguageNotSupportedException):
            return EngineError(name, f"language not supported: {exc.val}", transient=False)
        if isinstance(exc, dt_errors.TranslationNotFound):
            return malformed(name, "no translation element in the page")
        if isinstance(
            exc,
            (
                ValueError,
                KeyError,
                IndexError,
                TypeError,
                AttributeError,
                StopIteration,
            ),
        ):
            return malformed(name, f"{type(exc).__name__}: {exc}")
        return EngineError(name, f"unexpected {type(exc).__name__}: {exc}", transient=False)


class GoogleTranslator(_DeepTranslatorEngine):
    """translate.google.com's mobile page (GET /m?sl&tl&q, HTML with div.result-container)."""

    name = "google"
    pairs = language_pairs(OUR_LANGUAGES)

    def __init__(self, options: GoogleOptions):
        super().__init__(options)

    def _provider(self, src: str, tgt: str) -> _DTBase:
        provider = _DTGoogle(source=src, target=tgt)
        provider._base_url = self.options.base_url  # read by GoogleTranslator.translate
        return provider

    def _after(self, core: str, result: Any) -> str:
        # deep-translator returns None when the answer equals the input and has no letters
        # or digits ("—", "„“"): the translation is then the input itself.
        if result is None and not any(ch.isalnum() for ch in core):
            return core
        return super()._after(core, result)


class _MicrosoftProvider(_DTMicrosoft):
    """deep-translator's Microsoft provider without its constructor's call to the real
    service's language list (no timeout, not configurable); the pairs are ours."""

    def _get_supported_languages(self) -> dict[str, str]:
        return {"macedonian": "mk", "albanian": "sq", "english": "en"}


_MS_CODE = re.compile(r"""['"]code['"]\s*:\s*(\d{3})\d*""")


class MicrosoftTranslator(_DeepTranslatorEngine):
    """Azure AI Translator v3 (POST /translate?api-version=3.0&from&to, JSON [{"text"}])."""

    name = "microsoft"
    pairs = language_pairs(OUR_LANGUAGES)

    def __init__(self, options: MicrosoftOptions):
        super().__init__(options)
        key = options.api_key.get_secret_value().strip() if options.api_key else ""
        if not key:
            raise EngineUnavailable(self.name, f"no API key; set {env_var(self.name, 'api_key')}")
        self._key = key

    def _provider(self, src: str, tgt: str) -> _DTBase:
        provider = _MicrosoftProvider(source=src, target=tgt, api_key=self._key, region=self.options.region)
        provider._base_url = self.options.base_url  # read by MicrosoftTranslator.translate
        return provider

    def _map_error(self, exc: BaseException) -> EngineError:
        if isinstance(exc, AttributeError) and "'NoneType' object has no attribute 'json'" in str(exc):
            # deep-translator logs the requests exception and goes on with response=None.
            return EngineError(
                self.name,
                f"no answer from {self._endpoint} (connection failed)",
                transient=True,
            )
        if isinstance(exc, dt_errors.MicrosoftAPIerror):
            match = _MS_CODE.search(exc.api_message)
            status = int(match.group(1)) if match else None
            detail = f"HTTP {status}: {exc.api_message}" if status else exc.api_message
            if status in (401, 403):
                fix = f"check {env_var(self.name, 'api_key')} and {env_var(self.name, 'region')}"
                return EngineError(
                    self.name,
                    f"key rejected or quota exhausted ({detail}); {fix}",
                    transient=False,
                )
            if status == 429 or (status is not None and status >= 500):
                return EngineError(self.name, detail, transient=True, retry_after=None)
            return EngineError(self.name, detail, transient=False)
        return super()._map_error(exc)


_MYMEMORY_ERRORS = re.compile(
    r"^(MYMEMORY WARNING|QUERY LENGTH LIMIT EXCEEDED|INVALID LANGUAGE PAIR|PLEASE SELECT TWO DISTINCT|'.*' IS AN INVALID)"
)


class MyMemoryTranslator(_DeepTranslatorEngine):
    """MyMemory (GET /get?q&langpair=mk|en&de=email, JSON responseData.translatedText)."""

    name = "mymemory"
    pairs = language_pairs(OUR_LANGUAGES)

    def __init__(self, options: MyMemoryOptions):
        super().__init__(options)

    def _provider(self, src: str, tgt: str) -> _DTBase:
        provider = _DTMyMemory(source="auto", target="english", email=self.options.email)
        provider.source, provider.target = src, tgt  # plain ISO codes: langpair=mk|en
        provider._base_url = self.options.base_url  # read by MyMemoryTranslator.translate
        return provider

    def _after(self, core: str, result: Any) -> str:
        # MyMemory reports quota and request errors as the "translation" (HTTP 200).
        if isinstance(result, str) and _MYMEMORY_ERRORS.match(result.strip()):
            if result.startswith("MYMEMORY WARNING"):
                fix = f"wait for the daily quota to reset, or set {env_var(self.name, 'email')} for a larger one"
                raise EngineError(
                    self.name,
                    f"daily quota exhausted ({result[:120]}); {fix}",
                    transient=False,
                )
            raise EngineError(self.name, f"request rejected: {result[:160]}", transient=False)
        return super()._after(core, result)


class LibreTranslator(_DeepTranslatorEngine):
    """A LibreTranslate server (POST /translate with q, source, target, format, api_key;
    GET /languages, asked once, lazily, for the pairs)."""

    name = "libre"

    def __init__(self, options: LibreOptions):
        super().__init__(options)
        base = options.base_url
        self._base = base if base.endswith("/") else base + "/"
        self._key = options.api_key.get_secret_value() if options.api_key else ""
        self._languages: dict[str, frozenset[str]] | None = None
        self._lock = threading.Lock()

    @property
    def _endpoint(self) -> str:
        return self._base

    def languages(self) -> dict[str, frozenset[str]]:
        """source code → target codes, from the server's /languages (cached once known)."""
        with self._lock:
            if self._languages is None:
                url = urljoin(self._base, "languages")
                try:
                    response = requests.get(url, timeout=self.options.timeout_seconds)
                except requests.RequestException as exc:
                    raise self._map_error(exc) from exc
                if response.status_code == 429 or response.status_code >= 500:
                    raise EngineError(
                        self.name,
                        f"{url} answered HTTP {response.status_code}",
                        transient=True,
                    )
                if response.status_code != 200:
                    raise EngineError(
                        self.name,
                        f"{url} answered HTTP {response.status_code} (check base_url)",
                    )
                try:
                    entries = response.json()
                    codes = frozenset(str(e["code"]) for e in entries)
                    self._languages = {str(e["code"]): frozenset(e.get("targets") or codes) for e in entries}
                except (ValueError, KeyError, TypeError) as exc:
                    raise malformed(self.name, f"{url}: {exc}") from exc
            return self._languages

    def supports(self, src: str, tgt: str) -> bool:
        try:
            return tgt in self.languages().get(src, frozenset())
        except EngineError as exc:
            log.warning("%s", exc)
            return False

    def _check_request(self, texts: Sequence[str], src: str, tgt: str) -> None:
        if tgt not in self.languages().get(src, frozenset()):  # raises EngineError if unknown
            raise EngineError(self.name, f"the server at {self._base} does not offer {src}→{tgt}")
        super()._check_request(texts, src, tgt)

    def _provider(self, src: str, tgt: str) -> _DTBase:
        # The constructor demands a key and knows only its own 17 languages.
        provider = _DTLibre(source="en", target="es", api_key=self._key or "-", custom_url=self._base)
        provider.api_key = self._key  # "" → no api_key parameter is sent
        provider.source, provider.target = src, tgt
        return provider

    def _map_error(self, exc: BaseException) -> EngineError:
        fix = f"set {env_var(self.name, 'api_key')} to a key the server accepts"
        if isinstance(exc, dt_errors.AuthorizationException):
            return EngineError(self.name, f"HTTP 403 key rejected; {fix}", transient=False)
        if isinstance(exc, dt_errors.ServerException):
            message = str(exc.args[0]) if exc.args else ""
            status = next(
                (code for code, text in dt_errors.ServerException.errors.items() if text == message),
                None,
            )
            if status in (401, 402):
                return EngineError(self.name, f"HTTP {status} key rejected; {fix}", transient=False)
            if status is None or status == 429 or status >= 500:  # unknown codes are 5xx here (502, 504)
                return EngineError(self.name, f"HTTP {status or '5xx'} {message}", transient=True)
            return EngineError(self.name, f"HTTP {status} {message}", transient=False)
        return super()._map_error(exc)
