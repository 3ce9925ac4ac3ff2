"""Every kind of message we send passes ../shared/checks/check_email.sh: SpamAssassin's local
rules (score < 1.0), MIME structure, RFC 8058 unsubscribe headers and a DKIM signature that
verifies against the public key (no DNS)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from .conftest import SHARED
from .email_helpers import claim_one, make_dkim_key, make_renderer, seed, subscriber

CHECK = SHARED / "checks" / "check_email.sh"
SPAM_MAX = "1.0"


@pytest.fixture(scope="module")
def dkim_key(tmp_path_factory) -> tuple[Path, Path]:
    private, txt, _ = make_dkim_key(tmp_path_factory.mktemp("dkim"))
    return private, txt


def messages(store, tmp_path: Path, key: Path | None) -> dict[str, tuple[str, bytes]]:
    """name → (expected language, message bytes) for every kind of message."""
    releases = seed(store)
    renderer = make_renderer(store, tmp_path, dkim_key=key)
    ids = [r.id for r in releases.values()]
    out: dict[str, tuple[str, bytes]] = {}
    pending = subscriber(store, "new@example.org", "sq", confirmed=False)
    out["confirm-sq"] = ("sq", renderer.render(claim_one(store, f"confirm:{pending.id}:1", "confirm", "sq", {},
                                                         pending)).data)
    for lang in ("mk", "en", "sq"):
        sub = subscriber(store, f"reader.{lang}@example.org", lang)
        payload = {"releases": ids, "period": "2026-11-29", "frequency": "daily"}
        row = claim_one(store, f"digest:daily:{lang}:2026-11-29", "digest", lang, payload, sub)
        out[f"digest-{lang}"] = (lang, renderer.render(row).data)
    weekly = subscriber(store, "weekly.mk@example.org", "mk")
    row = claim_one(store, "digest:weekly:mk:2026-W48", "digest", "mk",
                    {"releases": ids, "period": "2026-W48", "frequency": "weekly"}, weekly)
    out["digest-weekly-mk"] = ("mk", renderer.render(row).data)
    immediate = subscriber(store, "now.sq@example.org", "sq")
    r1 = releases["r1"]
    row = claim_one(store, f"release:{r1.uid}:sq", "release", "sq", {"release": r1.id}, immediate)
    out["release-sq"] = ("sq", renderer.render(row).data)
    row = claim_one(store, "test:staff:1", "test", "en", {}, None, recipient="staff@example.org")
    out["test-en"] = ("en", renderer.render(row).data)
    return out


def run_check(path: Path, lang: str, pubkey: Path | None) -> tuple[int, str]:
    env = dict(os.environ, EXPECT_LANG=lang, SPAM_MAX=SPAM_MAX)
    env.pop("DKIM_PUBKEY", None)
    env.pop("DKIM_REQUIRED", None)
    if pubkey is not None:
        env.update(DKIM_PUBKEY=str(pubkey), DKIM_REQUIRED="1")
    result = subprocess.run(["bash", str(CHECK), str(path)], capture_output=True, text=True, env=env, timeout=600,
                            check=False)
    return result.returncode, result.stdout + result.stderr


def test_every_kind_of_message_passes_the_checks_signed(store, tmp_path, dkim_key):
    private, pubkey = dkim_key
    scores = {}
    for name, (lang, data) in messages(store, tmp_path, private).items():
        path = tmp_path / f"{name}.eml"
        path.write_bytes(data)
        code, output = run_check(path, lang, pubkey)
        assert code == 0, f"{name}:\n{output}"
        assert "VERDICT: PASS" in output and "dkim: PASS" in output and "unsubscribe: PASS" in output, output
        assert f"language={lang}" in output
        score = float(re.search(r"spamassassin: PASS score=(-?[\d.]+)", output).group(1))
        assert score < float(SPAM_MAX)
        scores[name] = score
    print("SpamAssassin scores (signed):", scores)


def test_unsigned_messages_pass_without_dkim(store, tmp_path):
    for name, (lang, data) in messages(store, tmp_path, None).items():
        if not name.startswith(("digest-sq", "confirm")):
            continue
        path = tmp_path / f"{name}.eml"
        path.write_bytes(data)
        code, output = run_check(path, lang, None)
        assert code == 0, f"{name}:\n{output}"
        assert "dkim: SKIP" in output
