"""The Albanian path end to end: translate stage → service → deep-translator / DeepL adapters →
loopback servers speaking Google's and Microsoft's real protocols, with the repo's glossary."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from publisher.app import App
from publisher.models import TranslationStatus
from publisher.settings import load_settings
from publisher.translate.stage import translate_pending

from .protocol_servers import ProtocolServer

ROOT = Path(__file__).resolve().parent.parent


def albanian(text: str, src: str, tgt: str) -> str:
    """A deterministic 'translation' that reads as Albanian and keeps what must be kept."""
    keep = re.findall(r"XGLX\d+|\d+(?:[.,]\d+)*|https?://\S+", text)
    return ("Takimi rajonal i shefave të shërbimeve kufitare u zhvillua me pjesëmarrjen e delegacioneve "
            "të nivelit të lartë nga vendet " + " ".join(keep)).strip() + "."


@pytest.fixture
def servers():
    google, microsoft = ProtocolServer("google"), ProtocolServer("microsoft", api_key="test-key", region="westeurope")
    for server in (google, microsoft):
        server.translate = albanian
    yield google, microsoft
    google.stop()
    microsoft.stop()


@pytest.fixture
def app(site, servers, monkeypatch):
    google, microsoft = servers
    shutil.copy(ROOT / "glossary.toml", site.dir / "glossary.toml")
    site.write(extra=f"""
[translation]
online = true
chains = {{ en = ["apertium"], sq = ["google", "microsoft"] }}
max_attempts = 3

[translation.engines.google]
base_url = "{google.url}/m"
timeout_seconds = 1
max_retries = 1
backoff_seconds = 0
requests_per_second = 1000

[translation.engines.microsoft]
base_url = "{microsoft.url}/translate?api-version=3.0"
region = "westeurope"
timeout_seconds = 1
max_retries = 0
backoff_seconds = 0
requests_per_second = 1000
""")
    monkeypatch.setenv("PUBLISHER_TRANSLATION__ENGINES__MICROSOFT__API_KEY", "test-key")
    monkeypatch.delenv("PUBLISHER_SETTINGS", raising=False)
    site.drop_sample()
    application = App(load_settings(site.settings_file))
    application.settings.site.target_languages = ["sq"]
    application.ingest()
    yield application
    application.close()


def test_albanian_through_google_with_glossary_and_memory(app, servers):
    google, microsoft = servers
    report = translate_pending(app.translation)
    assert report.translated == {"google": 1} and report.failed == []
    [release] = app.store.list_releases()
    sq = app.store.get_translation(release.id, "sq")
    assert sq.status is TranslationStatus.MACHINE and sq.engine == "google" and len(sq.paragraphs) == 4
    text = sq.title + "\n" + sq.body
    assert "Organizata Ndërkombëtare për Migracion" in text and "IOM" in text and "WBCAP" in text
    assert "menaxhimi i kufijve" in text and "Ballkani Perëndimor" in text
    assert not re.search(r"[\u0400-\u04FF]", text) and "XGLX" not in text
    sent = google.calls("/m")
    assert sent and all(r.arg("sl") == "mk" and r.arg("tl") == "sq" for r in sent)
    assert all("ИОМ" not in r.arg("q") for r in sent)  # glossary terms never reach the engine
    assert microsoft.requests == []
    # the same release again (staff asks for a re-translation): every segment from memory
    before = len(google.requests)
    from publisher.translate.stage import translate_release

    again, hits, sent_now = translate_release(app.translation, release, "sq", engine="google", force=True)
    assert again.status is TranslationStatus.MACHINE and sent_now == 0 and hits > 0
    assert len(google.requests) == before


@pytest.mark.parametrize("mode", ["503", "slow", "malformed"])
def test_google_misbehaving_falls_back_to_microsoft(app, servers, mode):
    google, microsoft = servers
    google.mode = mode
    report = translate_pending(app.translation)
    assert report.translated == {"microsoft": 1}
    assert microsoft.calls("/translate") and microsoft.calls("/translate")[0].headers.get("Ocp-Apim-Subscription-Key") == "test-key"
    if mode == "503":
        assert len(google.calls("/m")) == 2  # one try + max_retries = 1, then the next engine


def test_every_engine_failing_is_recorded_honestly_and_retried(app, servers):
    google, microsoft = servers
    google.mode, microsoft.mode = "malformed", "403"
    report = translate_pending(app.translation)
    [(rid, lang, reason)] = report.failed
    assert lang == "sq" and "google: failed:" in reason and "malformed answer" in reason
    assert "microsoft: failed:" in reason and "PUBLISHER_TRANSLATION__ENGINES__MICROSOFT__API_KEY" in reason
    sq = app.store.get_translation(rid, "sq")
    assert sq.status is TranslationStatus.FAILED and sq.attempts == 1 and sq.title == ""
    google.mode = None
    assert translate_pending(app.translation).translated == {"google": 1}
    assert app.store.get_translation(rid, "sq").status is TranslationStatus.MACHINE
