"""What every group of routes shares: the service, the page renderer and the rate limits."""

from __future__ import annotations

from dataclasses import dataclass

from ..app import App
from .auth import LoginLimiter
from .pages import Pages
from .security import RateLimiter


@dataclass
class WebContext:
    app: App
    pages: Pages
    limiter: RateLimiter  # in memory: the subscribe form's limit per client address
    login_limiter: LoginLimiter  # in the store: shared by every web process on the database
