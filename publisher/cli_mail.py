"""CLI: subscribers (add/list/remove/import/export/show) and send (later in this module)."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.table import Table

from .cli import _app, _dump, err, esc, handle_errors, json_option, main, out, settings_option
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


@main.group()
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


