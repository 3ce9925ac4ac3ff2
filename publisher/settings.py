"""Settings: pydantic models loaded from defaults < settings.toml < PUBLISHER_* environment.

Unknown keys and bad values stop start-up with a message that names the key, the bad value
and what is allowed (see ``format_validation_error``). Relative paths are resolved against
the folder of the settings file. Secrets are only read from the environment.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, Union
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from .errors import ConfigError

ENV_PREFIX = "PUBLISHER_"
SETTINGS_ENV = "PUBLISHER_SETTINGS"
DEFAULT_SETTINGS_FILE = "settings.toml"


from .config_types import LangCode, Regex, ResolvedPath, Section, SourceName
from .translate.options import TranslationSettings
from .delivery.options import DigestSettings, DkimSettings, MailSettings
from .feeds.options import FeedsSettings
from .web.options import WebSettings
from .scheduler_options import SchedulerSettings


class SiteSettings(Section):
    name: str = Field("IOM North Macedonia", min_length=1)
    base_url: str = Field("http://127.0.0.1:8080", pattern=r"^https?://[^\s/]+(/\S*)?$")
    source_language: LangCode = "mk"
    target_languages: list[LangCode] = ["en", "sq"]
    timezone: str = "Europe/Skopje"

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError("not an IANA time zone; use a name such as 'Europe/Skopje' or 'UTC'") from None
        return value

    @model_validator(mode="after")
    def _targets_differ(self) -> SiteSettings:
        if self.source_language in self.target_languages:
            raise ValueError(
                f"target_languages must not contain the source language {self.source_language!r}"
            )
        if len(set(self.target_languages)) != len(self.target_languages):
            raise ValueError("target_languages lists a language twice")
        return self

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def languages(self) -> list[str]:
        return [self.source_language, *self.target_languages]


class StoreSettings(Section):
    url: str = "sqlite:///var/publisher.db"
    echo: bool = False

    @field_validator("url")
    @classmethod
    def _resolve_sqlite(cls, value: str, info: ValidationInfo) -> str:
        if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", value):
            raise ValueError("use sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/DB")
        match = re.match(r"^(sqlite(?:\+\w+)?:///)(.+)$", value)
        if match and match.group(2) != ":memory:" and not match.group(2).startswith("/"):
            base = (info.context or {}).get("base_dir")
            if base is not None:
                value = match.group(1) + str(Path(base) / match.group(2))
        if value.startswith("postgresql://"):
            value = "postgresql+psycopg://" + value[len("postgresql://") :]
        return value


class CleaningSettings(Section):
    boilerplate_lines: list[str] = ["Треба да знаете", "Последни објави"]
    boilerplate_patterns: list[Regex] = [r"^(Сподели|Сподели на|Share)( на)?:?$", r"^Печати$"]
    detect_language: bool = True
    detector_languages: list[LangCode] = ["mk", "bg", "sr", "ru", "uk", "en", "sq", "de", "fr", "tr", "el", "hr", "bs"]
    # a release not in [site] source_language: "hold" it for staff, or "publish" it as if it were
    on_language_mismatch: Literal["hold", "publish"] = "hold"


class IngestSettings(Section):
    quarantine_dir: ResolvedPath = Path("var/quarantine")
    max_bytes: int = Field(5_000_000, gt=0)


class HttpSettings(Section):
    user_agent: str = "publisher/0.1 (+https://github.com/; press-release syndication)"
    timeout_seconds: float = Field(20.0, gt=0, le=300)
    per_host_interval_seconds: float = Field(1.0, ge=0, le=3600)
    max_redirects: int = Field(5, ge=0, le=20)


class _SourceBase(Section):
    name: SourceName
    enabled: bool = True
    boilerplate_lines: list[str] = []
    boilerplate_patterns: list[Regex] = []
    max_bytes: int | None = Field(None, gt=0)


class DirectorySourceOptions(_SourceBase):
    type: Literal["directory"]
    path: ResolvedPath
    patterns: list[str] = ["*.txt", "*.md", "*.markdown", "*.html", "*.htm"]
    recursive: bool = False
    settle_seconds: float = Field(2.0, ge=0)
    quarantine_dir: ResolvedPath | None = None
    language: LangCode | None = None


# network policy of a feed/webpage source (publisher/sources/netpolicy.py): "host" (ports 80
# and 443) or "host:port", IPv6 as "[::1]:8080"
AllowedHost = Annotated[str, Field(pattern=r"^(\[[0-9A-Fa-f:.]+\]|[^\s/:@\[\]?#]+)(:(6553[0-5]|655[0-2]\d|65[0-4]\d\d|6[0-4]\d{3}|[1-5]\d{4}|[1-9]\d{0,3}))?$")]


class FeedSourceOptions(_SourceBase):
    type: Literal["feed"]
    url: str = Field(pattern=r"^https?://\S+$")
    allowed_hosts: list[AllowedHost] = []
    allow_private_networks: bool = False
    full_text: Literal["auto", "entry", "link"] = "auto"
    min_entry_chars: int = Field(400, ge=0)


class WebpageSourceOptions(_SourceBase):
    type: Literal["webpage"]
    url: str = Field(pattern=r"^https?://\S+$")
    allowed_hosts: list[AllowedHost] = []
    allow_private_networks: bool = False
    link_selector: str = Field(min_length=1)
    max_articles: int = Field(20, gt=0, le=500)
    same_host_only: bool = True

    @field_validator("link_selector")
    @classmethod
    def _check_selector(cls, value: str) -> str:
        from cssselect import GenericTranslator, SelectorError

        try:
            GenericTranslator().css_to_xpath(value)
        except SelectorError as exc:
            raise ValueError(f"not a valid CSS selector ({exc})") from None
        return value


SourceOptions = Annotated[
    Union[DirectorySourceOptions, FeedSourceOptions, WebpageSourceOptions],
    Field(discriminator="type"),
]


def _default_sources() -> list[Any]:
    # plain data, so that validation (with the base folder in context) resolves the path
    return [{"type": "directory", "name": "inbox", "path": "inbox"}]


class Settings(Section):
    # defaults are plain dicts so that they are validated (and paths resolved) like file data
    site: SiteSettings = Field(default_factory=dict)
    store: StoreSettings = Field(default_factory=dict)
    cleaning: CleaningSettings = Field(default_factory=dict)
    ingest: IngestSettings = Field(default_factory=dict)
    http: HttpSettings = Field(default_factory=dict)
    translation: TranslationSettings = Field(default_factory=dict)
    mail: MailSettings = Field(default_factory=dict)
    dkim: DkimSettings = Field(default_factory=dict)
    digest: DigestSettings = Field(default_factory=dict)
    feeds: FeedsSettings = Field(default_factory=dict)
    web: WebSettings = Field(default_factory=dict)
    scheduler: SchedulerSettings = Field(default_factory=dict)
    sources: list[SourceOptions] = Field(default_factory=_default_sources)

    # where relative paths were resolved from, and which file (if any) was read
    base_dir: Path = Field(default_factory=Path.cwd, exclude=True)
    settings_file: Path | None = Field(None, exclude=True)

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, value: list[Any]) -> list[Any]:
        seen: set[str] = set()
        for source in value:
            if source.name in seen:
                raise ValueError(f"two sources are named {source.name!r}; names must be unique")
            seen.add(source.name)
        return value

    def source(self, name: str) -> Any:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none"
        raise ConfigError(f"no source named {name!r} in the settings (configured: {known})")


# --------------------------------------------------------------------------- loading


def find_settings_file(
    explicit: str | os.PathLike[str] | None, environ: dict[str, str] | None = None
) -> Path | None:
    """--settings PATH, else $PUBLISHER_SETTINGS, else ./settings.toml when it exists."""
    candidate = explicit or (os.environ if environ is None else environ).get(SETTINGS_ENV)
    if candidate:
        path = Path(candidate).expanduser()
        if not path.is_file():
            raise ConfigError(f"settings file {path} does not exist; pass an existing file to --settings")
        return path.resolve()
    default = Path.cwd() / DEFAULT_SETTINGS_FILE
    return default.resolve() if default.is_file() else None


def _parse_env_value(raw: str) -> Any:
    text = raw.strip()
    if text[:1] in "[{":
        try:
            return tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            return raw
    return raw


def _apply_env(data: dict[str, Any], environ: dict[str, str]) -> dict[str, Any]:
    """PUBLISHER_<SECTION>__<KEY>=value, and PUBLISHER_SOURCES__<NAME>__<KEY>=value."""
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or "__" not in name or name == SETTINGS_ENV:
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__")]
        value = _parse_env_value(raw)
        if parts[0] == "sources":
            if len(parts) != 3:
                raise ConfigError(f"{name}: use PUBLISHER_SOURCES__<SOURCE NAME>__<KEY>")
            if "sources" not in data:  # the built-in default sources can be overridden too
                data["sources"] = _default_sources()
            for source in data["sources"]:
                if str(source.get("name", "")).lower() == parts[1]:
                    source[parts[2]] = value
                    break
            else:
                raise ConfigError(f"{name}: no source named {parts[1]!r} in the settings file")
            continue
        target = data
        for part in parts[:-1]:
            node = target.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{name}: {part!r} is not a settings table")
            target = node
        target[parts[-1]] = value
    return data


def _secret_paths(model: type[BaseModel], prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    for key, field in model.model_fields.items():
        annotation = field.annotation
        if annotation is SecretStr or annotation == (SecretStr | None):
            paths.append((*prefix, key))
        elif isinstance(annotation, type) and issubclass(annotation, BaseModel):
            paths.extend(_secret_paths(annotation, (*prefix, key)))
    return paths


def _reject_secrets_in_file(data: dict[str, Any], origin: str) -> None:
    for path in _secret_paths(Settings):
        node: Any = data
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if node is not None:
            env = ENV_PREFIX + "__".join(p.upper() for p in path)
            raise ConfigError(
                f"{origin}: [{'.'.join(path[:-1])}] {path[-1]} is a secret and must not be in the "
                f"settings file; remove it and set the environment variable {env} instead"
            )


def _describe_loc(loc: tuple[Any, ...], data: dict[str, Any]) -> str:
    if loc and loc[0] == "sources" and len(loc) >= 2 and isinstance(loc[1], int):
        index = loc[1]
        try:
            label = f"[[sources]] #{index + 1} (name={data['sources'][index].get('name', '?')!r})"
        except (KeyError, IndexError, AttributeError, TypeError):
            label = f"[[sources]] #{index + 1}"
        rest = [str(p) for p in loc[2:] if p not in ("directory", "feed", "webpage")]
        return f"{label} {'.'.join(rest)}".strip()
    keys = [str(p) for p in loc]
    if len(keys) >= 2:
        return f"[{keys[0]}] {'.'.join(keys[1:])}"
    return keys[0] if keys else "(top level)"


def _allowed_keys(loc: tuple[Any, ...]) -> str:
    model: Any = Settings
    source_models = {"directory": DirectorySourceOptions, "feed": FeedSourceOptions, "webpage": WebpageSourceOptions}
    for part in loc[:-1]:
        if part in source_models:
            model = source_models[part]
            continue
        if isinstance(part, int) or part == "sources":
            continue
        field = getattr(model, "model_fields", {}).get(part)
        if field is None:
            return ""
        annotation = field.annotation
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
        if model is None:
            return ""
    fields = getattr(model, "model_fields", None)
    if not fields:
        return ""
    return ", ".join(f.alias or k for k, f in fields.items() if not f.exclude)


def format_validation_error(exc: ValidationError, data: dict[str, Any], origin: str) -> str:
    lines = [f"{origin}: {exc.error_count()} problem(s) in the settings:"]
    for error in exc.errors(include_url=False):
        loc = tuple(error["loc"])
        where = _describe_loc(loc, data)
        if error["type"] == "extra_forbidden":
            allowed = _allowed_keys(loc)
            lines.append(f"  - {where}: unknown key; allowed keys here: {allowed}")
            continue
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
            message = "type must be one of 'directory', 'feed', 'webpage'"
            tag = (error.get("ctx") or {}).get("tag")
            if tag is None:
                lines.append(f"  - {where} type: required key is missing; {message}")
            else:
                lines.append(f"  - {where} type = {tag!r}: {message}")
            continue
        if error["type"] == "missing":
            lines.append(f"  - {where}: required key is missing")
            continue
        lines.append(f"  - {where} = {error.get('input')!r}: {message}")
    return "\n".join(lines)


def load_settings(
    path: str | os.PathLike[str] | None = None,
    environ: dict[str, str] | None = None,
) -> Settings:
    """Load and validate settings. Raises ConfigError with a readable message."""
    environ = dict(os.environ if environ is None else environ)
    file = find_settings_file(path, environ)
    data: dict[str, Any] = {}
    origin = "built-in defaults"
    base_dir = Path.cwd()
    if file is not None:
        origin = str(file)
        base_dir = file.parent
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except UnicodeDecodeError:
            raise ConfigError(f"{file} is not UTF-8; save it as UTF-8") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file} is not valid TOML: {exc}") from None
        _reject_secrets_in_file(data, origin)
    data = _apply_env(data, environ)
    try:
        settings = Settings.model_validate(data, context={"base_dir": base_dir})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, data, origin)) from None
    settings.base_dir = base_dir
    settings.settings_file = file
    return settings


def masked_dump(settings: Settings) -> dict[str, Any]:
    """Effective settings as plain data with secrets and URL passwords masked."""
    data = settings.model_dump(mode="json", by_alias=True)

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        if isinstance(node, str):
            # user:password@ and :password@ (no user name) both hide the password
            return re.sub(r"(://[^:/@\s]*:)[^@/\s]+@", r"\1*****@", node)
        return node

    data = walk(data)
    for path in _secret_paths(Settings):
        node = data
        for key in path[:-1]:
            node = node.get(key, {})
        if node.get(path[-1]):
            node[path[-1]] = "*****"
    return data
