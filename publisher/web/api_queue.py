"""The review queue's API models (issue 13): GET /api/review-queue?lang=&state=."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, create_model

from ..store.translations import REVIEW_STATES
from .api_models import Out, Params

_STATE = "|".join(REVIEW_STATES)


class ReviewQueueItemOut(Out):
    release_id: int
    title: str = Field(description="the release's title (source language)")
    lang: str = Field(description="the translation's language")
    state: str = Field(description=f"one of {', '.join(REVIEW_STATES)}")
    error: str | None = Field(description="why it is held or failed (the engine's or the check's words)")
    failed_checks: list[str] = Field(description="the names of the quality checks that failed")
    since: str = Field(description="when it started waiting (its last change), ISO 8601 in UTC")
    since_local: str = Field(description="the same in the site's time zone")
    waited: str = Field(description="how long it has waited, e.g. '3 d 4 h'")
    link: str = Field(description="the staff review page of this translation")


class ReviewQueueOut(Out):
    items: list[ReviewQueueItemOut]
    count: int
    states: list[str]


OUTPUTS = [ReviewQueueItemOut, ReviewQueueOut]


def queue_query_model(settings: Any) -> Any:
    languages = tuple(dict.fromkeys(settings.site.languages))
    return create_model(
        "ReviewQueueQuery", __base__=Params,
        lang=(Literal[languages] | None, Field(None, description="only translations into this language")),  # type: ignore[valid-type]
        state=(str | None, Field(None, pattern=rf"^({_STATE})(,({_STATE}))*$",
                                 description=f"only these states, comma-separated: {', '.join(REVIEW_STATES)}")),
    )
