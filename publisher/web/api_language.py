"""The JSON API's models for releases held for a language mismatch (issue 9): list them, and
confirm the language a release is in (publisher.language_hold; api.py declares the operations)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from pydantic import Field, create_model

from .api_models import Body, Id, Out, Params, ReleaseOut, _choice


class ReleaseLanguageOut(ReleaseOut):
    language_status: str = Field(description="ok | held (not in the source language: unpublished, untranslated) "
                                             "| confirmed (staff set `language`)")
    detected_language: str | None = Field(description="the language declared or detected at ingest")


class HeldOut(Out):
    items: list[ReleaseLanguageOut]


OUTPUTS = [ReleaseLanguageOut, HeldOut]


def language_models(settings: Any) -> SimpleNamespace:
    languages = settings.site.languages
    return SimpleNamespace(
        ReleasePath=create_model("ReleasePath", __base__=Params, id=(Id, ...)),
        ConfirmLanguage=create_model(
            "ConfirmLanguage", __base__=Body,
            language=(_choice(languages), Field(description=(
                f"the language the release is in, one of {', '.join(languages)}: the source language "
                f"({settings.site.source_language}) publishes it as usual; another publishes it in that "
                "language's feed as the original and translates it from that language")))),
    )
