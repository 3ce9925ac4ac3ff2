"""The web app (ASGI, Starlette). For now it serves the feeds; the staff and public pages come
in a later issue, which extends ``create_app``."""

from .app import create_app

__all__ = ["create_app"]
