"""Staff authentication: the login limit, password checks and server-side sessions, shared by
the staff pages (staff.py) and the JSON API (api.py).

Login policy (docs/web.md):
- Before any password is looked at, the account and the client address are checked against the
  limit: while either is locked, the answer is 429 with Retry-After, even for the right password,
  so a guesser learns nothing from an answer given during a lockout.
- Only failures count. After ``[web] login_rate`` failures of one account, or
  ``login_address_rate`` failures from one address, the key is locked for
  ``login_backoff_seconds``; each further failure (one try per lockout) doubles it, up to
  ``login_backoff_max_seconds``. A key is forgotten ``rate_window_seconds`` after its last
  failure or lockout.
- The counts live in the store (``login_attempts``), so every web process on the database
  shares them.
- The client address is the socket's (uvicorn believes X-Forwarded-For only from
  ``[web] forwarded_allow_ips``; see publisher.web.options.uvicorn_options).

Sessions: the signed cookie carries a random token; the store keeps its sha256 with the user
and an expiry. Logout, a password change and ``publisher users disable`` delete the rows of
the user, which ends every session of that user at once (a replayed cookie opens nothing).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import secrets
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from ..store.schema import utcnow
from .security import burn_time, hash_password, needs_rehash, verify_password

if TYPE_CHECKING:
    from ..store.users import StaffUser
    from .options import WebSettings

ACCOUNT, ADDRESS = "account:", "address:"


class LoginLimiter:
    """The login limit, stored in the store (several web processes share it)."""

    def __init__(self, store: Any, options: WebSettings, clock: Callable[[], dt.datetime] = utcnow):
        """``store``: a Store, or a function returning it (the app's store opens on first use)."""
        self._store, self.options, self.clock = store, options, clock

    @property
    def store(self) -> Any:
        return self._store() if callable(self._store) else self._store

    @staticmethod
    def keys(name: str, address: str) -> list[str]:
        return [ACCOUNT + name.strip()[:64], ADDRESS + address[:64]]

    def retry_after(self, name: str, address: str) -> int | None:
        """Seconds until the account and the address may try again; None when both may now."""
        now = self.clock()
        until = self.store.login_locked_until(self.keys(name, address), now)
        return max(1, math.ceil((until - now).total_seconds())) if until is not None else None

    def failed(self, name: str, address: str) -> None:
        options = self.options

        def lock_for(key: str, failures: int) -> float:
            limit = options.login_rate if key.startswith(ACCOUNT) else options.login_address_rate
            if failures < limit:
                return 0.0
            return min(options.login_backoff_max_seconds,
                       options.login_backoff_seconds * 2.0 ** min(failures - limit, 40))

        self.store.record_login_failure(self.keys(name, address), self.clock(), lock_for,
                                        options.rate_window_seconds)


def client_address(request: Request) -> str:
    """The socket's peer, or the client a trusted proxy named (uvicorn sets it)."""
    return request.client.host if request.client else "unknown"


def check_password(app: Any, name: str, password: str) -> StaffUser | None:
    """The active user with this name and password, else None (an unknown name takes as long)."""
    name = name.strip()
    user = app.store.get_staff_user(name) if name and len(name) <= 64 else None
    if user is None or not user.active:
        burn_time(password)
        return None
    if not verify_password(user.password_hash, password):
        return None
    if needs_rehash(user.password_hash):
        user = app.store.update_staff_user(user.id, password_hash=hash_password(password))
    app.store.update_staff_user(user.id, logged_in=True)
    return user


def attempt_login(app: Any, limiter: LoginLimiter, name: str, password: str,
                  address: str) -> tuple[StaffUser | None, int | None]:
    """(user, None) on success; (None, seconds) while limited (the password was not checked);
    (None, None) for a wrong name or password (counted)."""
    wait = limiter.retry_after(name, address)
    if wait is not None:
        return None, wait
    user = check_password(app, name, password)
    if user is None:
        limiter.failed(name, address)
    return user, None


# --------------------------------------------------------------------------- sessions
def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(app: Any, request: Request, user: StaffUser) -> None:
    """A new session for ``user`` (a new cookie content and CSRF token: no fixation)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    app.store.add_staff_session(_hash(token), user.id, now + dt.timedelta(hours=app.settings.web.session_hours),
                                now=now)
    request.session.clear()
    request.session["sid"] = token


def session_user(app: Any, request: Request) -> StaffUser | None:
    token = request.session.get("sid")
    if not isinstance(token, str) or not token or len(token) > 128:
        return None
    return app.store.staff_session_user(_hash(token))


def end_sessions(app: Any, request: Request) -> None:
    """Logout: every session of the logged-in user ends, then this cookie is emptied."""
    user = session_user(app, request)
    if user is not None:
        app.store.end_staff_sessions(user.id)
    request.session.clear()
