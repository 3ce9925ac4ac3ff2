"""Local HTTP servers that speak the wire protocols of the online translation services.

Each ``ProtocolServer`` is a threaded werkzeug server on 127.0.0.1 (a free port) that
answers like one real service, as deep-translator 1.11 / deepl 1.32 call it:

* google    GET  /m?sl=mk&tl=en&q=…            → HTML page with <div class="result-container">
* microsoft POST /translate?api-version=3.0&from=mk&to=en, JSON [{"text": …}],
            headers Ocp-Apim-Subscription-Key (+ -Region) → [{"translations":[{"text","to"}]}]
* mymemory  GET  /get?q=…&langpair=mk|en[&de=…] → {"responseData":{"translatedText"},…}
* libre     POST /translate (query string, form or JSON: q, source, target, format, api_key)
            → {"translatedText": …};  GET /languages
* deepl     POST /v2/translate (JSON or form) with Authorization: DeepL-Auth-Key …
            → {"translations":[{"detected_source_language","text","billed_characters"}]};
            GET /v2/usage, GET /v2/languages

The "translation" is deterministic (``fake_translate``). ``server.mode`` switches failures
on: "429" (with Retry-After), "500", "503", "403", "slow" (answers after ``release`` is set
or ``slow_seconds`` pass; ``stop()`` sets it), "malformed", "quota", and for deepl "short". Every request is
recorded in ``server.requests`` (``Recorded``) for assertions.
"""

from __future__ import annotations

import html
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

PHRASES: dict[tuple[str, str], dict[str, str]] = {
    ("mk", "en"): {
        "Добро утро": "Good morning",
        "Скопје": "Skopje",
        "Влада": "Government",
        "соопштение": "press release",
        "Чаир": "Čair",
    },
    ("mk", "sq"): {
        "Добро утро": "Mirëmëngjes",
        "Скопје": "Shkup",
        "Влада": "Qeveria",
        "соопштение": "njoftim për shtyp",
        "Чаир": "Çair",
    },
    ("sq", "en"): {"Mirëmëngjes": "Good morning", "Çair": "Čair", "Shkup": "Skopje"},
}


def fake_translate(text: str, src: str, tgt: str) -> str:
    """Marker plus phrase substitution; unknown words stay as they are."""
    for source, target in PHRASES.get((src, tgt), {}).items():
        text = text.replace(source, target)
    return f"{tgt.upper()}: {text}"


@dataclass
class Recorded:
    method: str
    path: str
    args: dict[str, list[str]]
    headers: dict[str, str]
    form: dict[str, list[str]]
    json: Any
    body: bytes = field(repr=False)

    def arg(self, name: str) -> str | None:
        values = self.args.get(name)
        return values[0] if values else None


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, ensure_ascii=False)
    return Response(
        body,
        status=status,
        headers=headers,
        content_type="application/json; charset=utf-8",
    )


