"""ASGI app factory. ``uvicorn --factory 'publisher.web.app:app_from_env'`` runs it.

Routes: the feeds (feeds.py), public pages (public.py), staff pages (staff.py), the JSON API
(api.py), /healthz and /metrics (ops.py). The app only reads the store and writes the ledger;
it never sends mail, except the staff "test send to me" (one message, on purpose)."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..app import App
from ..settings import Settings, load_settings
from . import ops
from .api import Api
from .archive import ArchivePages
from .auth import LoginLimiter
from .context import WebContext
from .feeds import FeedFiles
from .newsroom import Newsroom
from .pages import Pages
from .public import PublicPages
from .security import SESSION_COOKIE, RateLimiter, SecurityHeaders, cookie_secure, session_secret
from .staff import StaffPages


def _stylesheet(pages: Pages) -> Route:
    async def css(request: Request) -> Response:
        source = pages.env("en").loader.get_source(pages.env("en"), "web.css")[0]  # site folder first
        return Response(source, media_type="text/css; charset=utf-8", headers={"Cache-Control": "public, max-age=3600"})

    return Route("/static/web.css", css)


def create_app(settings: Settings, app: App | None = None) -> Starlette:
    """The web app. ``app``: an App to share (tests); by default one is made from ``settings``
    (its store opens on first use, so serving only the feeds needs no database)."""
    app = app or App(settings)
    web = settings.web
    feeds = FeedFiles(settings)
    pages = Pages(settings)
    limiter = RateLimiter(web.rate_window_seconds, {"subscribe": web.subscribe_rate})
    ctx = WebContext(app, pages, limiter, LoginLimiter(lambda: app.store, web))  # the store opens on first use
    public = PublicPages(ctx)
    routes = [*feeds.routes(), *ops.routes(app), _stylesheet(pages), *Api(ctx).routes(), *StaffPages(ctx).routes(),
              *Newsroom(ctx).routes(), *ArchivePages(ctx).routes(),
              *public.routes()]
    secure = cookie_secure(settings)
    middleware = [
        Middleware(SecurityHeaders, hsts=secure),
        Middleware(GZipMiddleware, minimum_size=500),
        Middleware(SessionMiddleware, secret_key=session_secret(settings), session_cookie=SESSION_COOKIE,
                   max_age=int(web.session_hours * 3600), same_site="lax", https_only=secure),
    ]

    async def not_found(request: Request, exc: Exception) -> Response:
        return public.not_found(request)

    web_app = Starlette(routes=routes, middleware=middleware, exception_handlers={404: not_found})
    web_app.router.redirect_slashes = False  # /x never redirects to /x/ (no surprise redirects)
    web_app.state.settings = settings
    web_app.state.feeds = feeds
    web_app.state.app = app
    web_app.state.limiter = limiter
    return web_app


def app_from_env() -> Starlette:
    """Settings from $PUBLISHER_SETTINGS / ./settings.toml (for ``uvicorn --factory``)."""
    return create_app(load_settings())
