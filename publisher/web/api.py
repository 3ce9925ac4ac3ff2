"""JSON API for the staff actions (the same functions as the staff pages) and its OpenAPI
description. Authentication: the staff session cookie (unsafe methods also need the session's
CSRF token in an X-CSRF-Token header; GET /api/session returns it), or HTTP Basic with a staff
name and password (scripts; no cookie, so no CSRF). Failed Basic logins count against the
login rate limit."""

from __future__ import annotations

import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..errors import PublisherError
from . import actions
from .security import CSRF_HEADER, client_ip, csrf_ok, csrf_token
from .staff import authenticate, session_user

if TYPE_CHECKING:
    from .app import WebContext


def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class Api:
    def __init__(self, ctx: WebContext):
        self.ctx, self.app = ctx, ctx.app
        T = "/api/releases/{id:int}/translations/{lang}"
        self.table: list[tuple[str, str, Any]] = [
            ("GET", "/api/session", self.session),
            ("GET", "/api/status", lambda r, b, u: actions.dashboard(self.app)),
            ("GET", T, lambda r, b, u: actions.review(self.app, r.path_params["id"], r.path_params["lang"])),
            ("PUT", T, lambda r, b, u: actions.edit(self.app, r.path_params["id"], r.path_params["lang"],
                                                    str(b.get("title", "")), str(b.get("body", "")), u.name)),
            ("POST", T + "/approve", lambda r, b, u: actions.approve(self.app, r.path_params["id"],
                                                                     r.path_params["lang"], u.name)),
            ("POST", T + "/retranslate", lambda r, b, u: actions.retranslate(
                self.app, r.path_params["id"], r.path_params["lang"], b.get("engine") or None)),
            ("GET", "/api/digests/preview", lambda r, b, u: actions.preview_digest(
                self.app, r.query_params.get("lang", ""), r.query_params.get("frequency", "daily"))),
            ("POST", "/api/send/release", lambda r, b, u: actions.send_release(self.app, b.get("release", ""),
                                                                                b.get("lang"))),
            ("POST", "/api/send/digest", lambda r, b, u: actions.send_digest(self.app, b.get("frequency", "daily"),
                                                                              b.get("lang"))),
            ("POST", "/api/send/test", lambda r, b, u: actions.test_send(
                self.app, str(b.get("to") or u.email or ""), b.get("lang") or self.app.settings.site.source_language)),
            ("POST", "/api/send/retry", lambda r, b, u: actions.retry_failed(self.app)),
            ("POST", "/api/send/pause", lambda r, b, u: actions.set_paused(self.app, True)),
            ("POST", "/api/send/resume", lambda r, b, u: actions.set_paused(self.app, False)),
            ("GET", "/api/quarantine", lambda r, b, u: {"items": actions.quarantine(self.app)}),
        ]

    def routes(self) -> list[Route]:
        by_path: dict[str, dict[str, Any]] = {}
        for method, path, handler in self.table:
            by_path.setdefault(path, {})[method] = handler
        routes = [Route("/api/openapi.json", self.openapi)]
        for path, handlers in by_path.items():
            routes.append(Route(path, self._endpoint(handlers), methods=list(handlers)))
        return routes

    def session(self, request: Request, body: Any, user: Any) -> dict[str, Any]:
        return {"user": user.name, "email": user.email, "csrf_token": request.session.get("csrf")}

    async def _auth(self, request: Request) -> tuple[Any, Response | None]:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("basic "):
            try:
                name, _, password = base64.b64decode(header[6:]).decode("utf-8").partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None, _error(401, "malformed Basic credentials")
            user = await run_in_threadpool(authenticate, self.app, name, password)
            if user is None:
                wait = self.ctx.limiter.hit("login", client_ip(request))
                if wait is not None:
                    return None, _error(429, "too many attempts", **{"Retry-After": str(int(wait))})
                return None, _error(401, "wrong name or password", **{"WWW-Authenticate": 'Basic realm="publisher"'})
            return user, None
        user = await run_in_threadpool(session_user, self.app, request)
        if user is None:
            return None, _error(401, "log in (staff session) or use HTTP Basic",
                                **{"WWW-Authenticate": 'Basic realm="publisher"'})
        if request.method == "GET":
            csrf_token(request)
        elif not csrf_ok(request, request.headers.get(CSRF_HEADER)):
            return None, _error(403, "missing or wrong X-CSRF-Token (GET /api/session returns it)")
        return user, None

    def _endpoint(self, handlers: dict[str, Any]) -> Any:
        async def endpoint(request: Request) -> Response:
            user, refused = await self._auth(request)
            if refused is not None:
                return refused
            body: dict[str, Any] = {}
            if request.method in ("POST", "PUT"):
                raw = await request.body()
                if raw.strip():
                    if "json" not in request.headers.get("content-type", ""):
                        return _error(415, "send a JSON body (Content-Type: application/json)")
                    try:
                        body = json.loads(raw)
                    except ValueError:
                        return _error(400, "the body is not valid JSON")
                    if not isinstance(body, dict):
                        return _error(400, "the body must be a JSON object")
            handler = handlers[request.method]
            try:
                result = await run_in_threadpool(handler, request, body, user)
            except actions.ActionError as exc:
                return _error(exc.status, str(exc))
            except PublisherError as exc:
                return _error(400, str(exc))
            return JSONResponse(result)

        return endpoint

    async def openapi(self, request: Request) -> Response:
        return JSONResponse(openapi_document(self.app.settings.site.name, self.table))


