"""The translation service's own logic (chain, retries, circuit, glossary, memory, checks) with
an in-process engine that follows the Translator protocol and a scripted failure plan.
Adapters are tested against real engines and protocol servers elsewhere."""

from __future__ import annotations

import re

import pytest

from publisher.models import TranslationStatus
from publisher.settings import load_settings
from publisher.translate.base import EngineError, TranslatorBase
from publisher.translate.glossary import Glossary
from publisher.translate.service import TranslationService
from publisher.translate.stage import translate_pending

SENTENCE = "The regional meeting of the border police chiefs was held with delegations of the countries"
ALBANIAN = "Takimi rajonal i shefave të policisë kufitare u mbajt me delegacione nga vendet e rajonit"


def albanian(text):
    return " ".join([ALBANIAN, *re.findall(r"XGLX\d+|\d+", text)]) + "."


class ScriptedEngine(TranslatorBase):
    """Answers every text with an English sentence that keeps its tokens and numbers;
    ``plan`` lists exceptions (or None) to raise on successive calls."""

    def __init__(self, name: str, plan=(), output=None, pairs=None):
        self.name = name
        self.plan = list(plan)
        self.calls: list[list[str]] = []
        self.output = output
        self.pairs = pairs

    def translate_batch(self, texts, src, tgt):
        self.calls.append(list(texts))
        if self.plan:
            step = self.plan.pop(0)
            if step is not None:
                raise step
        if self.output is not None:
            return [self.output(t) for t in texts]
        return [" ".join([SENTENCE, *re.findall(r"XGLX\d+|\d+", t)]) + "." for t in texts]


class Clock:
    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(round(seconds, 3))
        self.now += seconds


def make_service(tmp_path, engines, extra="", store=None, glossary=None):
    (tmp_path / "settings.toml").write_text(
        "[translation]\nonline = true\nchains = { en = [\"google\", \"apertium\"], sq = [\"google\", \"microsoft\"] }\n"
        "[translation.engines.google]\nbackoff_seconds = 1.0\nmax_retries = 2\nrequests_per_second = 1000\n"
        "circuit_failures = 2\ncircuit_reset_seconds = 60\n" + extra,
        encoding="utf-8",
    )
    settings = load_settings(tmp_path / "settings.toml", environ={})
    clock = Clock()
    service = TranslationService(settings, store, engines=engines, glossary=glossary or Glossary.empty(),
                                 clock=clock, sleep=clock.sleep, jitter=lambda: 0.5)
    return service, clock


TEXT = ["Регионалниот состанок на шефовите на граничните полиции се одржа со делегации од земјите."]


def test_fallback_on_permanent_error_names_each_engine(tmp_path):
    google = ScriptedEngine("google", [EngineError("google", "HTTP 403 wrong key")])
    apertium = ScriptedEngine("apertium")
    service, _ = make_service(tmp_path, {"google": google, "apertium": apertium})
    result = service.translate_texts(TEXT, "mk", "en")
    assert result.ok and result.engine == "apertium"
    assert result.attempts == [("google", "failed: HTTP 403 wrong key")]
    assert len(google.calls) == 1  # permanent: no retry


def test_transient_errors_are_retried_with_exponential_backoff_and_retry_after(tmp_path):
    google = ScriptedEngine("google", [EngineError("google", "HTTP 503", transient=True),
                                       EngineError("google", "HTTP 429", transient=True, retry_after=7.0)])
    service, clock = make_service(tmp_path, {"google": google, "apertium": ScriptedEngine("apertium")})
    result = service.translate_texts(TEXT, "mk", "en")
    assert result.ok and result.engine == "google" and len(google.calls) == 3
    assert clock.sleeps == [1.0, 7.0]  # 1.0 × 2⁰, then max(1.0 × 2¹, Retry-After 7)


def test_retries_exhausted_fall_back_and_the_circuit_opens(tmp_path):
    down = [EngineError("google", "timed out", transient=True)] * 20
    google = ScriptedEngine("google", down)
    apertium = ScriptedEngine("apertium")
    service, clock = make_service(tmp_path, {"google": google, "apertium": apertium})
    for _ in range(2):
        assert service.translate_texts(TEXT, "mk", "en").engine == "apertium"
    assert len(google.calls) == 6  # 2 runs × (1 + 2 retries)
    third = service.translate_texts(TEXT, "mk", "en")
    assert third.engine == "apertium" and len(google.calls) == 6  # circuit open: not called
    assert third.attempts[0][1].startswith("circuit open")
    clock.now += 61
    google.plan = []
    assert service.translate_texts(["Друг текст за состанокот на шефовите на полициите од регионот."], "mk", "en").engine == "google"


def test_rate_limit_spaces_requests(tmp_path):
    google = ScriptedEngine("google")
    service, clock = make_service(tmp_path, {"google": google},
                                  extra="") 
    service.options.engines.google.requests_per_second = 2.0
    service.translate_texts(["Прва реченица за состанокот. Втора реченица за соработката. Трета реченица за границите."],
                            "mk", "en")
    assert len(google.calls) == 3 and clock.sleeps == [0.5, 0.5]


