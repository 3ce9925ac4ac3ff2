"""Settings of the feeds stage: ``[feeds]`` in settings.toml."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from ..config_types import LangCode, ResolvedPath, Section


def _has_lang(value: str) -> str:
    if "{lang}" not in value:
        raise ValueError("must contain the {lang} placeholder, e.g. 'feeds/{lang}/rss.xml'")
    return _relative(value)


def _relative(value: str) -> str:
    parts = Path(value).parts
    if not value or Path(value).is_absolute() or ".." in parts:
        raise ValueError("must be a relative path inside output_dir, without '..'")
    return value


class FeedsSettings(Section):
    output_dir: ResolvedPath = Path(".")  # the paths below are relative to it, and are also the URL paths
    rss_path: str = "feeds/{lang}/rss.xml"
    atom_path: str = "feeds/{lang}/atom.xml"
    opml_path: str = "feeds/feeds.opml"
    index_path: str = "feeds/index.html"
    max_entries: int = Field(50, ge=1, le=100_000)
    summary_chars: int = Field(400, ge=50, le=10_000)
    max_title_chars: int = Field(200, ge=20, le=2_000)
    logo: str | None = None  # an http(s) URL, or a path on the site ("/static/logo.png")
    author: str | None = None  # when a release names none; default: [site] name
    id_prefix: str | None = Field(None, pattern=r"^(tag|urn|https?):\S+$")
    entry_url: str = "{base_url}/releases/{uid}/{lang}"
    titles: dict[LangCode, str] = {}
    descriptions: dict[LangCode, str] = {}
    machine_notes: dict[LangCode, str] = {}

    @field_validator("rss_path", "atom_path")
    @classmethod
    def _lang_paths(cls, value: str) -> str:
        return _has_lang(value)

    @field_validator("opml_path", "index_path")
    @classmethod
    def _paths(cls, value: str) -> str:
        return _relative(value)

    @field_validator("entry_url")
    @classmethod
    def _entry_placeholders(cls, value: str) -> str:
        if "{uid}" not in value or "{lang}" not in value:
            raise ValueError("must contain {uid} and {lang}, e.g. '{base_url}/releases/{uid}/{lang}'")
        try:
            value.format(base_url="", uid="", lang="")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"unknown placeholder {exc}; use {{base_url}}, {{uid}} and {{lang}}") from None
        return value

    @field_validator("logo")
    @classmethod
    def _logo(cls, value: str | None) -> str | None:
        if value is not None and not (value.startswith(("http://", "https://", "/"))):
            raise ValueError("use an http(s) URL or a path on the site starting with '/'")
        return value

    def path(self, kind: str, lang: str | None = None) -> str:
        """The relative path (= URL path) of a file: kind is rss, atom, opml or index."""
        template = getattr(self, f"{kind}_path")
        return template.format(lang=lang) if lang is not None else template
