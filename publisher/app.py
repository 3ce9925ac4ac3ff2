"""Composition root: builds the store and the stages' collaborators from Settings."""

from __future__ import annotations

import os
import socket
from functools import cached_property
from typing import Any

import httpx

from .errors import PublisherError
from .ingest import ProgressFn, ingest_sources
from .models import IngestReport
from .settings import Settings, load_settings
from .store import Store
from .store import db as store_db
from .translate.base import EngineUnavailable
from .translate.engines import build_engine
from .translate.glossary import Glossary
from .translate.service import TranslationService
from .delivery.base import Transport
from .delivery.dispatch import DispatchReport, dispatch_pending
from .delivery.outbox import OutboxTransport
from .delivery.render import Renderer
from .delivery.smtp import SmtpTransport
from .delivery.tokens import Tokens, load_secret


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

    @cached_property
    def translation(self) -> TranslationService:
        return TranslationService(self.settings, self.store)

    # ------------------------------------------------------------------ mail
    @cached_property
    def tokens(self) -> Tokens:
        secret = self.settings.mail.secret_key
        return Tokens(load_secret(secret.get_secret_value() if secret else None, self.settings.base_dir / "var"))

    @cached_property
    def renderer(self) -> Renderer:
        s = self.settings
        return Renderer(s.site, s.mail, s.digest, s.dkim, self.store, self.tokens, [s.base_dir / "templates" / "email",
                        s.base_dir / "templates"], s.translation.publish)

    def transport(self) -> Transport:
        if self.settings.mail.transport == "smtp":
            return SmtpTransport(self.settings.mail)
        return OutboxTransport(self.settings.mail)

    def dispatch(self, message_key: str | None = None, stop: Any = None, progress: Any = None,
                 wait_for_retries: bool = False) -> DispatchReport:
        """Send what the ledger holds (or one message key's rows) through the configured transport."""
        transport = self.transport()
        try:
            return dispatch_pending(self.store, transport, self.renderer.render, self.settings.mail,
                                    owner=f"{socket.gethostname()}:{os.getpid()}", message_key=message_key,
                                    stop=stop, progress=progress, wait_for_retries=wait_for_retries,
                                    prepare=self.renderer.prepare)
        finally:
            transport.close()

    def close(self) -> None:
        if "translation" in self.__dict__:
            self.translation.close()
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

    def engine_status(self) -> dict[str, str | None]:
        """Each engine named in a chain → None when it can run here, else the reason."""
        status: dict[str, str | None] = {}
        options = self.settings.translation
        for chain in options.chains.values():
            for name in (hop for entry in chain for hop in entry.split(">")):  # "a>b": a pivot route
                if name in status:
                    continue
                try:
                    build_engine(name, options).close()
                    status[name] = None
                except EngineUnavailable as exc:
                    status[name] = str(exc).split(": ", 1)[-1]
        return status

    def check_translation(self) -> tuple[list[str], list[str]]:
        """(problems, warnings): a broken glossary is a problem; a language that no engine
        can translate here (offline, no key) is a warning, since its releases just wait."""
        problems: list[str] = []
        warnings: list[str] = []
        options = self.settings.translation
        status = self.engine_status()
        for lang in self.settings.site.target_languages:
            chain = options.chains.get(lang)
            if not chain:
                problems.append(f"[translation] chains has no engines for {lang!r}; add chains.{lang} = [...]")
                continue
            hops = [hop for entry in chain for hop in entry.split(">")]
            if all(any(status.get(hop) for hop in entry.split(">")) for entry in chain):
                reasons = "; ".join(f"{name}: {status[name]}" for name in dict.fromkeys(hops) if status[name])
                warnings.append(f"no engine can translate into {lang!r} here, so its translations wait ({reasons})")
        try:
            glossary = Glossary.load(options.glossary)
            problems.extend(glossary.problems(self.settings.site.target_languages))
        except PublisherError as exc:
            problems.append(str(exc))
        return problems, warnings

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
