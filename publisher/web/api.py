"""JSON API for the staff actions (the same functions as the staff pages) and its OpenAPI
description. Authentication: the staff session cookie (unsafe methods also need the session's
CSRF token in an X-CSRF-Token header; GET /api/session returns it), or HTTP Basic with a staff
name and password (scripts; no cookie, so no CSRF). Every Basic login goes through the login
limit (publisher/web/auth.py): while the account or the address is locked, 429.

Each operation names its action of publisher.web.roles (``action``): the user's role is checked
before the input is read (403 naming the role otherwise), and the actions that change
something are written to the audit log (``roles.perform``).

Each operation declares typed models for its path, query and body (publisher/web/api_models.py);
they validate the request (a 4xx JSON error naming the field) and describe it in
/api/openapi.json, with every status the operation can answer."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..errors import PublisherError
from . import actions
from .api_models import (OUTPUTS, ErrorOut, PausedOut, PreviewOut, QuarantineOut, QueueOut, ReviewOut,
                         SessionOut, StatusOut, TestSendOut, TranslationOut, api_models)
from .api_language import HeldOut, ReleaseLanguageOut, language_models
from .api_mail import ReleaseHeld, ReleaseHeldOut, RetryFailedOut
from .api_audit import AuditOut, AuditQuery, StaffUsersOut, users_json
from .api_queue import ReviewQueueOut, queue_query_model
from . import review_queue
from .auth import attempt_login, client_address, session_user
from .roles import Forbidden, perform, require, roles_for
from .security import CSRF_HEADER, csrf_ok, csrf_token

if TYPE_CHECKING:
    from .context import WebContext

BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="publisher"'}


@dataclass
class Call:
    """What a handler gets: the validated inputs and the user."""

    request: Request
    user: Any
    path: Any = None
    query: Any = None
    body: Any = None


@dataclass
class Operation:
    method: str
    path: str  # OpenAPI form: /api/releases/{id}/translations/{lang}
    summary: str
    handler: Callable[[Call], Any]
    output: type[BaseModel]
    path_model: type[BaseModel] | None = None
    query_model: type[BaseModel] | None = None
    body_model: type[BaseModel] | None = None
    errors: tuple[int, ...] = ()  # statuses of the action itself: 404 (no such thing), 409 (state refuses), 502
    body_required: bool = field(default=False)
    action: str = ""  # publisher.web.roles.PERMISSIONS: who may (none: nobody) and what the audit log calls it
    target: Callable[[Call], str] | None = None  # what the audit log says it was done on

    @property
    def roles(self) -> tuple[str, ...]:
        return roles_for(self.action)

    def statuses(self) -> list[int]:
        """Every status this operation can answer."""
        codes = {200, 401, 403, 429, *self.errors}  # 403: a role that may not; CSRF (session auth)
        if self.path_model or self.query_model or self.body_model:
            codes.add(422)
        if self.body_model:
            codes |= {400, 415}
        return sorted(codes)


def _translation(call: Call) -> str:
    return f"release {call.path.id}/{call.path.lang}"


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(message)
        self.status, self.headers, self.extra = status, headers or {}, extra

    def response(self) -> JSONResponse:
        return JSONResponse({"error": str(self), **self.extra}, status_code=self.status, headers=self.headers)


def _validation_error(exc: ValidationError, where: str) -> ApiError:
    by_field: dict[str, list[str]] = {}
    for item in exc.errors(include_url=False, include_input=False):
        if item["type"] == "json_invalid":
            return ApiError(400, f"the body is not valid JSON: {item['msg']}")
        # the models are flat: the first element is the field (the rest names union members)
        name = f"{where}.{item['loc'][0]}" if item["loc"] else where
        if item["msg"] not in by_field.setdefault(name, []):
            by_field[name].append(item["msg"])
    errors = [{"field": name, "message": "; or ".join(messages)} for name, messages in by_field.items()]
    if errors and errors[0]["field"] == "body" and len(errors) == 1:
        return ApiError(422, f"the body must be a JSON object: {errors[0]['message']}", field="body", errors=errors)
    first = errors[0]
    return ApiError(422, f"{first['field']}: {first['message']}", field=first["field"], errors=errors)


class Api:
    def __init__(self, ctx: WebContext):
        self.ctx, self.app = ctx, ctx.app
        self.models = m = api_models(self.app.settings)
        lm = language_models(self.app.settings)
        app = self.app
        T = "/api/releases/{id}/translations/{lang}"
        self.operations: list[Operation] = [
            Operation("GET", "/api/session", "The logged-in staff user, their role and the session's CSRF token",
                      self.session, SessionOut, action="view"),
            Operation("GET", "/api/status", "Dashboard: latest releases with each language's status, queue counts, "
                      "recent sends", lambda c: actions.dashboard(app), StatusOut, action="view"),
            Operation("GET", T, "A release and one translation, side by side",
                      lambda c: actions.review(app, c.path.id, c.path.lang), ReviewOut, m.TranslationPath,
                      errors=(404,), action="review"),
            Operation("PUT", T, "Edit a translation (it becomes a human translation)",
                      lambda c: actions.edit(app, c.path.id, c.path.lang, c.body.title, c.body.body, c.user.name),
                      TranslationOut, m.TranslationPath, body_model=m.TranslationEdit, errors=(404, 409),
                      body_required=True, action="edit", target=_translation),
            Operation("POST", T + "/approve", "Approve the machine translation",
                      lambda c: actions.approve(app, c.path.id, c.path.lang, c.user.name), TranslationOut,
                      m.TranslationPath, errors=(404, 409), action="approve", target=_translation),
            Operation("POST", T + "/retranslate", "Machine-translate again, optionally with another engine of the "
                      "chain (502: the engines failed)",
                      lambda c: actions.retranslate(app, c.path.id, c.path.lang, c.body.engine), TranslationOut,
                      m.TranslationPath, body_model=m.Retranslate, errors=(404, 409, 502), action="retranslate",
                      target=_translation),
            Operation("GET", "/api/digests/preview", "Render the digest of a language without queueing it",
                      lambda c: actions.preview_digest(app, c.query.lang, c.query.frequency), PreviewOut,
                      query_model=m.PreviewQuery, errors=(404, 409), action="preview"),
            Operation("POST", "/api/send/release", "Queue one release to a language's subscribers, or all",
                      lambda c: actions.send_release(app, c.body.release, c.body.lang), QueueOut,
                      body_model=m.SendRelease, errors=(404, 409), body_required=True, action="send",
                      target=lambda c: f"release {c.body.release}"),
            Operation("POST", "/api/send/digest", "Queue this period's digest in a language, or all",
                      lambda c: actions.send_digest(app, c.body.frequency, c.body.lang), QueueOut,
                      body_model=m.SendDigest, errors=(409,), action="send",
                      target=lambda c: f"digest {c.body.frequency}"),
            Operation("POST", "/api/send/test", "Send one test message now (synchronously) to one address "
                      "(default: yours); 409 while sending is paused or for an address the site refuses "
                      "(a special-use domain)",
                      lambda c: actions.test_send(app, c.body.to or c.user.email or "",
                                                  c.body.lang or app.settings.site.source_language),
                      TestSendOut, body_model=m.TestSend, errors=(409,), action="test",
                      target=lambda c: c.body.to or c.user.email or ""),
            Operation("POST", "/api/send/retry", "Queue failed messages again, except permanent refusals and "
                      "recipients who may no longer receive mail (held messages stay held)",
                      lambda c: actions.retry_failed(app), RetryFailedOut, action="retry", target=lambda c: "failed"),
            Operation("POST", "/api/send/release-held", "Queue held messages (handed over without a clear answer) "
                      "again on purpose, each with its original Message-ID",
                      lambda c: actions.release_held(app, c.body.message), ReleaseHeldOut, body_model=ReleaseHeld,
                      action="release_held", target=lambda c: c.body.message or "held"),
            Operation("POST", "/api/send/pause", "Pause sending", lambda c: actions.set_paused(app, True), PausedOut,
                      action="pause", target=lambda c: "sending"),
            Operation("POST", "/api/send/resume", "Resume sending", lambda c: actions.set_paused(app, False),
                      PausedOut, action="pause", target=lambda c: "sending"),
            Operation("GET", "/api/quarantine", "Items that could not become releases",
                      lambda c: {"items": actions.quarantine(app)}, QuarantineOut, action="quarantine"),
            # issue 9: releases held because their text is not in the source language
            Operation("GET", "/api/releases/held", "Releases held for a language mismatch (in no feed or mail, "
                      "not translated), with the language found", lambda c: {"items": actions.held(app)}, HeldOut,
                      action="view"),
            Operation("POST", "/api/releases/{id}/language", "Confirm the language a release is in (ends a hold)",
                      lambda c: actions.confirm_language(app, c.path.id, c.body.language), ReleaseLanguageOut,
                      lm.ReleasePath, body_model=lm.ConfirmLanguage, errors=(404,), body_required=True,
                      action="confirm_language", target=lambda c: f"release {c.path.id}"),
            # issue 13: the audit log
            Operation("GET", "/api/audit", "The audit log: staff actions, latest first (who, what, on what, when)",
                      lambda c: {"items": [e.as_dict() for e in app.store.list_audit(c.query.limit, c.query.actor)]},
                      AuditOut, query_model=AuditQuery, action="audit"),
            Operation("GET", "/api/users", "The staff users and their roles (changed with `publisher users`)",
                      lambda c: users_json(app.store.list_staff_users()), StaffUsersOut, action="users"),
            # issue 13: the review queue (the same rows as /staff/queue)
            Operation("GET", "/api/review-queue", "Translations waiting for review (held by a check, failed, stale, "
                      "unreviewed machine output), oldest first",
                      lambda c: review_queue.review_queue(app, c.query.lang, c.query.state), ReviewQueueOut,
                      query_model=queue_query_model(app.settings), action="review"),
        ]

    def routes(self) -> list[Route]:
        by_path: dict[str, dict[str, Operation]] = {}
        for op in self.operations:
            by_path.setdefault(op.path, {})[op.method] = op
        routes = [Route("/api/openapi.json", self.openapi)]
        for path, ops in by_path.items():
            routes.append(Route(path, self._endpoint(ops), methods=list(ops)))
        return routes

    def session(self, call: Call) -> dict[str, Any]:
        return {"user": call.user.name, "email": call.user.email, "role": call.user.role,
                "csrf_token": call.request.session.get("csrf")}

    # ------------------------------------------------------------------ plumbing
    async def _auth(self, request: Request) -> Any:
        header = request.headers.get("authorization")
        if header is not None and header[:6].lower() != "basic ":
            # credentials the API cannot check are refused, never ignored in favour of the cookie
            raise ApiError(401, "unsupported Authorization: use HTTP Basic, or the session cookie alone",
                           BASIC_CHALLENGE)
        if header is not None:
            try:
                name, sep, password = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                raise ApiError(401, "malformed Basic credentials", BASIC_CHALLENGE) from None
            if not sep:
                raise ApiError(401, "malformed Basic credentials (name:password)", BASIC_CHALLENGE)
            user, wait = await run_in_threadpool(attempt_login, self.app, self.ctx.login_limiter, name, password,
                                                 client_address(request))
            if wait is not None:
                raise ApiError(429, "too many failed logins; try again later", {"Retry-After": str(wait)})
            if user is None:
                raise ApiError(401, "wrong name or password", BASIC_CHALLENGE)
            return user
        user = await run_in_threadpool(session_user, self.app, request)
        if user is None:
            raise ApiError(401, "log in (staff session) or use HTTP Basic", BASIC_CHALLENGE)
        if request.method == "GET":
            csrf_token(request)
        elif not csrf_ok(request, request.headers.get(CSRF_HEADER)):
            raise ApiError(403, "missing or wrong X-CSRF-Token (GET /api/session returns it)")
        return user

    async def _inputs(self, request: Request, op: Operation, call: Call) -> None:
        try:
            if op.path_model:
                call.path = op.path_model.model_validate(dict(request.path_params))
            if op.query_model:
                call.query = op.query_model.model_validate(dict(request.query_params))
        except ValidationError as exc:
            raise _validation_error(exc, "path" if call.path is None and op.path_model else "query") from None
        if op.body_model:
            raw = await request.body()
            if raw.strip():
                if "json" not in request.headers.get("content-type", "").lower():
                    raise ApiError(415, "send a JSON body (Content-Type: application/json)")
            else:
                raw = b"{}"
            try:
                call.body = op.body_model.model_validate_json(raw)
            except ValidationError as exc:
                raise _validation_error(exc, "body") from None

    def _perform(self, op: Operation, call: Call) -> Any:
        """The role check and the audit log (publisher.web.roles), around the operation's handler."""
        fields = call.body.model_dump(mode="json") if call.body else {}
        detail = {k: v for k, v in fields.items() if k not in ("title", "body")}  # the options, never the texts
        return perform(self.app, call.user, op.action, op.target(call) if op.target else "",
                       lambda: op.handler(call), {"via": "api", **detail})

    def _endpoint(self, ops: dict[str, Operation]) -> Any:
        async def endpoint(request: Request) -> Response:
            op = ops[request.method if request.method != "HEAD" else "GET"]
            try:
                call = Call(request, await self._auth(request))
                try:
                    require(call.user, op.action)  # the role first: a role that may not learns nothing more
                    await self._inputs(request, op, call)
                    result = await run_in_threadpool(self._perform, op, call)
                except Forbidden as exc:
                    raise ApiError(403, str(exc), role=exc.role, allowed=list(op.roles)) from None
                except actions.ActionError as exc:
                    # input is validated above: what the action refuses is the state (409), not the form
                    raise ApiError(409 if exc.status == 400 else exc.status, str(exc)) from None
                except PublisherError as exc:
                    raise ApiError(409, str(exc)) from None
            except ApiError as exc:
                return exc.response()
            return JSONResponse(result)

        return endpoint

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi_document(self.app.settings.site.name, self.operations))


