"""Validated types shared by every settings model (core and providers)."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo

from .lang import normalise_lang


def _resolve_path(value: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base_dir")
    value = Path(os.path.expanduser(str(value)))
    if base is not None and not value.is_absolute():
        value = Path(base) / value
    return value


def _check_lang(value: str) -> str:
    return normalise_lang(value)


def _check_regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression ({exc})") from None
    return value


ResolvedPath = Annotated[Path, AfterValidator(_resolve_path)]
LangCode = Annotated[str, AfterValidator(_check_lang)]
Regex = Annotated[str, AfterValidator(_check_regex)]
SourceName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]


class Section(BaseModel):
    """Base for every settings table: unknown keys are errors, values are validated."""

    model_config = ConfigDict(extra="forbid", validate_default=True)
