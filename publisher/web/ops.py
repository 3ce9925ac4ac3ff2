"""/healthz (the database answers) and /metrics (Prometheus text format, read from the store)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

if TYPE_CHECKING:
    from ..app import App

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _metric(lines: list[str], name: str, kind: str, help_text: str,
            samples: list[tuple[dict[str, object], float]]) -> None:
    lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        text = ",".join(f'{k}="{_label(v)}"' for k, v in labels.items())
        lines.append(f"{name}{{{text}}} {value:g}" if text else f"{name} {value:g}")


def metrics_text(app: App) -> str:
    store = app.store
    lines: list[str] = []
    counts = store.delivery_counts()
    statuses = ("queued", "sending", "retry", "sent", "failed", "held", "skipped")
    _metric(lines, "publisher_queue_depth", "gauge", "Send ledger rows per status.",
            [({"status": s}, counts.get(s, 0)) for s in statuses])
    kinds = store.delivery_kind_counts()
    names = sorted({k for k, _ in kinds} | {"confirm", "digest", "release", "test"})
    _metric(lines, "publisher_mail_sent_total", "counter", "Messages the mail server accepted, per kind.",
            [({"kind": k}, kinds.get((k, "sent"), 0)) for k in names])
    _metric(lines, "publisher_mail_failed_total", "counter", "Messages that failed for good, per kind.",
            [({"kind": k}, kinds.get((k, "failed"), 0)) for k in names])
    paused = bool(store.get_control("sending").get("paused"))
    _metric(lines, "publisher_sending_paused", "gauge", "1 when staff paused sending.", [({}, int(paused))])
    failures = store.translation_failures()
    _metric(lines, "publisher_translation_failures", "gauge", "Translations that failed, per engine.",
            [({"engine": e}, n) for e, n in sorted(failures.items())])
    usage = store.translation_usage_totals()  # cost visibility of model engines (issue 12)
    _metric(lines, "publisher_translation_tokens", "gauge",
            "Tokens spent on the stored translations (all attempts), per engine and kind.",
            [({"engine": e, "kind": k}, counts.get(f"{k}_tokens", 0))
             for e, counts in sorted(usage.items()) for k in ("prompt", "completion", "total")
             if any(key.endswith("_tokens") for key in counts)])
    _metric(lines, "publisher_translation_requests", "gauge",
            "Engine requests made for the stored translations (all attempts), per engine.",
            [({"engine": e}, counts.get("requests", 0)) for e, counts in sorted(usage.items())])
    polls = store.last_successful_polls()
    _metric(lines, "publisher_source_last_success_timestamp_seconds", "gauge",
            "When each source was last polled without error (Unix time).",
            [({"source": s}, when.timestamp()) for s, when in sorted(polls.items())])
    subscribers = store.subscriber_counts()
    samples = []
    for status, per_lang in sorted(subscribers.items()):
        items = per_lang.items() if isinstance(per_lang, dict) else [("all", per_lang)]
        samples += [({"status": status, "lang": lang}, n) for lang, n in sorted(items)]
    _metric(lines, "publisher_subscribers", "gauge", "Subscribers per status and language.", samples)
    return "\n".join(lines) + "\n"


def routes(app: App) -> list[Route]:
    async def healthz(request: Request) -> Response:
        try:
            await run_in_threadpool(app.store.ping)
        except Exception as exc:  # noqa: BLE001 (any failure means unhealthy)
            return JSONResponse({"status": "error", "database": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok"})

    async def metrics(request: Request) -> Response:
        return PlainTextResponse(await run_in_threadpool(metrics_text, app), media_type=CONTENT_TYPE)

    return [Route("/healthz", healthz), Route("/metrics", metrics)]
