"""Signed, expiring tokens for confirm and unsubscribe links (itsdangerous, HMAC-SHA1/SHA512).

A token names the subscriber and its ``token_version``; bumping the version (re-subscribing)
revokes every older link. Confirm tokens expire; unsubscribe tokens do not (an unsubscribe
link in a year-old digest must still work).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..errors import PublisherError


class TokenError(PublisherError):
    pass


def load_secret(configured: str | None, var_dir: Path) -> str:
    """The configured secret (PUBLISHER_MAIL__SECRET_KEY), else one generated on first use
    and kept in var/secret.key (mode 0600): never in the repository or settings.toml."""
    if configured:
        return configured
    path = var_dir / "secret.key"
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    var_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key)
    return key


class Tokens:
    def __init__(self, secret: str):
        self._confirm = URLSafeTimedSerializer(secret, salt="publisher.confirm")
        self._unsubscribe = URLSafeTimedSerializer(secret, salt="publisher.unsubscribe")

    def confirm(self, subscriber_id: int, version: int) -> str:
        return self._confirm.dumps([subscriber_id, version])

    def unsubscribe(self, subscriber_id: int, version: int) -> str:
        return self._unsubscribe.dumps([subscriber_id, version])

    def read_confirm(self, token: str, max_age_seconds: float) -> tuple[int, int]:
        try:
            subscriber_id, version = self._confirm.loads(token, max_age=max_age_seconds)
        except SignatureExpired:
            raise TokenError("this confirmation link has expired; subscribe again to get a new one") from None
        except (BadSignature, ValueError, TypeError):
            raise TokenError("this confirmation link is not valid") from None
        return int(subscriber_id), int(version)

    def read_unsubscribe(self, token: str) -> tuple[int, int]:
        try:
            subscriber_id, version = self._unsubscribe.loads(token)
        except (BadSignature, ValueError, TypeError):
            raise TokenError("this unsubscribe link is not valid") from None
        return int(subscriber_id), int(version)
