"""CLI: subscribers (add/list/remove/import/export/show) and send (later in this module)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.table import Table

from .cli_common import _app, _dump, err, esc, handle_errors, json_option, out, settings_option
from .errors import PublisherError
from .models import Frequency, SubscriberStatus
from .render import show_time
from .subscriptions import (
    export_csv,
    import_csv,
    normalise_email,
    personal_data,
    subscribe,
    subscriber_record,
)

FREQUENCIES = [f.value for f in Frequency]


@click.group()
def subscribers() -> None:
    """Subscribers: add, list, remove, import, export (and one person's data)."""


@subscribers.command("add")
@settings_option
@click.argument("email")
@click.option("--lang", required=True, help="mk, en or sq (the site's languages).")
@click.option("--frequency", type=click.Choice(FREQUENCIES), default="weekly", show_default=True)
@click.option("--confirmed", is_flag=True,
              help="Staff import of someone who already opted in elsewhere: no confirmation email.")
@click.option("--consent", "consent_source", default="staff", show_default=True, help="Where the consent came from.")
@click.pass_context
@handle_errors
def subscribers_add(ctx: click.Context, email: str, lang: str, frequency: str, confirmed: bool,
                    consent_source: str) -> None:
    """Add a subscriber; a confirmation email is queued unless --confirmed."""
    app = _app(ctx)
    subscriber, queued = subscribe(app.store, email, lang, frequency, app.settings.site.languages,
                                   consent_source, confirmed)
    out.print(f"{esc(subscriber.email)}: {subscriber.status.value}, {subscriber.lang}, {subscriber.frequency.value}"
              + ("; confirmation email queued" if queued else ""), highlight=False)


@subscribers.command("list")
@settings_option
@click.option("--status", type=click.Choice([s.value for s in SubscriberStatus]))
@click.option("--lang")
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1, 1_000_000))
@json_option
@click.pass_context
@handle_errors
def subscribers_list(ctx: click.Context, status: str | None, lang: str | None, limit: int, as_json: bool) -> None:
    """Subscribers, oldest first."""
    app = _app(ctx)
    items = app.store.list_subscribers(status=status, lang=lang, limit=limit)
    if as_json:
        _dump([{"id": s.id, **subscriber_record(s)} for s in items])
        return
    zone = app.settings.site.zone
    table = Table("id", "email", "lang", "frequency", "status", "since")
    for s in items:
        table.add_row(*map(esc, (s.id, s.email, s.lang, s.frequency.value, s.status.value, show_time(s.created_at, zone))))
    out.print(table)
    counts = app.store.subscriber_counts()
    out.print("  ".join(f"{status}: {sum(c.values())}" for status, c in sorted(counts.items())) or "no subscribers")


@subscribers.command("show")
@settings_option
@click.argument("email")
@click.pass_context
@handle_errors
def subscribers_show(ctx: click.Context, email: str) -> None:
    """Everything stored about one person, as JSON (a GDPR access request)."""
    app = _app(ctx)
    _dump(personal_data(app.store, email))


@subscribers.command("remove")
@settings_option
@click.argument("email")
@click.option("--erase", is_flag=True, help="Delete the person's data (GDPR erasure), not only unsubscribe.")
@click.pass_context
@handle_errors
def subscribers_remove(ctx: click.Context, email: str, erase: bool) -> None:
    """Unsubscribe at once (or --erase: delete the person's data)."""
    app = _app(ctx)
    address = normalise_email(email)
    if erase:
        if not app.store.delete_subscriber(address):
            raise PublisherError(f"no subscriber {address}")
        out.print(f"{esc(address)}: erased (the send ledger keeps only a hash of the address)", highlight=False)
        return
    if app.store.get_subscriber(address) is None:
        raise PublisherError(f"no subscriber {address}")
    app.store.set_subscriber_status(address, SubscriberStatus.UNSUBSCRIBED)
    out.print(f"{esc(address)}: unsubscribed", highlight=False)


