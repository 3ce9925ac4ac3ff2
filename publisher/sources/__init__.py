"""Source providers, registered by the ``type`` used in ``[[sources]]``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ..cleaning import Boilerplate
from .base import Source, SourceBase
from .http import HttpOptions, PoliteClient


@dataclass
class SourceContext:
    """What every provider may use besides its own options."""

    boilerplate: Boilerplate
    timezone: dt.tzinfo
    max_bytes: int
    quarantine_dir: Any  # pathlib.Path: where file sources move rejected files
    http: PoliteClient | None = None


def registry() -> dict[str, type]:
    from .directory import DirectorySource
    from .feed import FeedSource
    from .webpage import WebpageSource

    return {"directory": DirectorySource, "feed": FeedSource, "webpage": WebpageSource}


def build_source(options: Any, context: SourceContext) -> Source:
    try:
        cls = registry()[options.type]
    except KeyError:
        raise ValueError(f"unknown source type {options.type!r}") from None
    return cls(options, context)


__all__ = ["Source", "SourceBase", "SourceContext", "HttpOptions", "PoliteClient", "build_source", "registry"]
