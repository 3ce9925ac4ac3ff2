"""Staff actions shared by the staff pages and the JSON API (so both do the same thing).
Synchronous: callers run them in a worker thread. Nothing here sends mail except
``test_send`` (one message to one address, on purpose); the rest writes to the ledger and
the running service dispatches it."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from ..digest import plan_digest
from ..errors import PublisherError
from ..models import StoredRelease, TranslationStatus
from ..sending import CURSOR, QueueReport, _candidates, queue_digest, queue_release, queue_test
from ..subscriptions import normalise_email
from ..translate.human import save_staff_edit

if TYPE_CHECKING:
    from ..app import App


class ActionError(PublisherError):
    """A staff request that cannot be done as asked (shown to the person, HTTP 400/404)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _release(app: App, release_id: int | str) -> StoredRelease:
    release = app.store.get_release(release_id)
    if release is None:
        raise ActionError(f"no release {release_id}", 404)
    return release


def _lang(app: App, lang: str, target: bool = False) -> str:
    allowed = app.settings.site.target_languages if target else app.settings.site.languages
    if lang not in allowed:
        raise ActionError(f"{lang!r} is not one of {', '.join(allowed)}", 404)
    return lang


def _variant_lang(app: App, release: StoredRelease, lang: str) -> str:
    """A language the release can be translated into: any site language but its own (a
    release confirmed in a target language is translated into the source language too)."""
    if lang not in app.settings.site.languages or lang == release.language:
        others = [code for code in app.settings.site.languages if code != release.language]
        raise ActionError(f"release {release.id} is in {release.language}; it is translated into "
                          f"{', '.join(others)}, not {lang!r}", 404)
    return lang


def _langs(app: App, lang: str | None) -> list[str] | None:
    return None if lang in (None, "", "all") else [_lang(app, lang)]  # type: ignore[arg-type]


def translation_json(t: Any) -> dict[str, Any] | None:
    if t is None:
        return None
    return {"release": t.release_id, "lang": t.lang, "status": t.status.value, "title": t.title, "body": t.body,
            "engine": t.engine, "machine": t.machine, "editor": t.editor, "error": t.error,
            "qa": list(t.qa), "updated_at": t.updated_at.isoformat()}


def release_json(r: StoredRelease) -> dict[str, Any]:
    return {"id": r.id, "uid": r.uid, "title": r.title, "body": r.body, "language": r.language,
            "published_at": r.published_at.isoformat(), "revision": r.revision,
            "language_status": r.language_status, "detected_language": r.detected_language}


# --------------------------------------------------------------------------- reading
def dashboard(app: App, limit: int = 15) -> dict[str, Any]:
    store, site = app.store, app.settings.site
    releases = []
    for release in store.list_releases(limit=limit):
        langs = {}
        for lang in site.target_languages:
            t = store.get_translation(release.id, lang) if lang != release.language else None
            langs[lang] = "original" if lang == release.language else t.status.value if t is not None else "missing"
        if release.language != site.source_language:  # confirmed in another language: translated into the source one
            t = store.get_translation(release.id, site.source_language)
            langs[site.source_language] = t.status.value if t is not None else "missing"
        releases.append({**release_json(release), "translations": langs})
    recent = store.list_deliveries(limit=limit)
    failures = [d for status in ("failed", "held") for d in store.list_deliveries(status=status, limit=limit)]

    def row(d: Any) -> dict[str, Any]:
        return {"id": d.id, "message": d.message_key, "kind": d.kind, "lang": d.lang, "recipient": d.recipient,
                "status": d.status.value, "reason": d.reason, "attempts": d.attempts, "error": d.last_error,
                "sent_at": d.sent_at.isoformat() if d.sent_at else None}

    return {"releases": releases, "queue": store.delivery_counts(), "paused": is_paused(app),
            "subscribers": store.subscriber_counts(), "translations": store.translation_counts(),
            "recent": [row(d) for d in recent], "failures": [row(d) for d in failures],
            "languages": site.languages, "target_languages": site.target_languages, "held": held(app)}


def is_paused(app: App) -> bool:
    return bool(app.store.get_control("sending").get("paused"))