_DESCRIPTIONS = {
    200: "OK", 400: "the body is not valid JSON", 401: "not logged in, or a wrong name or password (Basic)",
    403: "the user's role may not do this (the operation's `x-roles` lists who may), or a missing or wrong "
         "X-CSRF-Token (session auth)", 404: "no such release, language or thing to show",
    409: "the current state refuses it (not published, paused, not in the chain, nothing to approve…)",
    415: "the body is not JSON (Content-Type)", 422: "a parameter or body field is invalid (named in `field`)",
    429: "too many failed logins for this account or address: try again after Retry-After seconds",
    502: "the translation engines failed",
}


def _parameters(model: type[BaseModel], where: str, schemas: dict[str, Any]) -> list[dict[str, Any]]:
    schema = schemas[model.__name__]
    required = set(schema.get("required", []))
    return [{"name": name, "in": where, "required": where == "path" or name in required, "schema": prop}
            for name, prop in schema["properties"].items()]


def openapi_document(site: str, operations: list[Operation]) -> dict[str, Any]:
    models = {m for op in operations for m in (op.path_model, op.query_model, op.body_model) if m}
    entries = [(m, "validation") for m in sorted(models, key=lambda m: m.__name__)]
    entries += [(m, "serialization") for m in {*OUTPUTS, *(op.output for op in operations)}]
    _, defs = models_json_schema(entries, ref_template="#/components/schemas/{model}")
    schemas = defs.get("$defs", {})
    ref = {"$ref": "#/components/schemas/{}"}
    error = {"application/json": {"schema": {"$ref": f"#/components/schemas/{ErrorOut.__name__}"}}}
    paths: dict[str, Any] = {}
    for op in operations:
        responses: dict[str, Any] = {}
        for code in op.statuses():
            entry: dict[str, Any] = {"description": _DESCRIPTIONS[code]}
            if code == 200:
                entry["content"] = {"application/json": {"schema": {"$ref": ref["$ref"].format(op.output.__name__)}}}
            else:
                entry["content"] = error
            if code == 401:
                entry["headers"] = {"WWW-Authenticate": {"required": True, "schema": {"type": "string"}}}
            if code == 429:
                entry["headers"] = {"Retry-After": {"required": True, "description": "seconds",
                                                    "schema": {"type": "integer", "minimum": 1}}}
            responses[str(code)] = entry
        spec: dict[str, Any] = {"summary": op.summary, "operationId": _operation_id(op),
                                "description": f"Roles: {', '.join(op.roles) or 'none'}.", "x-roles": list(op.roles),
                                "security": [{"basic": []}, {"session": []}], "responses": responses}
        params = []
        if op.path_model:
            params += _parameters(op.path_model, "path", schemas)
        if op.query_model:
            params += _parameters(op.query_model, "query", schemas)
        if params:
            spec["parameters"] = params
        if op.body_model:
            spec["requestBody"] = {"required": op.body_required, "content": {"application/json": {
                "schema": {"$ref": ref["$ref"].format(op.body_model.__name__)}}}}
        paths.setdefault(op.path, {})[op.method.lower()] = spec
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{site}: staff API", "version": "1"},
        "components": {"schemas": schemas, "securitySchemes": {
            "basic": {"type": "http", "scheme": "basic"},
            "session": {"type": "apiKey", "in": "cookie", "name": "publisher_session",
                        "description": "with the X-CSRF-Token header on POST/PUT"}}},
        "paths": paths,
    }


def _operation_id(op: Operation) -> str:
    words = [w for w in op.path.replace("{", "").replace("}", "").split("/") if w and w != "api"]
    return "_".join([op.method.lower(), *words])
