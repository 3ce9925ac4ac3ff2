"""Settings of the web app: ``[web]`` in settings.toml."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr

from ..config_types import Section


class WebSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    # addresses of reverse proxies whose X-Forwarded-For/-Proto uvicorn believes (client IPs for rate limits)
    forwarded_allow_ips: list[str] = []
    # signs the session cookie; PUBLISHER_WEB__SESSION_SECRET. Unset: derived from the mail secret
    session_secret: SecretStr | None = None
    session_hours: float = Field(12.0, gt=0, le=24 * 30)  # a staff login lasts this long
    cookie_secure: Literal["auto", "always", "never"] = "auto"  # auto: Secure when site.base_url is https
    rate_window_seconds: float = Field(600.0, gt=0, le=86_400)
    subscribe_rate: int = Field(5, ge=1, le=100_000)  # subscribe attempts per client IP per window
    login_rate: int = Field(10, ge=1, le=100_000)  # login attempts per client IP per window
