"""The openai engine against a loopback server speaking OpenAI's chat completions protocol
(tests/openai_server.py), through the real translation service: requests as sent (model, key,
system/user split, glossary), replies parsed strictly, faults mapped to the service's retries,
circuit breaker and fallback (a self-hosted LibreTranslate test server), usage recorded."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import pytest

from publisher.settings import load_settings
from publisher.translate.engines import build_engine
from publisher.translate.glossary import Glossary
from publisher.translate.hosting import is_self_hosted, needs_online
from publisher.translate.service import TranslationService

from .openai_server import OpenAIServer
from .openai_server import translate as fake_albanian
from .protocol_servers import ProtocolServer

ROOT = Path(__file__).resolve().parent.parent
KEY_VAR = "PUBLISHER_TRANSLATION__ENGINES__OPENAI__API_KEY"
CYRILLIC = re.compile(r"[\u0400-\u04FF]")
TEXTS = [
    "ИОМ организираше состанок во Скопје за управувањето со границите.",
    "Меѓународната организација за миграции ја одржа средбата на 12 мај 2024 година. "
    "Учествуваа 25 делегации од регионот и партнерите.",
]
SEGMENTS = 3  # one sentence, then two


class Clock:
    def __init__(self):
        self.now, self.sleeps = 1000.0, []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


@pytest.fixture
def server():
    s = OpenAIServer(api_key="sk-test-123")
    yield s
    s.stop()


@pytest.fixture
def libre():
    s = ProtocolServer("libre")
    s.translate = lambda text, src, tgt: fake_albanian(text)
    yield s
    s.stop()


def make_settings(tmp_path, server, libre=None, extra="", environ=None, openai_extra=""):
    libre_url = libre.url if libre else "http://127.0.0.1:9/"
    path = tmp_path / "settings.toml"
    path.write_text(textwrap.dedent(f"""
        [site]
        name = "IOM North Macedonia"
        base_url = "http://127.0.0.1:8080"
        source_language = "mk"
        target_languages = ["sq"]

        [store]
        url = "sqlite:///{tmp_path}/unused.db"

        [translation]
        online = false
        chains = {{ sq = ["openai", "libre"] }}
        {extra}

        [translation.engines.openai]
        base_url = "{server.url}"
        model = "gemma3:12b"
        max_tokens = 512
        timeout_seconds = 2
        max_retries = 1
        backoff_seconds = 0
        requests_per_second = 1000
        {openai_extra}

        [translation.engines.libre]
        base_url = "{libre_url}"
        max_retries = 0
        backoff_seconds = 0
        requests_per_second = 1000
        """), encoding="utf-8")
    return load_settings(path, environ={KEY_VAR: "sk-test-123"} if environ is None else environ)


@pytest.fixture
def service(tmp_path, server, libre):
    clock = Clock()
    svc = TranslationService(make_settings(tmp_path, server, libre), glossary=Glossary.load(ROOT / "glossary.toml"),
                             clock=clock, sleep=clock.sleep)
    svc.clock = clock
    yield svc
    svc.close()


def albanian_ok(result):
    text = "\n".join(result.texts)
    assert not CYRILLIC.search(text) and "XGLX" not in text, text
    return text


def test_request_schema_system_user_split_and_glossary(service, server, libre):
    result = service.translate_texts(TEXTS, "mk", "sq")
    assert result.ok and result.engine == "openai", result.reason
    text = albanian_ok(result)
    assert "IOM" in text and "Organizata Ndërkombëtare për Migracion" in text and "menaxhimi i kufijve" in text
    assert "12" in text and "2024" in text and "25" in text
    [call] = server.completions()  # three segments, one batch
    assert call.headers["Authorization"] == "Bearer sk-test-123"
    assert call.json["model"] == "gemma3:12b" and call.json["temperature"] == 0 and call.json["max_tokens"] == 512
    assert [m["role"] for m in call.messages] == ["system", "user"]
    segments = call.batch
    assert segments is not None and len(segments) == SEGMENTS
    assert all(not any(form in s for form in ("ИОМ", "Меѓународната", "управувањето со")) for s in segments)
    assert "XGLX1" in segments[0] and "12 мај 2024" in segments[1]
    assert "Macedonian (mk)" in call.system and "Albanian (sq)" in call.system and "press release" in call.system
    assert "Keep placeholders" in call.system and "numbers" in call.system and "names" in call.system
    assert "“ИОМ” → “IOM”" in call.system
    assert "→ “Organizata Ndërkombëtare për Migracion”" in call.system and "→ “menaxhimi i kufijve”" in call.system
    assert f"JSON array of exactly {SEGMENTS} strings" in call.system
    assert "Скопје" not in call.system and call.user == json.dumps(segments, ensure_ascii=False)
    assert libre.calls("/translate") == []
    reported = json.loads(call.body)  # what the server answered is what the service counted
    assert result.usage["openai"]["requests"] == 1 and result.usage["openai"]["total_tokens"] > 0
    assert reported["messages"] and "libre" not in result.usage


def test_one_segment_is_sent_as_plain_text(service, server):
    result = service.translate_texts(["Добро утро, Скопје."], "mk", "sq")
    assert result.texts == ["Mirë mëngjes, Shkup."]
    [call] = server.completions()
    assert call.user == "Добро утро, Скопје." and call.batch is None
    assert "Reply with the translation only" in call.system


def test_no_key_sends_no_authorization(tmp_path, libre, monkeypatch):
    open_server = OpenAIServer()  # a local server that needs no key
    for name, value in (("OPENAI_API_KEY", "sk-not-ours"), ("OPENAI_BASE_URL", "http://127.0.0.1:9/v1"),
                        ("OPENAI_ORG_ID", "org-not-ours"), ("OPENAI_PROJECT_ID", "proj-not-ours")):
        monkeypatch.setenv(name, value)  # the client's own variables are not used
    try:
        svc = TranslationService(make_settings(tmp_path, open_server, libre, environ={}), glossary=Glossary.empty())
        assert svc.translate_texts(["Добро утро."], "mk", "sq").engine == "openai"
        [call] = open_server.completions()
        assert "Authorization" not in call.headers and "OpenAI-Organization" not in call.headers
        svc.close()
    finally:
        open_server.stop()


def test_site_instructions_replace_and_extend_the_prompt(tmp_path, server, libre):
    settings = make_settings(tmp_path, server, libre, openai_extra=(
        'system_prompt = "Render this {source} news text in {target} for the Skopje office."\n'
        'extra_instructions = "Write ministry names in full."'))
    svc = TranslationService(settings, glossary=Glossary.load(ROOT / "glossary.toml"))
    assert svc.translate_texts(["ИОМ денес."], "mk", "sq").engine == "openai"
    [call] = server.completions()
    assert call.system.startswith("Render this Macedonian (mk) news text in Albanian (sq) for the Skopje office.")
    assert "press release" not in call.system and call.system.rstrip().endswith("Write ministry names in full.")
    assert "Keep placeholders" in call.system and "“ИОМ” → “IOM”" in call.system  # always added
    assert call.user == "XGLX1 денес."
    svc.close()


def test_a_server_that_wants_a_key_says_which_variable(tmp_path, server, libre):
    svc = TranslationService(make_settings(tmp_path, server, libre, environ={}), glossary=Glossary.empty())
    result = svc.translate_texts(["Добро утро."], "mk", "sq")
    assert result.engine == "libre" and len(server.completions()) == 1  # 401: not retried
    assert "HTTP 401" in result.reason and KEY_VAR in result.reason
    svc.close()


@pytest.mark.parametrize("mode", ["429", "500", "slow"])
def test_transient_faults_are_retried_then_fall_back(service, server, libre, mode):
    server.mode, server.slow_seconds = mode, 10
    result = service.translate_texts(TEXTS, "mk", "sq")
    assert result.ok and result.engine == "libre"
    albanian_ok(result)
    assert len(server.completions()) == 2  # one try + max_retries = 1
    assert libre.calls("/translate")
    if mode == "429":
        assert 3.0 in service.clock.sleeps  # Retry-After: 3 honoured by the service
    why = dict(result.attempts)["openai"]
    assert {"429": "HTTP 429", "500": "HTTP 500", "slow": "within 2 s"}[mode] in why


@pytest.mark.parametrize("mode, says", [("400", "maximum context length"), ("404", "model = 'gemma3:12b'"),
                                        ("malformed", "malformed answer")])
def test_permanent_faults_fall_back_at_once(service, server, libre, mode, says):
    server.mode = mode
    result = service.translate_texts(TEXTS, "mk", "sq")
    assert result.engine == "libre" and len(server.completions()) == 1
    assert says in dict(result.attempts)["openai"]


def test_unknown_model_is_a_404_that_names_the_model(tmp_path, server, libre):
    svc = TranslationService(make_settings(tmp_path, server, libre), glossary=Glossary.empty())
    svc.options.engines.openai.model = "llama9:1t"  # not on the server
    result = svc.translate_texts(["Добро утро."], "mk", "sq")
    assert result.engine == "libre" and "HTTP 404" in result.reason and "llama9:1t" in result.reason
    svc.close()


@pytest.mark.parametrize("mode", ["wrong-count", "length", "commentary", "refusal"])
def test_a_bad_batch_answer_is_split_and_asked_per_segment(service, server, libre, mode):
    server.batch_mode = mode
    result = service.translate_texts(TEXTS, "mk", "sq")
    assert result.ok and result.engine == "openai", result.reason
    calls = server.completions()
    assert len(calls) == 1 + SEGMENTS and calls[0].batch is not None
    assert [c.batch for c in calls[1:]] == [None] * SEGMENTS and all("translation only" in c.system for c in calls[1:])
    assert result.usage["openai"]["requests"] == 1 + SEGMENTS
    assert libre.calls("/translate") == []
    server.batch_mode = None
    assert service.translate_texts(TEXTS, "mk", "sq").texts == result.texts  # as a good batch answer
    assert len(server.completions()) == 2 + SEGMENTS


@pytest.mark.parametrize("mode, says", [
    ("length", "cut off"), ("refusal", "refused"), ("refusal-field", "refused"), ("commentary", "commentary"),
    ("empty", "empty answer"), ("echo", "no-cyrillic"),
])
def test_an_unusable_answer_goes_to_the_next_engine(service, server, libre, mode, says):
    server.mode = mode
    result = service.translate_texts(TEXTS, "mk", "sq")
    assert result.ok and result.engine == "libre", result.reason
    albanian_ok(result)
    assert says in dict(result.attempts)["openai"]


def test_nothing_usable_is_a_failure_never_the_source_text(service, server, libre):
    server.mode, libre.mode = "echo", "500"
    result = service.translate_texts(TEXTS, "mk", "sq")
    assert not result.ok and result.texts is None and not result.only_unavailable
    assert "openai: quality check failed" in result.reason and "libre: failed" in result.reason


def test_the_circuit_opens_after_repeated_failures(tmp_path, server, libre):
    clock = Clock()
    settings = make_settings(tmp_path, server, libre, openai_extra="circuit_failures = 2\ncircuit_reset_seconds = 60")
    settings.translation.engines.openai.max_retries = 0
    svc = TranslationService(settings, glossary=Glossary.empty(), clock=clock, sleep=clock.sleep)
    server.mode = "500"
    for _ in range(2):
        assert svc.translate_texts(["Добро утро."], "mk", "sq").engine == "libre"
    third = svc.translate_texts(["Добро утро."], "mk", "sq")
    assert third.engine == "libre" and "circuit open" in dict(third.attempts)["openai"]
    assert len(server.completions()) == 2
    clock.now += 61
    server.mode = None
    assert svc.translate_texts(["Добро утро."], "mk", "sq").engine == "openai"
    svc.close()


# ---------------------------------------------------------------------- self-hosted or online
@pytest.mark.parametrize("url, local", [
    ("http://127.0.0.1:11434/v1", True), ("http://[::1]:8000/v1", True), ("http://localhost:1234/v1", True),
    ("http://10.1.2.3:8000/v1", True), ("http://192.168.1.20:11434/v1", True), ("http://172.20.0.5/v1", True),
    ("http://169.254.1.1/v1", True), ("http://100.101.1.1:11434/v1", True), ("http://ollama:11434/v1", True),
    ("http://gpu-box.lan:8000/v1", True), ("http://llm.internal/v1", True), ("http://[fd00::5]/v1", True),
    ("https://api.openai.com/v1", False), ("http://8.8.8.8/v1", False), ("http://172.32.0.1/v1", False),
    ("https://translate.google.com/m", False), ("http://[2606:4700::1111]/v1", False),
])
def test_self_hosted_addresses_are_recognised_without_connecting(url, local):
    assert is_self_hosted(url) is local


def test_online_gates_only_public_services(tmp_path, server):
    settings = make_settings(tmp_path, server).translation
    assert not needs_online("openai", settings) and not needs_online("libre", settings)
    assert not needs_online("apertium", settings) and needs_online("deepl", settings)
    build_engine("openai", settings).close()  # offline, local: builds (and connects to nothing)
    settings.engines.openai.base_url = "https://api.openai.com/v1"
    from publisher.translate.base import EngineUnavailable

    with pytest.raises(EngineUnavailable, match="online engines are off here .*api.openai.com"):
        build_engine("openai", settings)
    settings.online = True
    build_engine("openai", settings).close()
    settings.engines.openai.model = None
    with pytest.raises(EngineUnavailable, match=r"no model; set \[translation.engines.openai\] model"):
        build_engine("openai", settings)


# ---------------------------------------------------------------------- end to end
def test_only_a_local_model_offline_gives_albanian_in_feed_and_digest(site, monkeypatch):
    """With online = false and only a local OpenAI-compatible server: a new release gets an
    Albanian variant, published under the machine policy, in the sq feed and the sq digest;
    its cost is stored, shown by `translations show` and in /metrics; config check says so."""
    import shutil

    from publisher.app import App
    from publisher.feeds.stage import build_feeds
    from publisher.models import TranslationStatus
    from publisher.translate.stage import translate_pending
    from publisher.web.actions import preview_digest
    from publisher.web.ops import metrics_text

    from .test_cli import run

    local = OpenAIServer()
    shutil.copy(ROOT / "glossary.toml", site.dir / "glossary.toml")
    site.write(extra=f"""
