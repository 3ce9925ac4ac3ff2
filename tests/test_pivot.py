"""Pivot routes ("apertium>libre"): Macedonian → English with the real Apertium, English →
Albanian with the LibreTranslate test server on loopback, offline (both run here)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from publisher.app import App
from publisher.feeds.stage import build_feeds
from publisher.models import TranslationStatus
from publisher.translate.stage import translate_pending, translate_release

from .openai_server import OpenAIServer, albanian_from_english
from .protocol_servers import ProtocolServer

ROOT = Path(__file__).resolve().parent.parent
CYRILLIC = re.compile(r"[\u0400-\u04FF]")


@pytest.fixture
def servers():
    libre, local = ProtocolServer("libre"), OpenAIServer()
    libre.translate = lambda text, src, tgt: albanian_from_english(text)
    local.translate = albanian_from_english
    yield libre, local
    libre.stop()
    local.stop()


@pytest.fixture
def app(site, servers):
    libre, local = servers
    shutil.copy(ROOT / "glossary.toml", site.dir / "glossary.toml")
    site.write(extra=f"""
[translation]
online = false
chains = {{ en = ["apertium"], sq = ["apertium>libre", "apertium>openai"] }}

[translation.engines.libre]
base_url = "{libre.url}/"
max_retries = 0
backoff_seconds = 0
requests_per_second = 1000

[translation.engines.openai]
base_url = "{local.url}"
model = "gemma3:12b"
timeout_seconds = 10
""")
    site.drop_sample()
    application = App(site.settings())
    application.settings.site.target_languages = ["sq"]
    application.ingest()
    yield application
    application.close()


def test_pivot_through_english_records_both_engines_and_keeps_the_english(app, servers, site):
    libre, local = servers
    report = translate_pending(app.translation)
    assert report.translated == {"apertium>libre": 1}, report.as_dict()
    [release] = app.store.list_releases()
    sq = app.store.get_translation(release.id, "sq")
    assert sq.status is TranslationStatus.MACHINE and sq.engine == "apertium>libre" and sq.machine
    text = sq.title + "\n" + sq.body
    assert not CYRILLIC.search(text) and "XGLX" not in text
    assert "Organizata Ndërkombëtare për Migracion" in text and "menaxhimi i kufijve" in text  # sq renderings
    assert {c["name"] for c in sq.qa if c["ok"]} >= {"no-cyrillic", "language", "numbers", "glossary"}
    sent = libre.calls("/translate")
    assert sent and local.completions() == []
    texts = []
    for request in sent:  # the second hop gets Apertium's English, with the placeholders
        fields = request.json or {k: v[0] for k, v in {**request.form, **request.args}.items()}
        assert (fields["source"], fields["target"]) == ("en", "sq")
        texts.append(fields["q"])
    assert not any(CYRILLIC.search(q) for q in texts) and any("XGLX" in q for q in texts)
    assert any("border police" in q for q in texts)  # English, as Apertium made it
    memory = {m["engine"]: m for m in app.store.memory_stats()}
    assert memory["apertium"]["pair"] == "mk-en" and memory["apertium"]["segments"] > 0  # the English is kept
    # the feed's note says how it was made
    build_feeds(app.settings, app.store)
    atom = (app.settings.feeds.output_dir / app.settings.feeds.path("atom", "sq")).read_text(encoding="utf-8")
    assert "Përkthim automatik nga maqedonishtja përmes anglishtes." in atom
    from publisher.web.actions import preview_digest

    digest = preview_digest(app, "sq")  # the e-mail says so too
    assert "Përkthim automatik nga maqedonishtja përmes anglishtes." in " ".join(digest["text"].split())
    from .web_helpers import client, make_web

    web_app, web = make_web(site)
    page = client(web).get(f"/releases/{release.uid}/sq")  # and the release page
    web_app.close()
    assert page.status_code == 200 and "Përkthim automatik nga maqedonishtja përmes anglishtes." in page.text

    # staff change the Albanian engine: the new route reuses Apertium's English from memory
    app.translation.options.chains["sq"] = ["apertium>openai"]
    calls_before, libre_before = app.translation.stats["apertium.calls"], len(libre.requests)
    assert calls_before > 0
    again, _, _ = translate_release(app.translation, release, "sq", force=True)
    assert again.engine == "apertium>openai" and again.status is TranslationStatus.MACHINE
    assert app.translation.stats["apertium.calls"] == calls_before and len(libre.requests) == libre_before
    assert app.translation.stats["apertium.memory_hits"] > 0
    assert local.completions() and all(not CYRILLIC.search(c.user) for c in local.completions())
    assert "apertium>openai" in again.usage and again.usage["apertium>openai"]["requests"] >= 1


def test_a_route_that_cannot_run_says_which_hop(app, servers):
    libre, _ = servers
    app.settings.translation.chains["sq"] = ["apertium>deepl"]
    from publisher.translate.service import TranslationService

    service = TranslationService(app.settings, store=app.store)
    result = service.translate_texts(["Добро утро."], "mk", "sq")
    assert not result.ok and result.only_unavailable
    assert result.reason.startswith("apertium>deepl: unavailable: deepl: online engines are off here")
    service.close()


def test_config_check_lists_the_pivot_route(app, site):
    from .test_cli import run

    code, _, err = run("config", "check", settings=site.settings_file)
    assert "✓ can run apertium>libre: apertium mk→en in this process; libre en→sq self-hosted at 127.0.0.1" in err, err
