"""Settings of the web app: ``[web]`` in settings.toml."""

from __future__ import annotations

import ipaddress
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator

from ..config_types import Section


class WebSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=1, le=65535)
    # reverse proxies (addresses or networks) whose X-Forwarded-For/-Proto are believed; none by default:
    # the client address is the socket's
    forwarded_allow_ips: list[str] = []
    # signs the session cookie; PUBLISHER_WEB__SESSION_SECRET. Unset: derived from the mail secret
    session_secret: SecretStr | None = None
    session_hours: float = Field(12.0, gt=0, le=24 * 30)  # a staff login lasts this long
    cookie_secure: Literal["auto", "always", "never"] = "auto"  # auto: Secure when site.base_url is https
    rate_window_seconds: float = Field(600.0, gt=0, le=86_400)
    subscribe_rate: int = Field(5, ge=1, le=100_000)  # subscribe attempts per client IP per window
    login_rate: int = Field(10, ge=1, le=100_000)  # failed logins per account before it is locked
    login_address_rate: int = Field(30, ge=1, le=100_000)  # failed logins per client address before it is locked
    login_backoff_seconds: float = Field(60.0, gt=0, le=86_400)  # the first lockout; each failure after doubles it
    login_backoff_max_seconds: float = Field(3600.0, gt=0, le=7 * 86_400)  # the longest lockout

    @field_validator("forwarded_allow_ips")
    @classmethod
    def _proxy_addresses(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network; list the addresses of your reverse "
                                 "proxies (e.g. \"127.0.0.1\" or \"10.0.0.0/8\"); \"*\" is refused, it would let "
                                 "every client choose its own address") from None
        return [entry.strip() for entry in value]


def uvicorn_options(web: WebSettings) -> dict[str, Any]:
    """How uvicorn treats proxy headers, for every way this project starts it (``publisher web``
    and ``publisher run``): believed only from ``[web] forwarded_allow_ips``. Passed explicitly
    so uvicorn's own default (trust loopback, or $FORWARDED_ALLOW_IPS) never applies."""
    return {"proxy_headers": bool(web.forwarded_allow_ips), "forwarded_allow_ips": list(web.forwarded_allow_ips)}