def review(app: App, release_id: int | str, lang: str) -> dict[str, Any]:
    release = _release(app, release_id)
    _variant_lang(app, release, lang)
    return {"release": release_json(release), "translation": translation_json(app.store.get_translation(release.id,
                                                                                                       lang)),
            "engines": list(app.settings.translation.chains.get(lang, [])), "languages": app.settings.site.languages}


def compare(app: App, release_id: int | str, lang: str) -> dict[str, Any]:
    """Engines side by side on one release (publisher.translate.compare; nothing stored)."""
    from ..translate.compare import compare_release

    release = _release(app, release_id)
    return compare_release(app.settings, release, _variant_lang(app, release, lang))


def quarantine(app: App, limit: int = 100) -> list[dict[str, Any]]:
    return [{"id": q.id, "source": q.source, "ref": q.ref, "reason": q.reason, "size": q.size,
             "created_at": q.created_at.isoformat()} for q in app.store.list_quarantine(limit=limit)]


def held(app: App, limit: int = 50) -> list[dict[str, Any]]:
    """Releases held for a language mismatch (issue 9): in no feed or mail until confirmed."""
    from ..language_hold import held_releases

    return [{**release_json(r), "flags": list(r.flags)} for r in held_releases(app.store, limit)]


def confirm_language(app: App, release_id: int | str, language: Any) -> dict[str, Any]:
    """Staff confirm the language of a release (ends a hold; publisher.language_hold)."""
    from ..language_hold import UnknownRelease
    from ..language_hold import confirm_language as confirm

    if not isinstance(language, str) or not language.strip():
        raise ActionError('give the language as {"language": "sq"}, one of ' + ", ".join(app.settings.site.languages))
    try:
        return release_json(confirm(app.settings, app.store, release_id, language.strip()))
    except UnknownRelease as exc:
        raise ActionError(str(exc), 404) from None


def preview_digest(app: App, lang: str, frequency: str = "daily", now: dt.datetime | None = None) -> dict[str, Any]:
    """The digest of ``frequency`` in ``lang`` as the schedule would queue it now, rendered,
    nothing queued. With nothing new since the last digest: the latest releases instead."""
    settings, store = app.settings, app.store
    _lang(app, lang)
    if frequency not in ("daily", "weekly"):
        raise ActionError("frequency is daily or weekly")
    now = now or dt.datetime.now(dt.UTC)
    cursor = store.get_control(CURSOR.format(frequency=frequency, lang=lang))
    since = dt.datetime.fromisoformat(cursor["cutoff"]) if cursor.get("cutoff") else None
    plan = plan_digest(_candidates(settings, store), frequency=frequency, lang=lang,
                       source_language=settings.site.source_language, now=now, zone=settings.site.zone, since=since,
                       settings=settings.digest, already_sent=set(cursor.get("sent", [])))
    if plan is not None:
        payload, note = plan.payload(), "what the next digest holds"
    else:
        policy = settings.translation.publish.get(lang, "review")
        latest = [r.id for r, _ in store.publishable(lang, settings.site.source_language, policy,
                                                     limit=settings.digest.max_items)]
        if not latest:
            raise ActionError(f"nothing to preview in {lang}: no release is published in it yet", 404)
        payload, note = {"releases": latest, "frequency": frequency}, "nothing new since the last digest: the latest releases"
    subject, html, text = _render_preview(app, lang, payload)
    return {"lang": lang, "frequency": frequency, "note": note, "releases": payload["releases"],
            "subject": subject, "html": html, "text": text}


def _render_preview(app: App, lang: str, payload: dict[str, Any]) -> tuple[str, str, str]:
    """The digest's subject, HTML and text as the renderer makes them, with sample personal
    values (the preview has no recipient)."""
    from ..delivery.mime import shorten

    renderer = app.renderer
    env = renderer.env(lang)
    context = renderer._digest_context("digest", lang, payload)
    base = app.settings.site.base_url
    context.update(email="subscriber@example.org", unsubscribe_url=f"{base}/unsubscribe/PREVIEW",
                   preferences_url=f"{base}/preferences/PREVIEW", confirm_url=f"{base}/confirm/PREVIEW")
    subject = shorten(env.get_template("subject.txt.j2").render(context), app.settings.mail.max_subject_chars)
    context["subject"] = subject
    html = renderer._inliner.inline(env.get_template("digest.html.j2").render(context))
    return subject, html, env.get_template("digest.txt.j2").render(context)


