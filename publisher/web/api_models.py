"""Typed inputs and outputs of the JSON API (publisher/web/api.py). The same pydantic models
validate each request and describe it in /api/openapi.json. Languages, engines and bounds come
from the site's settings, so the models are made per app (``api_models(settings)``)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, create_model

from email_validator import EmailNotValidError, validate_email

MAX_ID = 2**31 - 1  # the ids are 32-bit integers on PostgreSQL: a larger one names no row
def _integral(value: Any) -> Any:
    """JSON Schema counts 2.0 as an integer; so does the API."""
    return int(value) if isinstance(value, float) and value.is_integer() and abs(value) <= 2**53 else value


Id = Annotated[int, Field(ge=1, le=MAX_ID, description=f"a numeric id (1 … {MAX_ID})"), BeforeValidator(_integral)]
Uid = Annotated[str, Field(pattern=r"^[0-9a-f]{24}$", description="a release uid (24 hex digits)")]
# text a person types: at least one non-space character, no NUL
Text = r"^[^\x00]*[^\x00\s][^\x00]*$"
Frequency = Literal["daily", "weekly"]


def _email(value: str) -> str:
    """Any address RFC 5322 allows (a staff test send may go to a local or test domain), normalised."""
    try:
        result = validate_email(value.strip(), check_deliverability=False, globally_deliverable=False,
                                test_environment=True)
    except EmailNotValidError as exc:
        raise ValueError(f"{value!r} is not a valid e-mail address: {exc}") from None
    return result.normalized.lower()


Email = Annotated[str, Field(max_length=320, json_schema_extra={"format": "email"}), AfterValidator(_email)]


class Body(BaseModel):
    """A JSON request body: exactly these fields, of exactly these JSON types."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Params(BaseModel):
    """Path or query parameters (strings in the URL, converted)."""

    model_config = ConfigDict(extra="ignore")


class Out(BaseModel):
    """A response (documentation only; more fields may appear)."""

    model_config = ConfigDict(extra="allow")


class FieldError(Out):
    field: str = Field(description="where: e.g. body.release, path.id, query.lang")
    message: str


class ErrorOut(Out):
    error: str = Field(description="what went wrong, for a person")
    field: str | None = Field(None, description="the first field at fault (validation errors)")
    errors: list[FieldError] | None = None


class SessionOut(Out):
    user: str
    email: str | None
    role: str = Field(description="admin | editor | sender: what the user may do (docs/web.md, Roles)")
    csrf_token: str | None = Field(description="send it as X-CSRF-Token with POST/PUT (session auth); "
                                               "null with Basic auth")


class ReleaseOut(Out):
    id: int
    uid: str
    title: str
    body: str
    language: str
    published_at: str
    revision: int


class TranslationOut(Out):
    release: int
    lang: str
    status: str
    title: str | None
    body: str | None
    engine: str | None
    machine: bool | None
    editor: str | None
    error: str | None
    qa: list[Any]
    updated_at: str


class ReviewOut(Out):
    release: ReleaseOut
    translation: TranslationOut | None
    engines: list[str]


class StatusOut(Out):
    releases: list[dict[str, Any]]
    queue: dict[str, Any]
    paused: bool


class PreviewOut(Out):
    lang: str
    frequency: str
    note: str
    releases: list[int]
    subject: str
    html: str
    text: str


class QueuedMessage(Out):
    key: str
    queued: int


class QueueOut(Out):
    queued: int
    messages: list[QueuedMessage]
    nothing_new: list[str]


class TestSendOut(Out):
    message: str
    recipient: str
    status: str
    error: str | None
    message_id: str | None


class RetryOut(Out):
    queued_again: int


class PausedOut(Out):
    paused: bool


class QuarantineOut(Out):
    items: list[dict[str, Any]]


def _choice(values: list[str] | tuple[str, ...]) -> Any:
    return Literal[tuple(dict.fromkeys(values))]  # type: ignore[valid-type]


def api_models(settings: Any) -> SimpleNamespace:
    """The request models of this site."""
    site = settings.site
    lang = _choice(site.languages)
    lang_or_all = _choice([*site.languages, "all"])
    engines = sorted({e for chain in settings.translation.chains.values() for e in chain})
    text_field = Field(pattern=Text, min_length=1)
    return SimpleNamespace(
        TranslationPath=create_model("TranslationPath", __base__=Params, id=(Id, ...), lang=(lang, Field(
            description="a language of the site other than the release's own (404 for its own)"))),
        PreviewQuery=create_model("PreviewQuery", __base__=Params, lang=(lang, ...),
                                  frequency=(Frequency, "daily")),
        TranslationEdit=create_model(
            "TranslationEdit", __base__=Body,
            title=(Annotated[str, text_field, Field(max_length=1000)], ...),
            body=(Annotated[str, text_field, Field(max_length=500_000, description="paragraphs separated "
                                                                                  "by an empty line")], ...)),
        Retranslate=create_model(
            "Retranslate", __base__=Body,
            engine=(_choice(engines) | None if engines else None, Field(None, description=(
                "an engine of this language's chain (default: the chain in order)")))),
        SendRelease=create_model(
            "SendRelease", __base__=Body, release=(Id | Uid, Field(description="the release's id or uid")),
            lang=(lang_or_all, Field("all", description="a language, or all (default)"))),
        SendDigest=create_model("SendDigest", __base__=Body, frequency=(Frequency, "daily"),
                                lang=(lang_or_all, Field("all", description="a language, or all (default)"))),
        TestSend=create_model(
            "TestSend", __base__=Body,
            to=(Email | None, Field(None, description="the address (default: yours)")),
            lang=(lang | None, Field(None, description=f"default: {site.source_language}"))),
    )


OUTPUTS = [ErrorOut, SessionOut, ReviewOut, TranslationOut, StatusOut, PreviewOut, QueueOut, TestSendOut, RetryOut,
           PausedOut, QuarantineOut]
