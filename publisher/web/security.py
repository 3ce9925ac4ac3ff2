"""Sessions, CSRF, passwords, rate limits, security headers, safe redirects."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from starlette.datastructures import MutableHeaders
from starlette.requests import Request

from ..delivery.tokens import load_secret

if TYPE_CHECKING:
    from ..settings import Settings

SESSION_COOKIE = "publisher_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_hasher = PasswordHasher()

# Pages: nothing from elsewhere, no inline script or style, never framed.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; frame-src 'self'; base-uri 'none'; object-src 'none'")
# The feeds' index page carries its own <style> block (it is also a static file).
CSP_FEEDS = CSP.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
# An e-mail shown in the staff digest preview: inline styles, images from anywhere, no script.
CSP_EMAIL = "default-src 'none'; style-src 'unsafe-inline'; img-src * data:; frame-ancestors 'self'; sandbox"


# --------------------------------------------------------------------------- passwords
def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    try:
        return _hasher.check_needs_rehash(stored_hash)
    except InvalidHashError:
        return False


_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def burn_time(password: str) -> None:
    """Verify against a dummy hash: an unknown user name takes as long as a wrong password."""
    verify_password(_DUMMY_HASH, password)


def generate_password() -> str:
    return secrets.token_urlsafe(15)


# --------------------------------------------------------------------------- sessions and CSRF
def session_secret(settings: Settings) -> str:
    """[web] session_secret, else derived (HMAC) from the mail secret that signs subscriber links,
    so one secret in the environment (or var/secret.key) covers both without reusing it as is."""
    if settings.web.session_secret:
        return settings.web.session_secret.get_secret_value()
    configured = settings.mail.secret_key.get_secret_value() if settings.mail.secret_key else None
    base = load_secret(configured, settings.base_dir / "var")
    return hmac.new(base.encode(), b"publisher.web.session", hashlib.sha256).hexdigest()


def cookie_secure(settings: Settings) -> bool:
    mode = settings.web.cookie_secure
    return mode == "always" or (mode == "auto" and settings.site.base_url.startswith("https://"))


def csrf_token(request: Request) -> str:
    """The session's CSRF token (made on first use)."""
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def csrf_ok(request: Request, submitted: str | None) -> bool:
    expected = request.session.get("csrf")
    return bool(expected and submitted) and hmac.compare_digest(str(expected), str(submitted))


def same_origin(request: Request, base_url: str) -> bool:
    """A browser's Origin (when it sends one) must be this site: the public address or the host asked."""
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    allowed = {base_url.rstrip("/"), f"{request.url.scheme}://{request.headers.get('host', '')}"}
    return origin.rstrip("/") in allowed


def safe_next(value: str | None, default: str = "/staff/") -> str:
    """Only a local path under /staff/: never another host (//evil, /\\evil, https://…)."""
    if not value or not value.startswith("/staff") or value.startswith("//") or "\\" in value:
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or any(ord(c) < 32 for c in value):
        return default
    return value


# --------------------------------------------------------------------------- rate limits
class RateLimiter:
    """Sliding window per (bucket, client) in memory (one web process; reset on restart)."""

    def __init__(self, window_seconds: float, limits: dict[str, int], clock: Any = time.monotonic):
        self.window, self.limits, self.clock = window_seconds, dict(limits), clock
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, bucket: str, client: str) -> float | None:
        """Count one attempt; None when allowed, else the seconds until the next one is."""
        now = self.clock()
        with self._lock:
            hits = self._hits.setdefault((bucket, client), deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            if len(hits) >= self.limits[bucket]:
                return max(1.0, hits[0] + self.window - now)
            hits.append(now)
            if len(self._hits) > 50_000:  # forget idle clients
                for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - self.window]:
                    del self._hits[key]
            return None


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# --------------------------------------------------------------------------- headers
class SecurityHeaders:
    """Pure ASGI middleware: headers every response gets (a route may set its own CSP)."""

    def __init__(self, app: Any, hsts: bool = False):
        self.app, self.hsts = app, hsts

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")

        async def send_with_headers(message: dict) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if "content-security-policy" not in headers:
                    headers["Content-Security-Policy"] = CSP_FEEDS if path.startswith("/feeds/") else CSP
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault("X-Frame-Options", "DENY" if "frame-ancestors 'none'" in
                                   headers["content-security-policy"] else "SAMEORIGIN")
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
                if self.hsts:
                    headers.setdefault("Strict-Transport-Security", "max-age=31536000")
                if path.startswith(("/staff", "/api/")) or "set-cookie" in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)