@subscribers.command("import")
@settings_option
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--lang", "default_lang", help="Language for rows without a `lang` column.")
@click.option("--frequency", "default_frequency", type=click.Choice(FREQUENCIES), default="weekly", show_default=True)
@click.option("--confirmed", is_flag=True, help="The people in the file already opted in elsewhere.")
@json_option
@click.pass_context
@handle_errors
def subscribers_import(ctx: click.Context, path: Path, default_lang: str | None, default_frequency: str,
                       confirmed: bool, as_json: bool) -> None:
    """Import a CSV (columns: email, lang, frequency). Bad rows are reported by line number;
    the good ones are imported."""
    app = _app(ctx)
    report = import_csv(app.store, path.read_text(encoding="utf-8-sig"), app.settings.site.languages,
                        default_lang or app.settings.site.source_language, default_frequency, confirmed,
                        consent_source=f"import:{path.name}")
    if as_json:
        _dump({"added": report.added, "existing": report.existing,
               "confirmations_queued": report.confirmations_queued,
               "errors": [{"line": n, "error": e} for n, e in report.errors]})
    else:
        for number, error in report.errors:
            err.print(f"[yellow]line {number}:[/] {esc(error)}", highlight=False)
        out.print(f"added: {report.added}  already there: {report.existing}  confirmations queued: "
                  f"{report.confirmations_queued}  bad rows: {len(report.errors)}")
    if report.errors:
        sys.exit(1)


@subscribers.command("export")
@settings_option
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path), required=False)
@click.option("--status", type=click.Choice([s.value for s in SubscriberStatus]))
@click.pass_context
@handle_errors
def subscribers_export(ctx: click.Context, path: Path | None, status: str | None) -> None:
    """Export subscribers as CSV (to PATH, or stdout)."""
    app = _app(ctx)
    text = export_csv(app.store.list_subscribers(status=status))
    if path is None:
        click.echo(text, nl=False)
    else:
        path.write_text(text, encoding="utf-8")
        out.print(f"wrote {text.count(chr(10)) - 1} subscriber(s) to {esc(path)}", highlight=False)




# ---------------------------------------------------------------------------- send
@click.group()
def send() -> None:
    """Queue and send messages through the send ledger (nothing is ever sent twice)."""


