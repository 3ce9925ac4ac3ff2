"""Settings of the translation stage: chains per target language, policy, and each engine's
own options. Secrets (API keys) are SecretStr: read only from the environment."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, Field, SecretStr, field_validator, model_validator

from ..config_types import LangCode, ResolvedPath, Section

ENGINE_NAMES = ("apertium", "google", "microsoft", "mymemory", "libre", "deepl", "openai", "human")
ONLINE_ENGINES = frozenset({"google", "microsoft", "mymemory", "libre", "deepl"})


class EngineOptions(Section):
    """What the service applies around every engine."""

    timeout_seconds: float = Field(30.0, gt=0, le=600)
    max_retries: int = Field(3, ge=0, le=10)
    backoff_seconds: float = Field(1.0, ge=0, le=60)  # first retry waits ~this (×2 each time, with jitter)
    requests_per_second: float = Field(2.0, gt=0, le=1000)
    max_chars: int = Field(4500, ge=100, le=100_000)  # per request; online services cap at 5,000
    circuit_failures: int = Field(5, ge=1, le=100)  # consecutive failures that open the circuit
    circuit_reset_seconds: float = Field(300.0, ge=1, le=86_400)


class ApertiumOptions(EngineOptions):
    modes_dir: Path = Path("/usr/share/apertium/modes")
    pairs: dict[str, str] = {"mk-en": "mkd-eng"}  # "<src>-<tgt>" → Apertium mode
    transliterate_unknown: bool = True
    rules: ResolvedPath | None = None  # post-edit rule file; None = the packaged rules
    requests_per_second: float = Field(1000.0, gt=0)
    max_chars: int = Field(20_000, ge=100, le=1_000_000)
    timeout_seconds: float = Field(20.0, gt=0, le=600)


class GoogleOptions(EngineOptions):
    base_url: str = Field("https://translate.google.com/m", pattern=r"^https?://\S+$")


class MicrosoftOptions(EngineOptions):
    base_url: str = Field(
        "https://api.cognitive.microsofttranslator.com/translate?api-version=3.0", pattern=r"^https?://\S+$"
    )
    region: str | None = None
    api_key: SecretStr | None = None  # PUBLISHER_TRANSLATION__ENGINES__MICROSOFT__API_KEY


class MyMemoryOptions(EngineOptions):
    base_url: str = Field("http://api.mymemory.translated.net/get", pattern=r"^https?://\S+$")
    email: str | None = None  # raises MyMemory's daily quota
    max_chars: int = Field(450, ge=100, le=500)  # MyMemory's limit is 500 bytes per request


class LibreOptions(EngineOptions):
    base_url: str = Field("http://127.0.0.1:5000/", pattern=r"^https?://\S+$")  # self-hosted LibreTranslate
    api_key: SecretStr | None = None  # PUBLISHER_TRANSLATION__ENGINES__LIBRE__API_KEY


class DeeplOptions(EngineOptions):
    server_url: str | None = Field(None, pattern=r"^https?://\S+$")  # None: DeepL's own, by key type
    auth_key: SecretStr | None = None  # PUBLISHER_TRANSLATION__ENGINES__DEEPL__AUTH_KEY


class OpenAIOptions(EngineOptions):
    """Any OpenAI-compatible chat completions server (Ollama, vLLM, llama-server, LM Studio, OpenAI)."""

    base_url: str = Field("http://127.0.0.1:11434/v1", pattern=r"^https?://\S+$")  # Ollama's default
    model: str | None = Field(None, min_length=1)  # required to run: e.g. "gemma3:12b"
    api_key: SecretStr | None = None  # PUBLISHER_TRANSLATION__ENGINES__OPENAI__API_KEY (optional locally)
    temperature: float = Field(0.0, ge=0, le=2)
    max_tokens: int | None = Field(None, ge=16, le=1_000_000)  # None: the server's default
    batch_segments: int = Field(8, ge=1, le=100)  # segments per request (a JSON array)
    system_prompt: str | None = None  # replaces the built-in instructions (the glossary is still added)
    extra_instructions: str | None = None  # appended to the instructions (a site's style guide)
    timeout_seconds: float = Field(120.0, gt=0, le=1800)  # a local model on a CPU is slow
    requests_per_second: float = Field(5.0, gt=0, le=1000)
    max_chars: int = Field(2000, ge=100, le=100_000)


class EnginesSettings(Section):
    apertium: ApertiumOptions = Field(default_factory=dict)
    google: GoogleOptions = Field(default_factory=dict)
    microsoft: MicrosoftOptions = Field(default_factory=dict)
    mymemory: MyMemoryOptions = Field(default_factory=dict)
    libre: LibreOptions = Field(default_factory=dict)
    deepl: DeeplOptions = Field(default_factory=dict)
    openai: OpenAIOptions = Field(default_factory=dict)


EngineName = Literal["apertium", "google", "microsoft", "mymemory", "libre", "deepl", "openai"]


def _chain_entry(value: str) -> str:
    names = [n.strip() for n in str(value).split(">")]
    known = get_args(EngineName)
    if not (1 <= len(names) <= 2 and all(n in known for n in names) and len(set(names)) == len(names)):
        raise ValueError(f"{value!r} is not an engine nor a pivot route; use one of {', '.join(known)}, "
                         "or two of them through English such as \"apertium>libre\"")
    return ">".join(names)


ChainEntry = Annotated[str, AfterValidator(_chain_entry)]


class TranslationSettings(Section):
    online: bool = False  # allow engines that call services on the internet
    # an entry is an engine, or a pivot through English "first>second" (docs/translation.md)
    chains: dict[LangCode, list[ChainEntry]] = {"en": ["google", "apertium"], "sq": ["google", "microsoft"]}
    # "checked" (issue 11): machine output is published only when every quality check passed
    publish: dict[LangCode, Literal["machine", "checked", "review"]] = {"en": "checked", "sq": "machine"}
    glossary: ResolvedPath | None = Path("glossary.toml")
    memory: bool = True
    min_length_ratio: float = Field(0.4, gt=0, le=1)
    max_length_ratio: float = Field(2.5, ge=1, le=10)
    max_untranslated_share: float = Field(0.10, ge=0, le=1)  # romanised words / output words (qa "untranslated")
    max_attempts: int = Field(5, ge=1, le=100)  # a failed translation is retried this many runs
    engines: EnginesSettings = Field(default_factory=dict)

    @field_validator("chains")
    @classmethod
    def _chains_not_empty(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for lang, chain in value.items():
            if not chain:
                raise ValueError(f"the chain for {lang!r} is empty; list at least one engine")
            if len(set(chain)) != len(chain):
                raise ValueError(f"the chain for {lang!r} lists an engine twice")
        return value

    @model_validator(mode="after")
    def _ratios(self) -> TranslationSettings:
        if self.min_length_ratio >= self.max_length_ratio:
            raise ValueError("min_length_ratio must be below max_length_ratio")
        return self
