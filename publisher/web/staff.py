"""Staff pages behind a login: dashboard, translation review, digest preview, sending controls,
quarantine. Every form is POST with the session's CSRF token; every action is one of
publisher.web.actions (the JSON API calls the same ones), done through publisher.web.roles
(``perform``: the user's role is checked, the action written to the audit log). Every page
checks the role too, and the templates get ``can(action)`` to show only the buttons it allows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from ..errors import PublisherError
from ..store.users import StaffUser
from . import actions, review as review_page, review_queue
from .auth import attempt_login, client_address, end_sessions, session_user, start_session
from .roles import Forbidden, allowed, perform, record, require
from .security import CSP_EMAIL, CSRF_FIELD, csrf_ok, csrf_token, safe_next, same_origin

if TYPE_CHECKING:
    from .context import WebContext

LANG = "en"  # the staff pages are in English (their strings still go through the catalogs)


class StaffPages:
    def __init__(self, ctx: WebContext):
        self.ctx = ctx
        self.app, self.pages = ctx.app, ctx.pages

    def routes(self) -> list[Route]:
        return [
            Route("/staff/login", self.login, methods=["GET", "POST"]),
            Route("/staff/logout", self.logout, methods=["POST"]),
            Route("/staff/", self.dashboard),
            Route("/staff/queue", self.queue),  # issue 13: the review queue
            Route("/staff/releases/{id:int}/compare", self.compare),  # before {lang}: engines side by side
            Route("/staff/releases/{id:int}/{lang}", self.review),
            Route("/staff/releases/{id:int}/language", self.confirm_language, methods=["POST"]),  # issue 9
            Route("/staff/releases/{id:int}/{lang}/{action}", self.review_action, methods=["POST"]),
            Route("/staff/preview", self.preview),
            Route("/staff/preview/frame", self.preview_frame),
            Route("/staff/send/{action}", self.send_action, methods=["POST"]),
            Route("/staff/quarantine", self.quarantine),
        ]

    # ------------------------------------------------------------------ plumbing
    async def _user(self, request: Request) -> StaffUser | None:
        user = await run_in_threadpool(session_user, self.app, request)
        if user is not None:
            request.scope["staff_user"] = user
        return user

    def _to_login(self, request: Request) -> Response:
        target = safe_next(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"/staff/login?next={quote(target)}", status_code=303)

    def _page(self, request: Request, name: str, status: int = 200, lang: str = LANG, **context: Any) -> Response:
        context.setdefault("flash", request.session.pop("flash", None))
        user = request.scope.get("staff_user")
        context.setdefault("can", lambda action: user is not None and allowed(user.role, action))  # hides buttons
        return self.pages.render(request, name, lang, status, switch_path="", switch=[], **context)

    def _back(self, request: Request, where: str, message: str, ok: bool = True) -> Response:
        request.session["flash"] = {"ok": ok, "text": message}
        return RedirectResponse(safe_next(where), status_code=303)

    def _forbidden(self, request: Request, exc: Forbidden) -> Response:
        return self._page(request, "staff/error.html.j2", 403, title="Not allowed", error=str(exc))

    async def _allowed(self, request: Request, action: str) -> tuple[StaffUser | None, Response | None]:
        """The logged-in user when their role may do ``action`` (publisher.web.roles), else the
        answer: to the login page, or 403."""
        user = await self._user(request)
        if user is None:
            return None, self._to_login(request)
        try:
            require(user, action)
        except Forbidden as exc:
            return user, self._forbidden(request, exc)
        return user, None

    async def _checked_form(self, request: Request,
                            action: str | None) -> tuple[StaffUser | None, Any, Response | None]:
        """``action``: the role check (None: the caller checks, once it knows the action)."""
        user = await self._user(request)
        if user is None:
            return None, None, self._to_login(request)
        form = await request.form()
        if not csrf_ok(request, form.get(CSRF_FIELD)) or not same_origin(request, self.app.settings.site.base_url):
            return user, form, HTMLResponse("CSRF check failed: reload the page and try again.", status_code=403)
        if action is not None:
            try:
                require(user, action)
            except Forbidden as exc:
                return user, form, self._forbidden(request, exc)
        return user, form, None

    # ------------------------------------------------------------------ login
    async def login(self, request: Request) -> Response:
        target = safe_next(request.query_params.get("next"))
        if request.method == "GET":
            return self._page(request, "staff/login.html.j2", title="Staff login", next=target, error="")
        form = await request.form()
        target = safe_next(str(form.get("next", "")))
        if not csrf_ok(request, form.get(CSRF_FIELD)) or not same_origin(request, self.app.settings.site.base_url):
            return self._page(request, "staff/login.html.j2", 400, title="Staff login", next=target,
                              error="The form had expired. Please try again.")
        # the limit is checked before the password (publisher/web/auth.py)
        user, wait = await run_in_threadpool(attempt_login, self.app, self.ctx.login_limiter,
                                             str(form.get("name", "")), str(form.get("password", "")),
                                             client_address(request))
        if wait is not None:
            response = self._page(request, "staff/login.html.j2", 429, title="Staff login", next=target,
                                  error="Too many attempts. Please try again in a few minutes.")
            response.headers["Retry-After"] = str(wait)
            return response
        if user is None:
            return self._page(request, "staff/login.html.j2", 401, title="Staff login", next=target,
                              error="Wrong name or password.")
        await run_in_threadpool(start_session, self.app, request, user)  # new session and CSRF token: no fixation
        await run_in_threadpool(record, self.app, user.name, "login", f"user {user.name}",
                                {"address": client_address(request)})
        csrf_token(request)
        return RedirectResponse(target, status_code=303)

    async def logout(self, request: Request) -> Response:
        form = await request.form()
        if csrf_ok(request, form.get(CSRF_FIELD)):
            user = await self._user(request)
            await run_in_threadpool(end_sessions, self.app, request)  # every session of the user ends
            if user is not None:
                await run_in_threadpool(record, self.app, user.name, "logout", f"user {user.name}")
        return RedirectResponse("/staff/login", status_code=303)

    # ------------------------------------------------------------------ pages
    async def dashboard(self, request: Request) -> Response:
        user, refused = await self._allowed(request, "view")
        if refused is not None:
            return refused
        data = await run_in_threadpool(actions.dashboard, self.app)
        audit = []
        if allowed(user.role, "audit"):  # the latest 20 staff actions
            audit = [e.as_dict() for e in await run_in_threadpool(self.app.store.list_audit, 20)]
        waiting = None
        if allowed(user.role, "review"):
            waiting = (await run_in_threadpool(review_queue.review_queue, self.app))["count"]
        return self._page(request, "staff/dashboard.html.j2", title="Dashboard", data=data, audit=audit,
                          waiting=waiting)

    async def queue(self, request: Request) -> Response:
        """Every translation waiting for staff, oldest first; ?lang= and ?state= filter it."""
        _user, refused = await self._allowed(request, "review")
        if refused is not None:
            return refused
        ui = review_page.ui_language(request.headers.get("accept-language"))
        lang, state = request.query_params.get("lang", ""), request.query_params.get("state", "")
        try:
            data = await run_in_threadpool(review_queue.review_queue, self.app, lang, state)
        except actions.ActionError as exc:
            return self._page(request, "staff/error.html.j2", exc.status, title="Review queue", error=str(exc))
        return self._page(request, "staff/queue.html.j2", lang=ui, title=self.pages.gettext(ui, "Review queue"),
                          data=data, lang_code=lang, state=state, lang_choices=self.app.settings.site.languages)

    async def review(self, request: Request) -> Response:
        """Source and translation aligned, the checks' findings marked, in the staff member's
        language (Accept-Language among en, mk, sq; publisher.web.review)."""
        _user, refused = await self._allowed(request, "review")
        if refused is not None:
            return refused
        ui = review_page.ui_language(request.headers.get("accept-language"))

        def gettext(message: str, **values: Any) -> str:
            return self.pages.gettext(ui, message, **values)

        try:
            data = await run_in_threadpool(review_page.review_data, self.app, request.path_params["id"],
                                           request.path_params["lang"], gettext)
        except actions.ActionError as exc:
            return self._page(request, "staff/error.html.j2", exc.status, title="Not found", error=str(exc))
        response = self._page(request, "staff/review.html.j2", lang=ui, title=f"{gettext('Translation review')} "
                              f"{data['release']['id']} ({request.path_params['lang']})", data=data,
                              lang_code=request.path_params["lang"])
        return response

    async def compare(self, request: Request) -> Response:
        """Every engine that can run here on this release, side by side (nothing stored)."""
        _user, refused = await self._allowed(request, "review")
        if refused is not None:
            return refused
        lang = request.query_params.get("lang", "")
        try:
            data = await run_in_threadpool(actions.compare, self.app, request.path_params["id"], lang)
        except actions.ActionError as exc:
            return self._page(request, "staff/error.html.j2", exc.status, title="Not found", error=str(exc))
        except PublisherError as exc:
            return self._page(request, "staff/error.html.j2", 400, title="Cannot compare", error=str(exc))
        return self._page(request, "staff/compare.html.j2", title=f"Compare engines {data['release']} ({lang})",
                          data=data, lang_code=lang)

    async def review_action(self, request: Request) -> Response:
        user, form, refused = await self._checked_form(request, None)
        if refused is not None:
            return refused
        rid, lang, action = request.path_params["id"], request.path_params["lang"], request.path_params["action"]
        here = f"/staff/releases/{rid}/{lang}"
        calls = {  # page action → (roles.PERMISSIONS action, call)
            "approve": ("approve", lambda: actions.approve(self.app, rid, lang, user.name)),
            "edit": ("edit", lambda: review_page.save_whole(self.app, rid, lang, str(form.get("title", "")),
                                                            str(form.get("body", "")), user.name)),
            "segments": ("edit", lambda: review_page.save_segments(self.app, rid, lang, form, user.name)),
            "retranslate": ("retranslate", lambda: actions.retranslate(self.app, rid, lang,
                                                                       str(form.get("engine", "")) or None)),
        }
        if action not in calls:
            return HTMLResponse("unknown action", status_code=404)
        permission, call = calls[action]
        detail = {"via": "page", "form": action}
        if action == "retranslate":
            detail["engine"] = str(form.get("engine", "")) or None
        try:
            result = await run_in_threadpool(perform, self.app, user, permission, f"release {rid}/{lang}", call,
                                             detail)
        except Forbidden as exc:
            return self._forbidden(request, exc)
        except PublisherError as exc:
            return self._back(request, here, str(exc), ok=False)
        remembered = (f"; {result['memory_added'] + result['memory_changed']} sentence(s) kept in the staff memory"
                      if "memory_added" in result else "")
        return self._back(request, here, f"{action}: the {lang} translation is now {result['status']}{remembered}")

    async def confirm_language(self, request: Request) -> Response:
        """A held release's language, confirmed by staff (publisher.language_hold)."""
        user, form, refused = await self._checked_form(request, "confirm_language")
        if refused is not None:
            return refused
        rid = request.path_params["id"]
        language = str(form.get("language", ""))
        try:
            result = await run_in_threadpool(perform, self.app, user, "confirm_language", f"release {rid}",
                                             lambda: actions.confirm_language(self.app, rid, language),
                                             {"via": "page", "language": language})
        except PublisherError as exc:
            return self._back(request, "/staff/", f"release {rid}: {exc}", ok=False)
        return self._back(request, "/staff/", f"release {rid} confirmed as {result['language']}: published in "
                          f"{result['language']} and translated from it")

    async def preview(self, request: Request) -> Response:
        _user, refused = await self._allowed(request, "preview")
        if refused is not None:
            return refused
        lang = request.query_params.get("lang", self.app.settings.site.source_language)
        frequency = request.query_params.get("frequency", "daily")
        try:
            data = await run_in_threadpool(actions.preview_digest, self.app, lang, frequency)
            error = ""
        except PublisherError as exc:
            data, error = None, str(exc)
        return self._page(request, "staff/preview.html.j2", title="Digest preview", data=data, error=error,
                          lang_code=lang, frequency=frequency, frame=f"/staff/preview/frame?lang={quote(lang)}"
                          f"&frequency={quote(frequency)}")

    async def preview_frame(self, request: Request) -> Response:
        """The e-mail's own HTML, shown in a sandboxed frame with a CSP of its own."""
        user = await self._user(request)
        if user is None:
            return HTMLResponse("log in first", status_code=401)
        if not allowed(user.role, "preview"):
            return HTMLResponse("your role may not preview digests", status_code=403)
        try:
            data = await run_in_threadpool(actions.preview_digest, self.app, request.query_params.get("lang", ""),
                                           request.query_params.get("frequency", "daily"))
        except PublisherError as exc:
            return HTMLResponse(f"<p>{_esc(str(exc))}</p>", status_code=404, headers={"Content-Security-Policy": CSP_EMAIL})
        return HTMLResponse(data["html"], headers={"Content-Security-Policy": CSP_EMAIL,
                                                   "X-Frame-Options": "SAMEORIGIN"})

    async def send_action(self, request: Request) -> Response:
        user, form, refused = await self._checked_form(request, None)
        if refused is not None:
            return refused
        action = request.path_params["action"]
        lang = str(form.get("lang", "all"))
        to = str(form.get("to", "") or user.email or "")
        held = str(form.get("message", "")) or None
        calls = {  # page action → (roles.PERMISSIONS action, target, call)
            "release": ("send", f"release {form.get('release', '')}",
                        lambda: actions.send_release(self.app, str(form.get("release", "")), lang)),
            "digest": ("send", f"digest {form.get('frequency', 'daily')}",
                       lambda: actions.send_digest(self.app, str(form.get("frequency", "daily")), lang)),
            "test": ("test", to, lambda: actions.test_send(self.app, to, lang if lang != "all"
                                                            else self.app.settings.site.source_language)),
            "retry": ("retry", "failed", lambda: actions.retry_failed(self.app)),
            "release-held": ("release_held", held or "held", lambda: actions.release_held(self.app, held)),
            "pause": ("pause", "sending", lambda: actions.set_paused(self.app, True)),
            "resume": ("pause", "sending", lambda: actions.set_paused(self.app, False)),
        }
        if action not in calls:
            return HTMLResponse("unknown action", status_code=404)
        permission, target, call = calls[action]
        try:
            result = await run_in_threadpool(perform, self.app, user, permission, target, call,
                                             {"via": "page", "form": action, "lang": lang})
        except Forbidden as exc:
            return self._forbidden(request, exc)
        except PublisherError as exc:
            return self._back(request, "/staff/", f"{action}: {exc}", ok=False)
        return self._back(request, "/staff/", f"{action}: {_summary(action, result)}",
                          ok=result.get("status", "sent") == "sent")

    async def quarantine(self, request: Request) -> Response:
        _user, refused = await self._allowed(request, "quarantine")
        if refused is not None:
            return refused
        items = await run_in_threadpool(actions.quarantine, self.app)
        return self._page(request, "staff/quarantine.html.j2", title="Quarantine", items=items)


def _summary(action: str, result: dict[str, Any]) -> str:
    if action in ("release", "digest"):
        parts = [f"queued {n} × {key}" for key, n in ((m["key"], m["queued"]) for m in result["messages"])]
        parts += [f"nothing to send for {note}" for note in result["nothing_new"]]
        return "; ".join(parts) or "nothing queued"
    if action == "test":
        extra = f" ({result['error']})" if result.get("error") else ""
        return f"test message to {result['recipient']}: {result['status']}{extra}"
    if action == "retry":
        kept = result.get("kept", {})
        return (f"{result['queued_again']} queued again; left failed: {kept.get('permanent', 0)} refused permanently, "
                f"{kept.get('may_not_receive', 0)} whose recipient may no longer receive mail")
    if action == "release-held":
        return f"{result['released']} held messages queued again (with their original Message-ID)"
    return "sending paused" if result.get("paused") else "sending resumed"


def _esc(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))
