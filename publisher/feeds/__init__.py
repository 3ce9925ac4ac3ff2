"""Feeds stage: per-language RSS 2.0 and Atom 1.0 (feedgen), OPML and an index page.

spec.py reads the store into plain FeedSpecs, render.py turns one into bytes, write.py writes
atomically and only on change, stage.py ties them together. See docs/feeds.md.
Imports are lazy so that loading the settings (options.py) does not load feedgen.
"""

from __future__ import annotations

from typing import Any

__all__ = ["FeedFile", "FeedsReport", "FeedsSettings", "build_feeds"]


def __getattr__(name: str) -> Any:
    if name == "FeedsSettings":
        from .options import FeedsSettings

        return FeedsSettings
    if name in ("FeedFile", "FeedsReport", "build_feeds"):
        from . import stage

        return getattr(stage, name)
    raise AttributeError(name)