def _dispatch_now(app, message_key: str | None, as_json: bool):  # type: ignore[no-untyped-def]
    from rich.progress import BarColumn, Progress, TextColumn

    total = sum(app.store.delivery_counts(message_key).get(s, 0) for s in ("queued", "retry"))
    with Progress(TextColumn("sending"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
                  console=err, disable=as_json or not err.is_terminal, transient=True) as progress:
        task = progress.add_task("sending", total=total or None)
        report = app.dispatch(message_key=message_key,
                              progress=lambda r: progress.update(task, completed=r.done))
    return report


def _print_queue(report, as_json: bool, sent=None) -> None:  # type: ignore[no-untyped-def]
    if as_json:
        data = report.as_dict()
        if sent is not None:
            data["dispatch"] = sent.summary()
        _dump(data)
        return
    for key, count in report.messages:
        out.print(f"queued {count} × {esc(key)}", highlight=False)
    for note in report.nothing_new:
        out.print(f"[dim]nothing to send: {esc(note)}[/]", highlight=False)
    if sent is not None:
        out.print(esc(sent.summary()), highlight=False)


@send.command("digest")
@settings_option
@click.option("--lang", required=True, help="The language of the digest (its subscribers get it).")
@click.option("--frequency", type=click.Choice(["daily", "weekly"]), default="daily", show_default=True)
@click.option("--now", "now_", is_flag=True, help="Also send it in the foreground until its queue is empty.")
@json_option
@click.pass_context
@handle_errors
def send_digest(ctx: click.Context, lang: str, frequency: str, now_: bool, as_json: bool) -> None:
    """Queue this period's digest now (the same message the schedule would send)."""
    from .sending import QueueReport, queue_digest

    app = _app(ctx)
    plan, queued = queue_digest(app.settings, app.store, frequency, lang)
    report = QueueReport()
    if plan is None:
        report.nothing_new.append(f"{frequency}:{lang}: nothing new since the last digest")
    else:
        report.messages.append((plan.message_key, queued))
    sent = _dispatch_now(app, plan.message_key, as_json) if (now_ and plan) else None
    _print_queue(report, as_json, sent)


@send.command("release")
@settings_option
@click.argument("release_id")
@click.option("--lang", "langs", multiple=True, help="Only these languages (repeat the option).")
@click.option("--now", "now_", is_flag=True, help="Also send it in the foreground until its queue is empty.")
@json_option
@click.pass_context
@handle_errors
def send_release(ctx: click.Context, release_id: str, langs: tuple[str, ...], now_: bool, as_json: bool) -> None:
    """Send one release to the confirmed subscribers of each language it is available in."""
    from .sending import queue_release

    app = _app(ctx)
    report = queue_release(app.settings, app.store, release_id, list(langs) or None)
    sent = None
    if now_:
        for key, _ in report.messages:
            sent = _dispatch_now(app, key, as_json)
    _print_queue(report, as_json, sent)


@send.command("test")
@settings_option
@click.option("--to", "address", required=True, help="One address (need not be a subscriber).")
@click.option("--lang", default=None, help="Language of the test message (default: the source language).")
@click.pass_context
@handle_errors
def send_test(ctx: click.Context, address: str, lang: str | None) -> None:
    """Send one test message now, synchronously, and say what the server answered."""
    from .sending import queue_test

    app = _app(ctx)
    key = queue_test(app.store, address, lang or app.settings.site.source_language)
    app.dispatch(message_key=key)
    [row] = app.store.list_deliveries(message_key=key)
    if row.status.value != "sent":
        raise PublisherError(f"the test message to {row.recipient} was not sent: {row.status.value}: {row.last_error}")
    out.print(f"sent to {esc(row.recipient)} via {esc(app.settings.mail.transport)} ({esc(row.message_id)})",
              highlight=False)


@send.command("status")
@settings_option
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@click.pass_context
@handle_errors
def send_status(ctx: click.Context, limit: int, as_json: bool) -> None:
    """Queue counts, paused or not, and the messages that need a person (held, failed)."""
    app = _app(ctx)
    counts = app.store.delivery_counts()
    paused = bool(app.store.get_control("sending").get("paused"))
    attention = [d for status in ("held", "failed") for d in app.store.list_deliveries(status=status, limit=limit)]
    if as_json:
        _dump({"paused": paused, "counts": counts, "subscribers": app.store.subscriber_counts(),
               "attention": [{"id": d.id, "message": d.message_key, "recipient": d.recipient, "status": d.status.value,
                              "reason": d.reason, "attempts": d.attempts, "error": d.last_error,
                              "message_id": d.message_id} for d in attention]})
        return
    out.print(("[yellow]sending is PAUSED[/]" if paused else "sending is running") + "  "
              + "  ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    if attention:
        table = Table("id", "message", "recipient", "status", "reason", "attempts", "server said")
        for d in attention:
            table.add_row(*map(esc, (d.id, d.message_key, d.recipient, d.status.value, d.reason or "", d.attempts,
                                     d.last_error or "")))
        out.print(table)
    if counts.get("held"):
        out.print(f"{counts['held']} held: handed to the server without a clear answer (it may have them). "
                  "`publisher send release-held` sends them again with their original Message-ID.")


@send.command("retry-failed")
@settings_option
@click.option("--message", "message_key", default=None, help="Only this message key's rows.")
@json_option
@click.pass_context
@handle_errors
def send_retry_failed(ctx: click.Context, message_key: str | None, as_json: bool) -> None:
    """Queue failed messages again, except permanent refusals (5xx to the recipient or the
    message) and recipients who may no longer receive mail. Held messages stay held
    (`send release-held`)."""
    app = _app(ctx)
    result = app.store.requeue_failed(message_key)
    if as_json:
        _dump(result)
        return
    kept = result["kept"]
    out.print(f"queued again: {result['queued_again']}; left failed: {kept['permanent']} refused permanently by the"
              f" server, {kept['may_not_receive']} whose recipient may no longer receive mail")


@send.command("release-held")
@settings_option
@click.option("--message", "message_key", default=None, help="Only this message key's held rows.")
@json_option
@click.pass_context
@handle_errors
def send_release_held(ctx: click.Context, message_key: str | None, as_json: bool) -> None:
    """Queue held messages (handed over without a clear answer) again, on purpose. Each goes
    out with its original Message-ID, so a mail client that has the first copy can tell the
    second is the same message. Recipients who may no longer receive mail are skipped."""
    app = _app(ctx)
    released = app.store.release_held(message_key)
    if as_json:
        _dump({"released": released, "message": message_key})
        return
    out.print(f"held messages queued again: {released}" + (f" ({esc(message_key)})" if message_key else ""),
              highlight=False)


@send.command("pause")
@settings_option
@click.pass_context
@handle_errors
def send_pause(ctx: click.Context) -> None:
    """Stop sending (queued messages wait; nothing is lost)."""
    _app(ctx).store.set_control("sending", {"paused": True})
    out.print("sending paused")


@send.command("resume")
@settings_option
@click.pass_context
@handle_errors
def send_resume(ctx: click.Context) -> None:
    """Resume sending."""
    _app(ctx).store.set_control("sending", {"paused": False})
    out.print("sending resumed")


@send.command("dispatch")
@settings_option
@json_option
@click.pass_context
@handle_errors
def send_dispatch(ctx: click.Context, as_json: bool) -> None:
    """Queue what is due (new releases for immediate subscribers) and send everything queued,
    in the foreground (the service does this on its schedule)."""
    from .sending import queue_immediate

    app = _app(ctx)
    report = queue_immediate(app.settings, app.store)
    sent = _dispatch_now(app, None, as_json)
    _print_queue(report, as_json, sent)