_SUMMARIES = {
    ("GET", "/api/session"): "The logged-in staff user and the session's CSRF token",
    ("GET", "/api/status"): "Dashboard: latest releases with each language's status, queue counts, recent sends",
    ("GET", "T"): "A release and one translation, side by side",
    ("PUT", "T"): "Edit a translation (it becomes a human translation)",
    ("POST", "T/approve"): "Approve the machine translation",
    ("POST", "T/retranslate"): "Machine-translate again, optionally with another engine of the chain",
    ("GET", "/api/digests/preview"): "Render the digest of a language without queueing it",
    ("POST", "/api/send/release"): "Queue one release to a language's subscribers, or all",
    ("POST", "/api/send/digest"): "Queue this period's digest in a language, or all",
    ("POST", "/api/send/test"): "Send one test message now (synchronously) to one address (default: yours)",
    ("POST", "/api/send/retry"): "Queue failed and held messages again",
    ("POST", "/api/send/pause"): "Pause sending",
    ("POST", "/api/send/resume"): "Resume sending",
    ("GET", "/api/quarantine"): "Items that could not become releases",
}
_BODIES = {
    ("PUT", "T"): {"title": {"type": "string"}, "body": {"type": "string"}},
    ("POST", "T/retranslate"): {"engine": {"type": "string"}},
    ("POST", "/api/send/release"): {"release": {"type": "string", "description": "id or uid"},
                                    "lang": {"type": "string", "description": "a language or 'all' (default)"}},
    ("POST", "/api/send/digest"): {"frequency": {"type": "string", "enum": ["daily", "weekly"]},
                                   "lang": {"type": "string", "description": "a language or 'all' (default)"}},
    ("POST", "/api/send/test"): {"to": {"type": "string", "format": "email"}, "lang": {"type": "string"}},
}


def openapi_document(site: str, table: list[tuple[str, str, Any]]) -> dict[str, Any]:
    T = "/api/releases/{id}/translations/{lang}"
    paths: dict[str, Any] = {}
    for method, path, _ in table:
        public = path.replace("{id:int}", "{id}")
        key = (method, public.replace(T, "T"))
        op: dict[str, Any] = {"summary": _SUMMARIES[key], "security": [{"basic": []}, {"session": []}],
                              "responses": {"200": {"description": "OK", "content": {"application/json": {}}},
                                            "400": {"description": "refused, with {\"error\": reason}"},
                                            "401": {"description": "not logged in"},
                                            "403": {"description": "CSRF token missing (session auth)"},
                                            "404": {"description": "no such release or language"}}}
        params = [{"name": n, "in": "path", "required": True, "schema": {"type": "integer" if n == "id" else "string"}}
                  for n in ("id", "lang") if "{" + n + "}" in public]
        if public == "/api/digests/preview":
            params = [{"name": "lang", "in": "query", "required": True, "schema": {"type": "string"}},
                      {"name": "frequency", "in": "query", "schema": {"type": "string", "enum": ["daily", "weekly"]}}]
        if params:
            op["parameters"] = params
        if key in _BODIES:
            op["requestBody"] = {"content": {"application/json": {"schema": {"type": "object",
                                                                              "properties": _BODIES[key]}}}}
        paths.setdefault(public, {})[method.lower()] = op
    return {
        "openapi": "3.1.0",
        "info": {"title": f"{site}: staff API", "version": "1"},
        "components": {"securitySchemes": {
            "basic": {"type": "http", "scheme": "basic"},
            "session": {"type": "apiKey", "in": "cookie", "name": "publisher_session",
                        "description": "with the X-CSRF-Token header on POST/PUT"}}},
        "paths": paths,
    }