[translation]
online = false
chains = {{ en = ["apertium"], sq = ["openai"] }}
publish = {{ en = "machine", sq = "machine" }}

[translation.engines.openai]
base_url = "{local.url}"
model = "gemma3:12b"
timeout_seconds = 10
""")
    monkeypatch.delenv(KEY_VAR, raising=False)
    site.drop_sample()
    app = App(site.settings())
    try:
        code, _, err = run("config", "check", settings=site.settings_file)
        assert "✓ can run openai: openai mk→sq self-hosted at 127.0.0.1" in err, err
        app.ingest()
        report = translate_pending(app.translation)
        assert report.translated == {"apertium": 1, "openai": 1}, report.as_dict()
        [release] = app.store.list_releases()
        sq = app.store.get_translation(release.id, "sq")
        assert sq.status is TranslationStatus.MACHINE and sq.engine == "openai" and len(sq.paragraphs) == 4
        text = sq.title + "\n" + sq.body
        assert not CYRILLIC.search(text) and "IOM" in text and "Organizata Ndërkombëtare për Migracion" in text
        calls = local.completions()
        assert calls and all("Authorization" not in c.headers for c in calls)
        usage = sq.usage["openai"]
        assert usage["requests"] == len(calls) and usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0
        assert "openai" not in (app.store.get_translation(release.id, "en").usage or {})

        code, out, _ = run("translations", "show", str(release.id), "sq", settings=site.settings_file)
        assert code == 0 and f"cost: openai: {usage['requests']} request(s), {usage['prompt_tokens']} prompt" in out
        code, out, _ = run("translations", "show", str(release.id), "sq", "--json", settings=site.settings_file)
        assert json.loads(out)["usage"] == {"openai": usage}
        metrics = metrics_text(app)
        assert f'publisher_translation_tokens{{engine="openai",kind="total"}} {usage["total_tokens"]}' in metrics
        assert f'publisher_translation_requests{{engine="openai"}} {usage["requests"]}' in metrics

        build_feeds(app.settings, app.store)
        atom = (app.settings.feeds.output_dir / app.settings.feeds.path("atom", "sq")).read_text(encoding="utf-8")
        assert sq.title in atom
        digest = preview_digest(app, "sq")
        assert digest["releases"] == [release.id] and sq.title in " ".join(digest["text"].split())
    finally:
        app.close()
        local.stop()


@pytest.mark.parametrize("situation", ["offline only", "self-hosted", "online with keys"])
def test_config_check_says_which_routes_can_run_here(site, monkeypatch, situation):
    """Nothing is contacted: building an engine connects to nothing (the URLs below would fail)."""
    from .test_cli import run

    monkeypatch.delenv(KEY_VAR, raising=False)
    monkeypatch.delenv("PUBLISHER_TRANSLATION__ENGINES__MICROSOFT__API_KEY", raising=False)
    chains = 'chains = { en = ["apertium", "google"], sq = ["openai", "microsoft", "deepl"] }'
    if situation == "offline only":
        site.write(extra=f"[translation]\n{chains}\n")
    elif situation == "self-hosted":
        site.write(extra=f'[translation]\n{chains}\n[translation.engines.openai]\nbase_url = "http://127.0.0.1:9/v1"\n'
                         'model = "gemma3:12b"\n')
    else:
        monkeypatch.setenv("PUBLISHER_TRANSLATION__ENGINES__MICROSOFT__API_KEY", "k")
        site.write(extra=f'[translation]\nonline = true\n{chains}\n[translation.engines.openai]\n'
                         'base_url = "https://api.openai.com/v1"\nmodel = "gpt-4o-mini"\n')
    code, _, err = run("config", "check", settings=site.settings_file)
    lines = [line.strip() for line in err.splitlines()]
    assert "routes into en:" in lines and "routes into sq:" in lines
    assert "✓ can run apertium: apertium mk→en in this process" in lines
    if situation == "offline only":
        assert any(line.startswith("- cannot run google: google: online engines are off here (it calls "
                                   "translate.google.com)") for line in lines)
        assert "- cannot run openai: openai: no model; set [translation.engines.openai] model (e.g. \"gemma3:12b\" " \
               "for Ollama)" in lines
        assert any(line.startswith("- cannot run microsoft: microsoft: online engines are off here") for line in lines)
        assert any("no engine can translate into 'sq' here" in line for line in lines)
    elif situation == "self-hosted":
        assert "✓ can run openai: openai mk→sq self-hosted at 127.0.0.1" in lines
        assert any(line.startswith("- cannot run deepl: deepl: online engines are off here (it calls api.deepl.com)")
                   for line in lines)
        assert not any("no engine can translate into 'sq'" in line for line in lines)
    else:
        assert "✓ can run openai: openai mk→sq online at api.openai.com" in lines
        assert "✓ can run microsoft: microsoft mk→sq online at api.cognitive.microsofttranslator.com" in lines
        assert "✓ can run google: google mk→en online at translate.google.com" in lines
        assert any(line.startswith("- cannot run deepl: deepl: no auth key; set PUBLISHER_TRANSLATION__ENGINES__DEEPL__AUTH_KEY")
                   for line in lines)
