"""Signed confirm/unsubscribe tokens and the generated secret."""

from __future__ import annotations

import stat

import pytest
from itsdangerous import URLSafeTimedSerializer

from publisher.delivery.tokens import TokenError, Tokens, load_secret


def test_round_trip_and_tampering():
    tokens = Tokens("s3cret")
    assert tokens.read_confirm(tokens.confirm(7, 2), 3600) == (7, 2)
    assert tokens.read_unsubscribe(tokens.unsubscribe(7, 2)) == (7, 2)
    token = tokens.unsubscribe(7, 2)
    with pytest.raises(TokenError, match="not valid"):
        tokens.read_unsubscribe(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1])
    with pytest.raises(TokenError, match="not valid"):
        Tokens("other").read_unsubscribe(token)
    with pytest.raises(TokenError, match="not valid"):  # a confirm token is no unsubscribe token
        tokens.read_unsubscribe(tokens.confirm(7, 2))


def test_confirm_tokens_expire():
    old = URLSafeTimedSerializer("s3cret", salt="publisher.confirm")
    import time

    token = old.dumps([1, 1])
    time.sleep(1.1)
    with pytest.raises(TokenError, match="expired"):
        Tokens("s3cret").read_confirm(token, max_age_seconds=0)  # itsdangerous counts whole seconds


def test_secret_from_settings_or_generated_once(tmp_path):
    assert load_secret("configured", tmp_path) == "configured"
    first = load_secret(None, tmp_path / "var")
    assert len(first) > 40 and load_secret(None, tmp_path / "var") == first
    assert stat.S_IMODE((tmp_path / "var" / "secret.key").stat().st_mode) == 0o600
