"""`publisher translate compare` and the staff compare page: every engine that can run here
(an OpenAI-compatible server, LibreTranslate and Google on loopback, the real Apertium, the
pivot route apertium>libre) on one release, side by side; nothing stored."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from .openai_server import OpenAIServer, albanian_from_english
from .protocol_servers import ProtocolServer
from .test_cli import run
from .web_helpers import add_staff, client, login, make_web

ROOT = Path(__file__).resolve().parent.parent
CYRILLIC = re.compile(r"[\u0400-\u04FF]")


@pytest.fixture
def servers():
    libre, google, local = ProtocolServer("libre"), ProtocolServer("google"), OpenAIServer()
    # like a real LibreTranslate: no Macedonian, en→sq only
    libre.libre_languages = [{"code": "en", "name": "English", "targets": ["sq"]},
                             {"code": "sq", "name": "Albanian", "targets": ["en"]}]
    libre.translate = lambda text, src, tgt: albanian_from_english(text)
    yield libre, google, local
    for server in (libre, google, local):
        server.stop()


def settings_text(libre, google, local) -> str:
    quick = "max_retries = 0\nbackoff_seconds = 0\nrequests_per_second = 1000\n"
    return f"""
[translation]
online = false
chains = {{ en = ["apertium", "google"], sq = ["openai", "apertium>libre"] }}

