"""The web app (ASGI, Starlette): feeds, public subscription and release pages, staff pages,
JSON API, health and metrics. ``create_app`` is imported lazily, so ``publisher.settings`` can
import ``publisher.web.options`` without pulling in the whole app."""

from typing import Any

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    raise AttributeError(name)