def test_quality_failure_falls_back_and_says_why(tmp_path):
    cyrillic = ScriptedEngine("google", output=lambda t: "Состанокот се одржа.")
    service, _ = make_service(tmp_path, {"google": cyrillic, "apertium": ScriptedEngine("apertium")})
    result = service.translate_texts(TEXT, "mk", "en")
    assert result.engine == "apertium"
    assert "quality check failed" in result.attempts[0][1] and "no-cyrillic" in result.attempts[0][1]


def test_everything_failing_gives_a_reason_per_engine(tmp_path):
    service, _ = make_service(tmp_path, {
        "google": ScriptedEngine("google", [EngineError("google", "HTTP 401")]),
        "apertium": ScriptedEngine("apertium", pairs=frozenset()),
    })
    result = service.translate_texts(TEXT, "mk", "en")
    assert not result.ok and not result.only_unavailable
    assert result.reason == "google: failed: HTTP 401; apertium: does not translate mk→en"


def test_glossary_terms_are_masked_restored_and_checked(tmp_path):
    glossary_file = tmp_path / "g.toml"
    glossary_file.write_text('[[terms]]\nmk = ["ИОМ"]\nkeep = "IOM"\n[[terms]]\nmk = ["управување* со границите"]\n'
                             'en = "border management"\nsq = "menaxhimi i kufijve"\n', encoding="utf-8")
    glossary = Glossary.load(glossary_file)
    google = ScriptedEngine("google", output=albanian)
    service, _ = make_service(tmp_path, {"google": google}, glossary=glossary)
    text = ["ИОМ работи на управувањето со границите во регионот со партнерите од земјите."]
    result = service.translate_texts(text, "mk", "sq")
    assert "ИОМ" not in google.calls[0][0] and "XGLX1" in google.calls[0][0] and "XGLX2" in google.calls[0][0]
    assert result.ok and "IOM" in result.texts[0] and "menaxhimi i kufijve" in result.texts[0]
    losing = ScriptedEngine("google", output=lambda t: ALBANIAN + ".")
    service, _ = make_service(tmp_path, {"google": losing}, glossary=glossary)
    lost = service.translate_texts(text, "mk", "sq")
    assert not lost.ok and "glossary" in lost.reason and "'ИОМ' was lost" in lost.reason


def test_memory_means_no_engine_call_the_second_time(tmp_path, store):
    google = ScriptedEngine("google")
    service, _ = make_service(tmp_path, {"google": google}, store=store)
    text = ["Прва реченица за состанокот на шефовите. Втора реченица за соработката во регионот."]
    first = service.translate_texts(text, "mk", "en")
    assert first.ok and first.engine_segments == 2 and len(google.calls) == 2
    second = service.translate_texts(text, "mk", "en")
    assert second.texts == first.texts and second.memory_hits == 2 and second.engine_segments == 0
    assert len(google.calls) == 2
    assert store.memory_stats() == [{"engine": "google", "pair": "mk-en", "segments": 2, "hits": 2}]


def test_stage_statuses_staff_edits_and_stale(site, tmp_path):
    from publisher.app import App

    site.drop_sample()
    app = App(site.settings())
    app.ingest()
    release = app.store.list_releases()[0]
    google = ScriptedEngine("google")
    service, _ = make_service(tmp_path, {"google": google, "apertium": ScriptedEngine("apertium")},
                              store=app.store)
    service.settings.site.target_languages = ["en", "sq"]
    service.options.chains["sq"] = ["microsoft"]  # microsoft: not available with online off below
    service.options.online = False
    report = translate_pending(service)
    assert report.translated == {"google": 1}
    [(rid, lang, why)] = report.waiting
    assert (rid, lang) == (release.id, "sq") and "online engines are off" in why
    en = app.store.get_translation(release.id, "en")
    assert en.status is TranslationStatus.MACHINE and en.engine == "google" and len(en.paragraphs) == 4
    assert translate_pending(service).translated == {}  # nothing new: nothing done
    app.store.save_human_translation(release, "en", "Staff title", "Staff paragraph.", editor="ana")
    # the release changes at the source: the staff translation turns stale, never overwritten
    path = site.inbox / "iom-border-chiefs-meeting.mk.txt"
    path.write_text(path.read_text(encoding="utf-8").replace("Данска", "Норвешка"), encoding="utf-8")
    assert app.ingest().counts()["updated"] == 1
    report = translate_pending(service)
    assert report.stale == 1 and report.translated == {}
    en = app.store.get_translation(release.id, "en")
    assert en.status is TranslationStatus.STALE and en.title == "Staff title"
    app.close()


@pytest.mark.parametrize("attempts", [2])
def test_failed_translations_are_retried_until_max_attempts(site, tmp_path, attempts):
    from publisher.app import App

    site.drop_sample()
    app = App(site.settings())
    app.ingest()
    broken = ScriptedEngine("google", [EngineError("google", "HTTP 401")] * 10)
    service, _ = make_service(tmp_path, {"google": broken, "apertium": ScriptedEngine("apertium", pairs=frozenset())},
                              store=app.store, extra="")
    service.settings.site.target_languages = ["en"]
    service.options.max_attempts = attempts
    for _ in range(attempts):
        assert len(translate_pending(service).failed) == 1
    assert translate_pending(service).failed == []  # no attempts left: left for staff
    en = app.store.list_translations(lang="en")[0]
    assert en.status is TranslationStatus.FAILED and en.attempts == attempts and "HTTP 401" in en.error
    app.close()
