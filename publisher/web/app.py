"""ASGI app factory. ``uvicorn --factory 'publisher.web.app:app_from_env'`` runs it."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware

from ..settings import Settings, load_settings
from .feeds import FeedFiles


def create_app(settings: Settings) -> Starlette:
    """The web app: for now the feeds, the OPML file and the feeds' index page (gzip on request)."""
    feeds = FeedFiles(settings)
    app = Starlette(routes=feeds.routes(), middleware=[Middleware(GZipMiddleware, minimum_size=500)])
    app.state.settings = settings
    app.state.feeds = feeds
    return app


def app_from_env() -> Starlette:
    """Settings from $PUBLISHER_SETTINGS / ./settings.toml (for ``uvicorn --factory``)."""
    return create_app(load_settings())