# --------------------------------------------------------------------------- writing
def approve(app: App, release_id: int | str, lang: str, editor: str) -> dict[str, Any]:
    release = _release(app, release_id)
    _variant_lang(app, release, lang)
    return translation_json(app.store.approve_translation(release, lang, editor=editor))  # type: ignore[return-value]


def edit(app: App, release_id: int | str, lang: str, title: str, body: str, editor: str) -> dict[str, Any]:
    release = _release(app, release_id)
    _variant_lang(app, release, lang)
    title, body = title.strip(), body.replace("\r\n", "\n").strip()
    if not title or not body:
        raise ActionError("a translation needs a title and a text")
    paragraphs = [p.strip() for p in body.split("\n\n") if p.strip()]
    outcome = save_staff_edit(app.settings, app.store, release, lang, title, paragraphs, editor)
    return translation_json(outcome.stored)  # type: ignore[return-value]


def retranslate(app: App, release_id: int | str, lang: str, engine: str | None) -> dict[str, Any]:
    """Machine-translate again (with this engine), replacing even a reviewed or human text:
    staff asked for it."""
    from ..translate.stage import translate_release

    release = _release(app, release_id)
    _variant_lang(app, release, lang)
    engines = app.settings.translation.chains.get(lang, [])
    if engine and engine not in engines:
        raise ActionError(f"engine {engine!r} is not in the chain for {lang} ({', '.join(engines)})")
    stored, _hits, _sent = translate_release(app.translation, release, lang, engine=engine or None, force=True)
    if stored.status is not TranslationStatus.MACHINE:
        raise ActionError(f"re-translation into {lang} did not succeed: {stored.error or stored.status.value}", 502)
    return translation_json(stored)  # type: ignore[return-value]


def send_release(app: App, release_id: int | str, lang: str | None) -> dict[str, Any]:
    release = _release(app, release_id)
    return queue_release(app.settings, app.store, release.id, _langs(app, lang)).as_dict()


def send_digest(app: App, frequency: str, lang: str | None) -> dict[str, Any]:
    if frequency not in ("daily", "weekly"):
        raise ActionError("frequency is daily or weekly")
    report = QueueReport()
    for code in _langs(app, lang) or app.settings.site.languages:
        plan, queued = queue_digest(app.settings, app.store, frequency, code)
        if plan is None:
            report.nothing_new.append(f"{frequency}:{code}")
        else:
            report.messages.append((plan.message_key, queued))
    return report.as_dict()


def test_send(app: App, address: str, lang: str) -> dict[str, Any]:
    """The one synchronous send: one test message to one address, now."""
    _lang(app, lang)
    try:
        address = normalise_email(address)
    except PublisherError as exc:
        raise ActionError(str(exc)) from None
    if is_paused(app):
        raise ActionError("sending is paused; resume it to send a test")
    key = queue_test(app.store, address, lang)
    app.dispatch(message_key=key)
    [row] = app.store.list_deliveries(message_key=key)
    return {"message": key, "recipient": row.recipient, "status": row.status.value, "error": row.last_error,
            "message_id": row.message_id}


def retry_failed(app: App) -> dict[str, Any]:
    """Failed rows queued again, except permanent refusals and recipients who may no longer
    receive mail; held rows stay held (``release_held``)."""
    return app.store.requeue_failed()


def release_held(app: App, message_key: str | None = None) -> dict[str, Any]:
    """Held rows (no clear answer from the server) queued again on purpose, each with its
    original Message-ID."""
    return {"released": app.store.release_held(message_key or None), "message": message_key or None}


def set_paused(app: App, paused: bool) -> dict[str, Any]:
    app.store.set_control("sending", {"paused": paused})
    return {"paused": paused}
