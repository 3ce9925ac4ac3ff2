"""The source protocol and the registry of source providers.

A source gets only its own validated options (plus the shared HTTP politeness settings for
network sources). ``fetch(state)`` yields what it found: a RawRelease for each item it could
extract, a Rejected for each item it could not. It may update ``state`` (its own cursor:
ETag, Last-Modified, file fingerprints); ingest saves that state after the run.
A failure of the whole source (folder missing, feed unreachable) raises SourceError.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Protocol, runtime_checkable

from ..models import RawRelease, Rejected


@runtime_checkable
class Source(Protocol):
    name: str

    def fetch(self, state: dict[str, Any]) -> Iterable[RawRelease | Rejected]: ...

    def quarantine(self, item: Rejected | RawRelease, reason: str) -> str | None:
        """Keep the item's original somewhere a person can find it; return where (or None)."""
        ...


class SourceBase:
    """Default behaviour shared by providers."""

    name: str

    def quarantine(self, item: Rejected | RawRelease, reason: str) -> str | None:
        return None  # fetched items are kept in the quarantine table only

    def fetch(self, state: dict[str, Any]) -> Iterator[RawRelease | Rejected]:  # pragma: no cover
        raise NotImplementedError
