"""Signed, expiring tokens for confirm and unsubscribe links (itsdangerous, HMAC-SHA1/SHA512).

A token names the subscriber, its ``token_version`` (the subscription's generation: bumped
when someone who had left subscribes again) and a short hash of the address (so a link can
never open another person's subscription, even if a database hands an erased row's id to a
new subscriber). :func:`check_link` verifies all three on use and tells the pages which case
they have: the current link, an outdated one (the person subscribed again since), a staff
test message (subscriber 0: no subscription behind it), or nobody (erased). Confirm tokens
expire; unsubscribe tokens do not (an unsubscribe link in a year-old digest must still work).
Tokens made before the address hash was added (two fields) are still read.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..errors import PublisherError


class TokenError(PublisherError):
    pass


TEST_SUBSCRIBER = 0  # the subscriber id in the links of a staff test message (no subscription)


def address_tag(email: str) -> str:
    return hashlib.sha256(email.strip().lower().encode("utf-8")).hexdigest()[:10]


@dataclass(frozen=True)
class LinkToken:
    subscriber_id: int
    version: int
    tag: str | None  # address hash; None in tokens made before it existed


class LinkState(StrEnum):
    CURRENT = "current"  # the subscriber's own, current link
    OUTDATED = "outdated"  # from before the person subscribed again: it changes nothing
    TEST = "test"  # a staff test message: no subscription behind it
    GONE = "gone"  # no such subscriber (erased)
    INVALID = "invalid"  # not a token of ours


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

    def unsubscribe(self, subscriber_id: int, version: int, email: str | None = None) -> str:
        """The token of the preferences and unsubscribe links (``email``: bind it to the address)."""
        if email is None:
            return self._unsubscribe.dumps([subscriber_id, version])
        return self._unsubscribe.dumps([subscriber_id, version, address_tag(email)])

    def test_link(self) -> str:
        """The links' token in a staff test message: answered by a "this was a test" page."""
        return self._unsubscribe.dumps([TEST_SUBSCRIBER, 0])

    def read_confirm(self, token: str, max_age_seconds: float) -> tuple[int, int]:
        try:
            subscriber_id, version = self._confirm.loads(token, max_age=max_age_seconds)
        except SignatureExpired:
            raise TokenError("this confirmation link has expired; subscribe again to get a new one") from None
        except (BadSignature, ValueError, TypeError):
            raise TokenError("this confirmation link is not valid") from None
        return int(subscriber_id), int(version)

    def read_unsubscribe(self, token: str) -> tuple[int, int]:
        link = self.read_link(token)
        return link.subscriber_id, link.version

    def read_link(self, token: str) -> LinkToken:
        try:
            fields = self._unsubscribe.loads(token)
            if not isinstance(fields, list) or len(fields) not in (2, 3):
                raise ValueError(fields)
            tag = str(fields[2]) if len(fields) == 3 else None
            return LinkToken(int(fields[0]), int(fields[1]), tag)
        except (BadSignature, ValueError, TypeError):
            raise TokenError("this unsubscribe link is not valid") from None


def check_link(tokens: Tokens, token: str, lookup: Callable[[int], Any]) -> tuple[LinkState, Any]:
    """Which case a preferences/unsubscribe link is, verified against the store: (state,
    subscriber). ``lookup``: subscriber id → Subscriber or None. The subscriber is returned for
    CURRENT and OUTDATED (the person behind the link now), else None."""
    try:
        link = tokens.read_link(token)
    except TokenError:
        return LinkState.INVALID, None
    if link.subscriber_id == TEST_SUBSCRIBER:
        return LinkState.TEST, None
    subscriber = lookup(link.subscriber_id)
    if subscriber is None or (link.tag is not None and link.tag != address_tag(subscriber.email)):
        return LinkState.GONE, None
    if subscriber.token_version != link.version:
        return LinkState.OUTDATED, subscriber
    return LinkState.CURRENT, subscriber
