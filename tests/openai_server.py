"""A loopback server that speaks OpenAI's chat completions protocol as the ``openai`` client
calls it (and as Ollama, vLLM, llama-server and LM Studio answer it):

    POST /v1/chat/completions  {"model", "messages": [{"role", "content"}], "temperature", "max_tokens"}
    → {"id", "object": "chat.completion", "created", "model", "system_fingerprint",
       "choices": [{"index", "message": {"role": "assistant", "content", "refusal"},
                    "logprobs", "finish_reason"}],
       "usage": {"prompt_tokens", "completion_tokens", "total_tokens"}}

Errors have OpenAI's shape ``{"error": {"message", "type", "param", "code"}}``: 401 for a
missing or wrong key (when ``api_key`` is set), 404 for an unknown model or path, 400 for a
request without messages, and on demand (``mode``) 400/401/404/429 (with Retry-After)/500.
Other modes: "slow" (answers after ``slow_seconds`` or ``stop()``), "malformed" (200 with a
body that is not JSON), "length" (a cut-off answer, finish_reason "length"), "refusal" (a
model's apology as content), "refusal-field" (OpenAI's ``message.refusal``), "commentary"
("Here is the translation: …"), "echo" (the source text back), "empty". ``batch_mode``
applies a fault only to requests whose user message is a JSON array: "wrong-count",
"length", "commentary", "refusal".

The "translation" (``translate``) is deterministic: a small mk→sq word table; placeholders
(XGLX1), numbers, URLs and Latin-script words kept; any other Cyrillic word becomes the next
word of a fixed Albanian filler, so the output reads as Albanian and has the source's shape.
Every request is recorded in ``requests`` (``Call``) for assertions.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

WORDS = {
    "добро": "mirë", "утро": "mëngjes", "скопје": "Shkup", "влада": "qeveria", "владата": "qeveria",
    "министерство": "ministria", "министерството": "ministria", "за": "për", "и": "dhe", "во": "në",
    "на": "të", "со": "me", "од": "nga", "е": "është", "се": "u", "соопштение": "njoftim",
    "граница": "kufiri", "границите": "kufijve", "средба": "takim", "средбата": "takimi",
    "регионална": "rajonal", "година": "vit", "годинава": "këtë vit", "денес": "sot",
}
FILLER = ("takimi", "rajonal", "i", "shefave", "të", "shërbimeve", "kufitare", "u", "zhvillua", "me",
          "pjesëmarrjen", "e", "delegacioneve", "nga", "vendet", "e", "rajonit", "dhe", "partnerët")
_TOKEN = re.compile(r"XGLX\d+|https?://\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\d+(?:[.,]\d+)*|[\u0400-\u04FF]+|[A-Za-z][\w'-]*|\s+|.",
                    re.UNICODE)
CYRILLIC = re.compile(r"[\u0400-\u04FF]")


def translate(text: str) -> str:
    """Deterministic mk→sq 'translation' (see the module doc)."""
    filler = itertools.cycle(FILLER)
    out = []
    for piece in _TOKEN.findall(text):
        if CYRILLIC.match(piece):
            word = WORDS.get(piece.lower()) or next(filler)
            out.append(word.capitalize() if piece[0].isupper() else word)
        else:
            out.append(piece)
    return "".join(out)


def error_body(message: str, type_: str, code: str | None = None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


@dataclass
class Call:
    path: str
    headers: dict[str, str]
    json: Any
    body: bytes = field(repr=False)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list((self.json or {}).get("messages") or [])

    @property
    def system(self) -> str:
        return next((m["content"] for m in self.messages if m.get("role") == "system"), "")

    @property
    def user(self) -> str:
        return next((m["content"] for m in self.messages if m.get("role") == "user"), "")

    @property
    def batch(self) -> list[str] | None:
        try:
            data = json.loads(self.user)
        except ValueError:
            return None
        return data if isinstance(data, list) else None


class OpenAIServer:
    def __init__(self, *, api_key: str | None = None, models: tuple[str, ...] = ("gemma3:12b",)):
        self.api_key = api_key
        self.models = set(models)
        self.mode: str | None = None
        self.batch_mode: str | None = None
        self.retry_after = "3"
        self.slow_seconds = 30.0
        self.release = threading.Event()
        self.requests: list[Call] = []
        self.translate = translate
        self._ids = itertools.count(1)
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True)
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                                        name="fake-openai", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def stop(self) -> None:
        if self.release.is_set():
            return
        self.release.set()
        self._server.shutdown()
        self._server.server_close()

    def completions(self) -> list[Call]:
        return [c for c in self.requests if c.path == "/v1/chat/completions"]

    # ------------------------------------------------------------------ protocol
    @Request.application
    def _app(self, request: Request) -> Response:
        body = request.get_data(cache=True)
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        call = Call(request.path, dict(request.headers.items()), parsed, body)
        self.requests.append(call)
        if request.path != "/v1/chat/completions" or request.method != "POST":
            return self._error(404, error_body(f"Invalid URL ({request.method} {request.path})", "invalid_request_error"))
        if self.api_key is not None and request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return self._error(401, error_body("Incorrect API key provided. You can find your API key at "
                                               "https://platform.openai.com/account/api-keys.",
                                               "invalid_request_error", "invalid_api_key"))
        if not isinstance(parsed, dict) or not isinstance(parsed.get("messages"), list) or not parsed["messages"]:
            return self._error(400, error_body("'messages' is a required property", "invalid_request_error",
                                               None, "messages"))
        model = parsed.get("model")
        if model not in self.models:
            return self._error(404, error_body(f"The model `{model}` does not exist or you do not have access to it.",
                                               "invalid_request_error", "model_not_found"))
        if self.mode == "slow":
            self.release.wait(self.slow_seconds)
        forced = self._forced(self.mode)
        if forced is not None:
            return forced
        return self._answer(call, model)

    def _forced(self, mode: str | None) -> Response | None:
        if mode == "400":
            return self._error(400, error_body("This model's maximum context length is 8192 tokens.",
                                               "invalid_request_error", "context_length_exceeded", "messages"))
        if mode == "401":
            return self._error(401, error_body("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"))
        if mode == "404":
            return self._error(404, error_body("The model does not exist.", "invalid_request_error", "model_not_found"))
        if mode == "429":
            return self._error(429, error_body("Rate limit reached for requests.", "requests", "rate_limit_exceeded"),
                               {"Retry-After": self.retry_after})
        if mode == "500":
            return self._error(500, error_body("The server had an error while processing your request. Sorry about that!",
                                               "server_error"))
        if mode == "malformed":
            return Response('{"id": "chatcmpl-1", "choices": [', status=200, content_type="application/json")
        return None

    def _answer(self, call: Call, model: str) -> Response:
        batch = call.batch
        mode = self.mode or (self.batch_mode if batch is not None else None)
        finish, refusal = "stop", None
        if batch is not None:
            outputs = [self.translate(text) for text in batch]
            if mode == "wrong-count":
                outputs = outputs[:-1]
            content: str | None = json.dumps(outputs, ensure_ascii=False)
            if mode == "commentary":
                content = "Here are the translations:\n" + content
        else:
            content = self.translate(call.user)
            if mode == "commentary":
                content = "Here is the translation:\n\n" + content
        if mode == "echo":
            content = call.user
        elif mode == "empty":
            content = ""
        elif mode == "length":
            content, finish = (content or "")[: max(1, len(content or "") // 3)], "length"
        elif mode == "refusal":
            content = "I'm sorry, but I can't help with that request."
        elif mode == "refusal-field":
            content, refusal = None, "I'm sorry, I cannot assist with that."
        prompt = len(" ".join(m.get("content") or "" for m in call.messages).split())
        completion = len((content or refusal or "").split())
        data = {
            "id": f"chatcmpl-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "system_fingerprint": "fp_loopback",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content, "refusal": refusal},
                         "logprobs": None, "finish_reason": finish}],
            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
        }
        return Response(json.dumps(data, ensure_ascii=False), content_type="application/json")

    @staticmethod
    def _error(status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
        return Response(json.dumps(payload), status=status, headers=headers, content_type="application/json")


def albanian_from_english(text: str) -> str:
    """The same for en→sq (a LibreTranslate test server behind a pivot route): every English
    word becomes the next filler word; placeholders, numbers, URLs stay."""
    filler = itertools.cycle(FILLER)
    out = []
    for piece in _TOKEN.findall(text):
        if re.fullmatch(r"[A-Za-z][\w'-]*", piece) and not piece.startswith("XGLX"):
            word = next(filler)
            out.append(word.capitalize() if piece[0].isupper() else word)
        else:
            out.append(piece)
    return "".join(out)
