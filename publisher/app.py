"""Composition root: builds the store and the stages' collaborators from Settings."""

from __future__ import annotations

import os
from functools import cached_property
from typing import Any

import httpx

from .errors import PublisherError
from .ingest import ProgressFn, ingest_sources
from .models import IngestReport
from .settings import Settings, load_settings
from .store import Store
from .store import db as store_db


class App:
    def __init__(self, settings: Settings, check_store: bool = True):
        self.settings = settings
        self._check_store = check_store

    @classmethod
    def from_settings_file(cls, path: str | os.PathLike[str] | None = None, check_store: bool = True) -> App:
        return cls(load_settings(path), check_store=check_store)

    @cached_property
    def store(self) -> Store:
        return Store(self.settings.store.url, echo=self.settings.store.echo, check=self._check_store)

    def close(self) -> None:
        if "store" in self.__dict__:
            self.store.close()

    def check(self) -> list[str]:
        """Problems a person must fix, each naming the thing and the fix (empty when all is well)."""
        problems: list[str] = []
        try:
            store_db.check_current(self.store.engine)
        except PublisherError as exc:
            problems.append(str(exc))
        for source in self.settings.sources:
            if source.type == "directory" and not source.path.is_dir():
                problems.append(
                    f"source {source.name!r}: folder {source.path} does not exist; create it or fix its path"
                )
        return problems

    def ingest(
        self,
        only: str | None = None,
        progress: ProgressFn | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> IngestReport:
        return ingest_sources(self.settings, self.store, only=only, transport=transport, progress=progress)

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