[translation.engines.libre]
base_url = "{libre.url}/"
{quick}
[translation.engines.google]
base_url = "{google.url}/m"
{quick}
[translation.engines.openai]
base_url = "{local.url}"
model = "gemma3:12b"
timeout_seconds = 10
{quick}"""


@pytest.fixture
def web(site, servers):
    shutil.copy(ROOT / "glossary.toml", site.dir / "glossary.toml")
    site.drop_sample()
    app, web_app = make_web(site, settings_text(*servers))
    app.ingest()
    add_staff(app)
    [release] = app.store.list_releases()
    with client(web_app) as c:
        yield app, c, release
    app.close()


def compare(site, release, lang):
    code, out, err = run("translate", "compare", str(release.id), "--lang", lang, "--json", settings=site.settings_file)
    assert code == 0, err
    return json.loads(out)


def stored_state(app):
    return ([(t.release_id, t.lang) for t in app.store.list_translations()], app.store.memory_stats())


def test_compare_sq_names_every_engine_with_outputs_checks_time_and_usage(web, site, servers):
    app, _, release = web
    libre, google, local = servers
    before = stored_state(app)
    data = compare(site, release, "sq")
    engines = {e["name"]: e for e in data["engines"]}
    assert data["stored"] is False and data["chain"] == ["openai", "apertium>libre"]
    assert [e["name"] for e in data["engines"]][:3] == ["openai", "apertium>libre", "google"]  # chain order first
    assert len(data["original"]["paragraphs"]) == len(release.paragraphs) > 1
    for name in ("openai", "apertium>libre"):
        e = engines[name]
        assert e["runs"] and e["status"] == "accepted", e
        assert e["qa_ok"] and {c["name"] for c in e["qa"] if c["ok"]} >= {"no-cyrillic", "numbers", "glossary"}
        assert isinstance(e["seconds"], float) and e["seconds"] > 0
        assert len(e["paragraphs"]) == len(release.paragraphs)
        for para, source in zip(e["paragraphs"], release.paragraphs):
            assert para["source"] == source and para["output"] and not CYRILLIC.search(para["output"])
            assert {c["name"] for c in para["qa"]} >= {"not-empty", "no-cyrillic", "numbers"}
    assert engines["openai"]["usage"]["requests"] >= 1 and engines["openai"]["usage"]["total_tokens"] > 0 and "tokens" in engines["openai"]["cost"]
    assert engines["apertium>libre"]["usage"] == {}  # neither hop reports usage
    assert "self-hosted at 127.0.0.1" in engines["openai"]["where"]
    # the Google test server leaves unknown Macedonian words: its output is shown, with the failed check
    g = engines["google"]
    assert g["runs"] and g["status"] == "quality check failed" and not g["qa_ok"]
    assert "no-cyrillic" in g["error"] and g["paragraphs"] and g["title"]["output"].startswith("SQ: ")
    assert any(not c["ok"] and c["name"] == "no-cyrillic" for p in g["paragraphs"] for c in p["qa"])
    # the ones that cannot run here say why
    assert not engines["libre"]["runs"] and "does not translate mk→sq" in engines["libre"]["reason"]
    assert not engines["apertium"]["runs"] and "does not translate mk→sq" in engines["apertium"]["reason"]
    assert "online engines are off here" in engines["deepl"]["reason"]
    assert engines["mymemory"]["status"] == "cannot run"
    assert local.completions() and libre.calls("/translate") and google.requests
    assert stored_state(app) == before == ([], [])  # no translation, no memory


def test_compare_en_with_the_real_apertium(web, site):
    app, _, release = web
    data = compare(site, release, "en")
    engines = {e["name"]: e for e in data["engines"]}
    apertium = engines["apertium"]
    assert apertium["runs"] and apertium["where"].startswith("apertium mk→en in this process")
    assert apertium["status"] in ("accepted", "quality check failed")
    assert len(apertium["paragraphs"]) == len(release.paragraphs)
    assert "border" in " ".join(p["output"] for p in apertium["paragraphs"]).lower()
    assert apertium["usage"] == {} and apertium["cost"] == ""  # Apertium reports no usage
    assert engines["openai"]["runs"]  # the local model does en too
    assert stored_state(app) == ([], [])


def test_an_engine_answering_500_shows_its_error_and_the_others_still_run(web, site, servers):
    app, _, release = web
    _, _, local = servers
    local.mode = "500"
    data = compare(site, release, "sq")
    engines = {e["name"]: e for e in data["engines"]}
    broken = engines["openai"]
    assert broken["runs"] and broken["status"] == "failed" and "500" in broken["error"]
    assert broken["paragraphs"] == [] and broken["title"] is None and local.completions()
    assert engines["apertium>libre"]["status"] == "accepted" and engines["google"]["title"] is not None
    assert stored_state(app) == ([], [])


def test_compare_refuses_the_release_language_and_unknown_releases(web, site):
    _, _, release = web
    code, _, err = run("translate", "compare", str(release.id), "--lang", "mk", settings=site.settings_file)
    assert code != 0 and "compare engines for en, sq" in err
    code, _, err = run("translate", "compare", "999999", "--lang", "sq", settings=site.settings_file)
    assert code != 0 and "no release '999999'" in err


def test_compare_text_output(web, site):
    _, _, release = web
    code, out, _ = run("translate", "compare", str(release.id), "--lang", "sq", settings=site.settings_file)
    assert code == 0
    assert "apertium>libre" in out and "accepted" in out and "nothing was stored" in out


def test_staff_compare_page(web, servers):
    app, c, release = web
    path = f"/staff/releases/{release.id}/compare?lang=sq"
    response = c.get(path)
    assert response.status_code == 303 and response.headers["location"].startswith("/staff/login?next=")
    assert login(c).status_code == 303
    review = c.get(f"/staff/releases/{release.id}/sq")
    assert f'href="/staff/releases/{release.id}/compare?lang=sq"' in review.text
    page = c.get(path)
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    assert 'id="compare"' in page.text and 'id="engines"' in page.text
    for name in ("openai", "apertium&gt;libre", "google", "deepl"):
        assert f"<th>{name}</th>" in page.text or f"<td>{name}</td>" in page.text, name
    assert "does not translate mk→sq" in page.text and "QA ok" in page.text and "no-cyrillic" in page.text
    assert release.paragraphs[1][:30] in page.text
    assert stored_state(app) == ([], [])
    assert c.get(f"/staff/releases/{release.id}/compare?lang=mk").status_code == 404
    assert c.get("/staff/releases/999999/compare?lang=sq").status_code == 404
