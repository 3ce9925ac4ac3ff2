"""The online engines against local servers that speak each service's real wire protocol.

No request leaves 127.0.0.1: every adapter is pointed at a ``ProtocolServer`` through its
options (base_url / server_url), the libraries are used as installed, nothing is patched.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from publisher.translate.base import EngineError, EngineUnavailable, Translator
from publisher.translate.deep import (
    GoogleTranslator,
    LibreTranslator,
    MicrosoftTranslator,
    MyMemoryTranslator,
)
from publisher.translate.deepl_engine import DeeplTranslator
from publisher.translate.options import (
    DeeplOptions,
    GoogleOptions,
    LibreOptions,
    MicrosoftOptions,
    MyMemoryOptions,
)

from .protocol_servers import ProtocolServer, fake_translate

ENGINES = ("google", "microsoft", "mymemory", "libre", "deepl")
MS_KEY, MS_REGION, DEEPL_KEY, LIBRE_KEY = (
    "ms-secret-1",
    "westeurope",
    "0f3c-deepl:fx",
    "libre-key-9",
)

TEXTS = [
    "Добро утро, Скопје!",
    "Влада „соопштение“\nвтор ред со нова линија",
    "  Чаир и Скопје\n",
]


def expected(texts: list[str], src: str, tgt: str) -> list[str]:
    out = []
    for text in texts:
        core = text.strip()
        out.append(text.replace(core, fake_translate(core, src, tgt)) if core else text)
    return out


def make_engine(name: str, server: ProtocolServer, **overrides) -> Translator:
    opts: dict = {"timeout_seconds": 5.0, **overrides}
    if name == "google":
        return GoogleTranslator(GoogleOptions(base_url=f"{server.url}/m", **opts))
    if name == "microsoft":
        opts.setdefault("api_key", MS_KEY)
        opts.setdefault("region", MS_REGION)
        return MicrosoftTranslator(MicrosoftOptions(base_url=f"{server.url}/translate?api-version=3.0", **opts))
    if name == "mymemory":
        return MyMemoryTranslator(MyMemoryOptions(base_url=f"{server.url}/get", **opts))
    if name == "libre":
        opts.setdefault("api_key", LIBRE_KEY)
        return LibreTranslator(LibreOptions(base_url=f"{server.url}/", **opts))
    opts.setdefault("auth_key", DEEPL_KEY)
    return DeeplTranslator(DeeplOptions(server_url=server.url, **opts))


@pytest.fixture
def serve() -> Iterator[Callable[[str], ProtocolServer]]:
    servers: list[ProtocolServer] = []

    def start(protocol: str) -> ProtocolServer:
        key = {"microsoft": MS_KEY, "libre": LIBRE_KEY, "deepl": DEEPL_KEY}.get(protocol)
        server = ProtocolServer(protocol, api_key=key, region=MS_REGION if protocol == "microsoft" else None)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def fails(engine: Translator, texts: list[str] | None = None, src: str = "mk", tgt: str = "en") -> EngineError:
    with pytest.raises(EngineError) as info:
        engine.translate_batch(texts or ["Добро утро, Скопје!"], src, tgt)
    return info.value


# -- success, and what went over the wire ------------------------------------------------


@pytest.mark.parametrize("name", ENGINES)
@pytest.mark.parametrize(("src", "tgt"), [("mk", "en"), ("mk", "sq"), ("sq", "en")])
def test_translates_in_order_one_output_per_input(serve, name: str, src: str, tgt: str) -> None:
    server = serve(name)
    engine = make_engine(name, server)
    texts = TEXTS if src == "mk" else ["Mirëmëngjes, Çair!", "„Shkup“\nrresht i dytë ç ë"]
    try:
        out = engine.translate_batch(texts, src, tgt)
    finally:
        engine.close()
    assert out == expected(texts, src, tgt)
    assert engine.name == name and engine.machine


def test_albanian_output_characters_survive(serve) -> None:
    engine = make_engine("google", serve("google"))
    assert engine.translate_batch(["Чаир соопштение"], "mk", "sq") == ["SQ: Çair njoftim për shtyp"]


@pytest.mark.parametrize("name", ENGINES)
def test_blank_texts_are_kept_without_a_request(serve, name: str) -> None:
    server = serve(name)
    engine = make_engine(name, server)
    assert engine.translate_batch(["", "  \n", "Скопје"], "mk", "en") == [
        "",
        "  \n",
        "EN: Skopje",
    ]
    assert len([r for r in server.requests if r.path != "/languages"]) == 1


def test_google_request(serve) -> None:
    server = serve("google")
    make_engine("google", server).translate_batch(["Влада „соопштение“\nред"], "mk", "sq")
    (req,) = server.requests
    assert (req.method, req.path) == ("GET", "/m")
    assert req.args == {"tl": ["sq"], "sl": ["mk"], "q": ["Влада „соопштение“\nред"]}


def test_microsoft_request(serve) -> None:
    server = serve("microsoft")
    make_engine("microsoft", server).translate_batch(["Скопје\nЧаир", "Влада"], "mk", "en")
    first, second = server.requests
    assert (first.method, first.path) == ("POST", "/translate")
    assert first.args == {"api-version": ["3.0"], "from": ["mk"], "to": ["en"]}
    assert first.headers["Ocp-Apim-Subscription-Key"] == MS_KEY
    assert first.headers["Ocp-Apim-Subscription-Region"] == MS_REGION
    assert first.headers["Content-Type"] == "application/json"
    # deep-translator sends "text"; the v3 API reads property names case-insensitively.
    assert first.json == [{"text": "Скопје\nЧаир"}] and second.json == [{"text": "Влада"}]


def test_mymemory_request(serve) -> None:
    server = serve("mymemory")
    make_engine("mymemory", server, email="desk@example.org").translate_batch(["„Скопје“ ë ç"], "mk", "en")
    (req,) = server.requests
    assert (req.method, req.path) == ("GET", "/get")
    assert req.args == {
        "langpair": ["mk|en"],
        "q": ["„Скопје“ ë ç"],
        "de": ["desk@example.org"],
    }


def test_libre_request_and_languages_asked_once(serve) -> None:
    server = serve("libre")
    engine = make_engine("libre", server)
    assert engine.supports("mk", "en") and engine.supports("mk", "sq")
    engine.translate_batch(["Скопје\nЧаир"], "mk", "sq")
    engine.translate_batch(["Влада"], "mk", "en")
    assert len(server.calls("/languages")) == 1
    req = server.calls("/translate")[0]
    # deep-translator sends everything in the query string; LibreTranslate reads request.values.
    assert req.method == "POST"
    assert req.args == {
        "q": ["Скопје\nЧаир"],
        "source": ["mk"],
        "target": ["sq"],
        "format": ["text"],
        "api_key": [LIBRE_KEY],
    }


def test_libre_without_key_sends_none(serve) -> None:
    server = serve("libre")
    server.api_key = None  # a self-hosted server without keys
    engine = make_engine("libre", server, api_key=None)
    assert engine.translate_batch(["Скопје"], "mk", "en") == ["EN: Skopje"]
    assert "api_key" not in server.calls("/translate")[0].args


def test_libre_pairs_come_from_the_server(serve) -> None:
    server = serve("libre")
    server.libre_languages = [
        {"code": "en", "name": "English", "targets": ["sq"]},
        {"code": "sq", "name": "Albanian", "targets": ["en"]},
    ]
    engine = make_engine("libre", server)
    assert not engine.supports("mk", "en") and engine.supports("sq", "en")
    assert fails(engine).transient is False
    assert server.calls("/translate") == []


def test_libre_languages_unreachable_is_transient_and_not_cached(serve) -> None:
    server = serve("libre")
    engine = make_engine("libre", server)
    server.stop()
    assert engine.supports("mk", "en") is False
    assert fails(engine).transient is True


def test_deepl_request(serve) -> None:
    server = serve("deepl")
    engine = make_engine("deepl", server)
    engine.translate_batch(["Скопје\nЧаир", "", "Влада „соопштение“"], "mk", "en")
    engine.translate_batch(["Скопје"], "mk", "sq")
    first, second = server.calls("/v2/translate")
    assert first.method == "POST"
    assert first.headers["Authorization"] == f"DeepL-Auth-Key {DEEPL_KEY}"
    assert first.headers["Content-Type"] == "application/json"
    assert first.json["text"] == ["Скопје\nЧаир", "Влада „соопштение“"]
    assert (first.json["source_lang"], first.json["target_lang"]) == ("MK", "EN-GB")
    assert (second.json["source_lang"], second.json["target_lang"]) == ("MK", "SQ")
    assert first.form == {} and "auth_key" not in first.json


def test_deepl_wrong_count_is_malformed(serve) -> None:
    server = serve("deepl")
    server.mode = "short"
    error = fails(make_engine("deepl", server), ["Скопје", "Влада"])
    assert error.transient is False and "malformed answer" in str(error)


def test_deepl_splits_requests_at_50_texts(serve) -> None:
    server = serve("deepl")
    texts = [f"Скопје {i}" for i in range(120)]
    assert make_engine("deepl", server).translate_batch(texts, "mk", "en") == [f"EN: Skopje {i}" for i in range(120)]
    assert [len(r.json["text"]) for r in server.calls("/v2/translate")] == [50, 50, 20]


# -- failures ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ENGINES)
@pytest.mark.parametrize("mode", ["429", "500", "503"])
def test_rate_limit_and_server_errors_are_transient(serve, name: str, mode: str) -> None:
    server = serve(name)
    server.mode = mode
    error = fails(make_engine(name, server))
    assert error.transient is True, error
    assert error.retry_after is None  # none of the libraries exposes Retry-After
    assert error.engine == name
    assert len([r for r in server.requests if r.path != "/languages"]) == 1  # the library did not retry


@pytest.mark.parametrize("name", ENGINES)
def test_malformed_answer_is_permanent(serve, name: str) -> None:
    server = serve(name)
    server.mode = "malformed"
    error = fails(make_engine(name, server), ["Скопје", "Влада"])
    assert error.transient is False
    assert "malformed answer" in str(error)


@pytest.mark.parametrize("name", ENGINES)
def test_timeout_is_enforced(serve, name: str) -> None:
    server = serve(name)
    engine = make_engine(name, server, timeout_seconds=0.5)
    if name == "libre":
        assert engine.supports("mk", "en")  # /languages answered before the server slows down
    server.mode = "slow"
    started = time.monotonic()
    error = fails(engine)
    assert time.monotonic() - started < 5
    assert error.transient is True
    assert server.requests  # the request did reach the server


@pytest.mark.parametrize("name", ENGINES)
def test_connection_refused_is_transient(serve, name: str) -> None:
    server = serve(name)
    engine = make_engine(name, server)
    if name == "libre":
        engine.supports("mk", "en")
    server.stop()
    assert fails(engine).transient is True


@pytest.mark.parametrize(
    ("name", "var"),
    [
        ("microsoft", "PUBLISHER_TRANSLATION__ENGINES__MICROSOFT__API_KEY"),
        ("libre", "PUBLISHER_TRANSLATION__ENGINES__LIBRE__API_KEY"),
        ("deepl", "PUBLISHER_TRANSLATION__ENGINES__DEEPL__AUTH_KEY"),
    ],
)
def test_wrong_key_is_permanent_and_names_the_setting(serve, name: str, var: str) -> None:
    server = serve(name)
    key = {"microsoft": "api_key", "libre": "api_key", "deepl": "auth_key"}[name]
    error = fails(make_engine(name, server, **{key: "wrong"}))
    assert error.transient is False
    assert var in str(error)


@pytest.mark.parametrize("name", ["microsoft", "libre", "deepl"])
def test_http_401_is_permanent(serve, name: str) -> None:
    server = serve(name)
    server.mode = "401"
    error = fails(make_engine(name, server))
    assert error.transient is False


def test_google_403_cannot_be_told_apart(serve) -> None:
    # deep-translator raises one RequestError for every non-2xx status but 429.
    server = serve("google")
    server.mode = "403"
    assert fails(make_engine("google", server)).transient is True


@pytest.mark.parametrize(
    ("name", "var"),
    [
        ("mymemory", "PUBLISHER_TRANSLATION__ENGINES__MYMEMORY__EMAIL"),
        ("deepl", "PUBLISHER_TRANSLATION__ENGINES__DEEPL__AUTH_KEY"),
        ("microsoft", "PUBLISHER_TRANSLATION__ENGINES__MICROSOFT__API_KEY"),
    ],
)
def test_quota_exhausted_is_permanent(serve, name: str, var: str) -> None:
    server = serve(name)
    server.mode = "quota"
    error = fails(make_engine(name, server))
    assert error.transient is False
    assert var in str(error)


@pytest.mark.parametrize("name", ENGINES)
def test_text_over_max_chars_is_refused_before_sending(serve, name: str) -> None:
    server = serve(name)
    engine = make_engine(name, server, max_chars=100)
    error = fails(engine, ["Скопје " * 20])
    assert error.transient is False and "max_chars" in str(error)
    assert [r for r in server.requests if r.path != "/languages"] == []


@pytest.mark.parametrize(
    ("name", "options", "var"),
    [
        (
            "microsoft",
            MicrosoftOptions(),
            "PUBLISHER_TRANSLATION__ENGINES__MICROSOFT__API_KEY",
        ),
        (
            "microsoft",
            MicrosoftOptions(api_key="  "),
            "PUBLISHER_TRANSLATION__ENGINES__MICROSOFT__API_KEY",
        ),
        ("deepl", DeeplOptions(), "PUBLISHER_TRANSLATION__ENGINES__DEEPL__AUTH_KEY"),
    ],
)
def test_missing_key_makes_engine_unavailable(name: str, options, var: str) -> None:
    cls = MicrosoftTranslator if name == "microsoft" else DeeplTranslator
    with pytest.raises(EngineUnavailable) as info:
        cls(options)
    assert var in str(info.value) and info.value.transient is False


# -- pairs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ENGINES)
def test_supports_our_pairs(serve, name: str) -> None:
    engine = make_engine(name, serve(name))
    assert isinstance(engine, Translator)
    assert engine.supports("mk", "en") and engine.supports("mk", "sq")
    assert not engine.supports("mk", "xx")
    assert engine.max_chars == (450 if name == "mymemory" else 4500)


def test_unsupported_pair_is_refused_without_a_request(serve) -> None:
    server = serve("deepl")
    assert fails(make_engine("deepl", server), src="mk", tgt="de").transient is False
    assert server.requests == []