class ProtocolServer:
    PROTOCOLS = ("google", "microsoft", "mymemory", "libre", "deepl")

    def __init__(self, protocol: str, *, api_key: str | None = None, region: str | None = None):
        assert protocol in self.PROTOCOLS, protocol
        self.protocol = protocol
        self.api_key = api_key  # the key the server accepts (None: any, for libre none needed)
        self.region = region
        self.mode: str | None = None
        self.translate = fake_translate  # (text, src, tgt) -> str; tests may swap in their own
        self.retry_after = "7"
        self.slow_seconds = 30.0
        self.release = threading.Event()
        self.requests: list[Recorded] = []
        self.libre_languages: list[dict[str, Any]] = [
            {"code": "en", "name": "English", "targets": ["mk", "sq"]},
            {"code": "mk", "name": "Macedonian", "targets": ["en", "sq"]},
            {"code": "sq", "name": "Albanian", "targets": ["en", "mk"]},
        ]
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name=f"fake-{protocol}",
            daemon=True,
        )
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        if self.release.is_set():
            return
        self.release.set()  # slow answers end now
        self._server.shutdown()
        self._server.server_close()

    def calls(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]

    # -- dispatch ---------------------------------------------------------------------
    @Request.application
    def _app(self, request: Request) -> Response:
        body = request.get_data(cache=True)
        parsed = None
        if request.mimetype == "application/json" and body:
            parsed = json.loads(body.decode("utf-8"))
        self.requests.append(
            Recorded(
                method=request.method,
                path=request.path,
                args=request.args.to_dict(flat=False),
                headers=dict(request.headers.items()),
                form=request.form.to_dict(flat=False),
                json=parsed,
                body=body,
            )
        )
        if self.mode == "slow":
            self.release.wait(self.slow_seconds)
        handler = getattr(self, f"_{self.protocol}")
        return handler(request, parsed)

    def _failure(self, status: int, payload: Any, *, as_html: bool = False) -> Response:
        headers = {"Retry-After": self.retry_after} if status == 429 else None
        if as_html:
            page = f"<html><body><h1>Error {status}</h1><p>{html.escape(str(payload))}</p></body></html>"
            return Response(
                page,
                status=status,
                headers=headers,
                content_type="text/html; charset=utf-8",
            )
        return _json(payload, status, headers)

    def _status_mode(self) -> int | None:
        return int(self.mode) if self.mode and self.mode.isdigit() else None

    # -- Google's mobile page -----------------------------------------------------------
    def _google(self, request: Request, _: Any) -> Response:
        if request.path != "/m" or request.method != "GET":
            return Response("not found", status=404)
        status = self._status_mode()
        if status:
            return self._failure(status, "We're sorry... unusual traffic", as_html=True)
        text = self.translate(request.args["q"], request.args["sl"], request.args["tl"])
        result = "" if self.mode == "malformed" else f'<div class="result-container">{html.escape(text)}</div>'
        page = (
            '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Google Translate</title></head>'
            f'<body><div class="root-container"><div class="header">Google Translate</div>{result}'
            '<div class="footer">Mobile</div></div></body></html>'
        )
        return Response(page, content_type="text/html; charset=utf-8")

    # -- Microsoft Translator v3 --------------------------------------------------------
    def _microsoft(self, request: Request, body: Any) -> Response:
        if request.path != "/translate" or request.method != "POST":
            return _json(
                {
                    "error": {
                        "code": 404001,
                        "message": "The requested resource was not found.",
                    }
                },
                404,
            )
        if request.args.get("api-version") != "3.0":
            return _json(
                {
                    "error": {
                        "code": 400021,
                        "message": "The API version parameter is missing or invalid.",
                    }
                },
                400,
            )
        key_ok = request.headers.get("Ocp-Apim-Subscription-Key") == self.api_key
        region_ok = self.region is None or request.headers.get("Ocp-Apim-Subscription-Region") == self.region
        if not (key_ok and region_ok):
            message = "The request is not authorized because credentials are missing or invalid."
            return _json({"error": {"code": 401000, "message": message}}, 401)
        status = self._status_mode()
        if status:
            return self._failure(
                status,
                {"error": {"code": status * 1000 + 1, "message": f"failure {status}"}},
            )
        if self.mode == "quota":
            message = "The operation is not allowed because the subscription has exceeded its free quota."
            return _json({"error": {"code": 403001, "message": message}}, 403)
        src, tgt = request.args["from"], request.args["to"]
        items = [
            {
                "translations": [
                    {
                        "text": self.translate(e.get("Text", e.get("text")), src, tgt),
                        "to": tgt,
                    }
                ]
            }
            for e in body
        ]
        if self.mode == "malformed":
            items = [{"detectedLanguage": {"language": src}}]
        return _json(items)

    # -- MyMemory -------------------------------------------------------------------------
    def _mymemory(self, request: Request, _: Any) -> Response:
        if request.path != "/get" or request.method != "GET":
            return Response("not found", status=404)
        status = self._status_mode()
        if status:
            return self._failure(status, {"responseStatus": status, "responseDetails": "failure"})
        src, tgt = (code.split("-")[0] for code in request.args["langpair"].split("|"))
        if self.mode == "malformed":
            return _json({"responseStatus": 200, "matches": []})
        text, status_field, quota = (
            self.translate(request.args["q"], src, tgt),
            200,
            False,
        )
        if self.mode == "quota":
            text = (
                "MYMEMORY WARNING: YOU USED ALL AVAILABLE FREE TRANSLATIONS FOR TODAY. NEXT AVAILABLE IN  "
                "10 HOURS 02 MINUTES 33 SECONDS VISIT HTTPS://MYMEMORY.TRANSLATED.NET/DOC/USAGELIMITS.PHP "
                "TO TRANSLATE MORE"
            )
            status_field, quota = 429, True
        return _json(
            {
                "responseData": {"translatedText": text, "match": 0.85},
                "quotaFinished": quota,
                "mtLangSupported": None,
                "responseDetails": "",
                "responseStatus": status_field,
                "responderId": None,
                "exception_code": None,
                "matches": [
                    {
                        "id": "0",
                        "segment": request.args["q"],
                        "translation": text,
                        "quality": "74",
                    }
                ],
            }
        )

    # -- LibreTranslate -------------------------------------------------------------------
    def _libre(self, request: Request, body: Any) -> Response:
        if request.path == "/languages" and request.method == "GET":
            return _json(self.libre_languages)
        if request.path != "/translate" or request.method != "POST":
            return _json({"error": "Not Found"}, 404)
        values = body if isinstance(body, dict) else request.values.to_dict()  # query string and form
        if self.api_key is not None and values.get("api_key") != self.api_key:
            return _json({"error": "Invalid API key"}, 403)
        status = self._status_mode()
        if status:
            return self._failure(status, {"error": f"failure {status}"})
        src, tgt, q = values.get("source"), values.get("target"), values.get("q")
        if not q:
            return _json({"error": "Invalid request: missing q parameter"}, 400)
        codes = {lang["code"]: lang["targets"] for lang in self.libre_languages}
        if src not in codes or tgt not in codes[src]:
            return _json({"error": f"{src}→{tgt} is not supported"}, 400)
        if self.mode == "malformed":
            return _json({"detectedLanguage": {"confidence": 90, "language": src}})
        return _json({"translatedText": self.translate(q, src, tgt)})

    # -- DeepL API v2 ---------------------------------------------------------------------
    def _deepl(self, request: Request, body: Any) -> Response:
        auth = request.headers.get("Authorization", "")
        if auth != f"DeepL-Auth-Key {self.api_key}":
            return _json({"message": "Wrong endpoint or authorization failure"}, 403)
        if request.path == "/v2/usage":
            return _json({"character_count": 180118, "character_limit": 500000})
        if request.path == "/v2/languages":
            langs = [
                {
                    "language": "EN-GB" if request.values.get("type") == "target" else "EN",
                    "name": "English",
                },
                {"language": "MK", "name": "Macedonian"},
                {"language": "SQ", "name": "Albanian"},
            ]
            return _json(langs)
        if request.path != "/v2/translate" or request.method != "POST":
            return _json({"message": "Not found"}, 404)
        status = self._status_mode()
        if status:
            return self._failure(status, {"message": f"failure {status}"})
        if self.mode == "quota":
            return _json({"message": "Quota Exceeded"}, 456)
        if isinstance(body, dict):
            texts, src, tgt = (
                body.get("text", []),
                body.get("source_lang"),
                body.get("target_lang"),
            )
        else:
            texts, src, tgt = (
                request.form.getlist("text"),
                request.form.get("source_lang"),
                request.form.get("target_lang"),
            )
        if not texts or not tgt:
            return _json({"message": "Value for 'target_lang' not supported."}, 400)
        if self.mode == "malformed":  # entries without "text" and "billed_characters"
            return _json({"translations": [{"detected_source_language": "MK"} for _ in texts]})
        if self.mode == "short":  # one translation fewer than texts sent
            return _json({"translations": [{"text": "EN: …", "billed_characters": 1} for _ in texts[1:]]})
        src_code, tgt_code = (src or "MK").lower(), tgt.split("-")[0].lower()
        return _json(
            {
                "translations": [
                    {
                        "detected_source_language": (src or "MK").upper(),
                        "text": self.translate(t, src_code, tgt_code),
                        "billed_characters": len(t),
                    }
                    for t in texts
                ]
            }
        )
