"""Command line: every command calls the same service functions the scheduler will call."""

from __future__ import annotations

import logging
import sys
from typing import Any

import click
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from . import __version__
from .app import App
from .cli_common import _app, _dump, err, esc, handle_errors, json_option, out, settings_option
from .errors import PublisherError
from .models import IngestOutcome
from .render import quarantine_json, release_json, show_time

@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@settings_option
@click.option("-v", "--verbose", count=True, help="More log output (-vv for debug).")
@click.version_option(__version__, prog_name="publisher")
@click.pass_context
def main(ctx: click.Context, verbose: int) -> None:
    """publisher: Macedonian press releases → multilingual feeds and digests."""
    ctx.ensure_object(dict)
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


# ---------------------------------------------------------------------------- config
@main.group()
def config() -> None:
    """Check or show the effective settings."""


@config.command("check")
@settings_option
@click.pass_context
@handle_errors
def config_check(ctx: click.Context) -> None:
    """Validate the settings and the database; print what is wrong and how to fix it."""
    app = _app(ctx, check_store=False)
    translation_problems, warnings = app.check_translation()
    problems = app.check() + translation_problems
    origin = app.settings.settings_file or "built-in defaults"
    for name, reason in app.engine_status().items():
        mark = "[green]✓[/]" if reason is None else "[yellow]-[/]"
        err.print(f"{mark} engine {esc(name)}: {esc(reason or 'available')}", highlight=False)
    from .sources.netpolicy import describe_sources  # what each feed/webpage source may fetch

    for line in describe_sources(app.settings):
        out.print(f"[cyan]·[/] {esc(line)}", highlight=False)
    from .translate.routes import route_report

    states = route_report(app.settings.translation, app.settings.site.source_language,
                          app.settings.site.target_languages)
    for lang in app.settings.site.target_languages:
        err.print(f"routes into {esc(lang)}:", highlight=False)
        for state in (s for s in states if s.lang == lang):
            mark = "[green]✓[/] can run" if state.ok else "[yellow]-[/] cannot run"
            err.print(f"  {mark} {esc(state.route)}: {esc(state.detail)}", highlight=False)
    for line in warnings:
        err.print(f"[yellow]![/] {esc(line)}", highlight=False)
    for line in problems:
        err.print(f"[red]✗[/] {esc(line)}", highlight=False)
    if problems:
        sys.exit(1)
    out.print(f"[green]✓[/] settings OK ({esc(origin)}); {esc(len(app.settings.sources))} source(s); database up to date")


@config.command("show")
@settings_option
@json_option
@click.pass_context
@handle_errors
def config_show(ctx: click.Context, as_json: bool) -> None:
    """Print the effective settings (file < environment), secrets masked."""
    from .settings import masked_dump

    app = _app(ctx, check_store=False)
    data = masked_dump(app.settings)
    if as_json:
        _dump(data)
        return
    import tomli_w

    def without_none(node: Any) -> Any:  # TOML has no null: an unset key is simply absent
        if isinstance(node, dict):
            return {k: without_none(v) for k, v in node.items() if v is not None}
        if isinstance(node, list):
            return [without_none(v) for v in node]
        return node

    click.echo(f"# effective settings from {app.settings.settings_file or 'built-in defaults'}")
    click.echo(tomli_w.dumps(without_none(data)))


# ---------------------------------------------------------------------------- db
@main.group()
def db() -> None:
    """Database schema (Alembic migrations)."""


@db.command("upgrade")
@settings_option
@click.pass_context
@handle_errors
def db_upgrade(ctx: click.Context) -> None:
    """Apply pending migrations."""
    app = _app(ctx, check_store=False)
    before, after = app.store.upgrade()
    if before == after:
        out.print(f"database already at {esc(', '.join(sorted(after)))}")
    else:
        out.print(f"database upgraded: {esc(', '.join(sorted(before)) or 'empty')} → {esc(', '.join(sorted(after)))}")


# ---------------------------------------------------------------------------- ingest
_STYLE = {
    IngestOutcome.NEW: "green",
    IngestOutcome.UPDATED: "cyan",
    IngestOutcome.UNCHANGED: "dim",
    IngestOutcome.QUARANTINED: "yellow",
}


def run_ingest(app: App, source: str | None, as_json: bool) -> int:
    quiet = as_json or not err.is_terminal
    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed} items"),
        TimeElapsedColumn(), console=err, disable=quiet, transient=True,
    ) as progress:
        task = progress.add_task("ingesting", total=None)

        def step(source_name: str, outcome: IngestOutcome, ref: str) -> None:
            progress.update(task, advance=1, description=f"{source_name}: {outcome.value} {ref[-40:]}")

        report = app.ingest(only=source, progress=step)
    counts = report.counts()
    if as_json:
        _dump({
            **counts,
            "items": {
                "new": report.new,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "quarantined": [{"ref": r, "reason": why} for r, why in report.quarantined],
                "skipped": [{"ref": r, "why": why, "detail": d} for r, why, d in report.skipped],
            },
            "failed_sources": [{"source": s, "error": e} for s, e in report.failed_sources],
            "skipped": report.skipped_counts(),  # files left alone, per reason (issue 9)
        })
    else:
        for kind in (IngestOutcome.NEW, IngestOutcome.UPDATED):
            for ref in getattr(report, kind.value):
                out.print(f"[{_STYLE[kind]}]{kind.value:>11}[/] {esc(ref)}", highlight=False)
        for ref, why in report.quarantined:
            out.print(f"[yellow]quarantined[/] {esc(ref)}: {esc(why)}", highlight=False)
        for name, error in report.failed_sources:
            err.print(f"[red]source failed[/] {esc(name)}: {esc(error)}", highlight=False)
        for ref, why, detail in report.skipped:
            out.print(f"[dim]{'skipped':>11} {esc(ref)}: {esc(why)}{esc(' (' + detail + ')' if detail else '')}[/]",
                      highlight=False)
        skipped = report.skipped_counts()
        out.print(
            f"new: {esc(counts['new'])}  updated: {esc(counts['updated'])}  unchanged: {esc(counts['unchanged'])}  "
            f"quarantined: {counts['quarantined']}"
            + (f"  failed sources: {counts['failed_sources']}" if counts["failed_sources"] else "")
            + (f"  skipped: {sum(skipped.values())} ("
               + ", ".join(f"{esc(why)}: {n}" for why, n in skipped.items()) + ")" if skipped else "")
        )
    return 1 if report.failed_sources else 0


@main.command()
@settings_option
@click.option("--source", help="Only this source (its name in [[sources]]).")
@json_option
@click.pass_context
@handle_errors
def ingest(ctx: click.Context, source: str | None, as_json: bool) -> None:
    """Fetch every source once; store new releases and new revisions."""
    app = _app(ctx)
    sys.exit(run_ingest(app, source, as_json))


# ---------------------------------------------------------------------------- releases
@main.group()
def releases() -> None:
    """Stored releases and the quarantine."""


@releases.command("list")
@settings_option
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--source", help="Only releases from this source.")
@click.option("--held", is_flag=True, help="Only releases held for a language mismatch (confirm-language ends it).")
@json_option
@click.pass_context
@handle_errors
def releases_list(ctx: click.Context, limit: int, source: str | None, as_json: bool, held: bool = False) -> None:
    """Newest releases first. The lang column says 'sq? held' for a release held because its
    text is not in the source language."""
    from .language_hold import hold_label

    app = _app(ctx)
    items = app.store.list_releases(limit=limit, source=source, language_status="held" if held else None)
    if as_json:
        _dump([release_json(r, app.settings.site.zone, body=False) for r in items])
        return
    table = Table("id", "published", "lang", "rev", "source", "title", "flags")
    for r in items:
        table.add_row(*map(esc, (r.id, show_time(r.published_at, app.settings.site.zone), hold_label(r),
                                 r.revision, r.source, r.title, "; ".join(r.flags))))
    out.print(table)
    out.print(f"{esc(len(items))} of {esc(app.store.count_releases())} release(s)")


@releases.command("show")
@settings_option
@click.argument("release_id")
@click.option("--raw", is_flag=True, help="Write the original bytes of the latest revision to stdout.")
@json_option
@click.pass_context
@handle_errors
def releases_show(ctx: click.Context, release_id: str, raw: bool, as_json: bool) -> None:
    """One release (by id or uid) with its revisions."""
    app = _app(ctx)
    release = app.store.get_release(release_id)
    if release is None:
        raise PublisherError(f"no release {release_id!r}; `publisher releases list` shows the ids")
    if raw:
        sys.stdout.buffer.write(app.store.raw_revision(release.id) or b"")
        return
    revisions = app.store.revisions(release.id)
    zone = app.settings.site.zone
    if as_json:
        data = release_json(release, zone, body=True)
        data["revisions"] = [
            {"revision": v.revision, "title": v.title, "content_hash": v.content_hash, "ref": v.ref,
             "content_type": v.content_type, "raw_size": v.raw_size, "fetched_at": v.fetched_at.isoformat()}
            for v in revisions
        ]
        _dump(data)
        return
    out.print(f"[bold]{esc(release.title)}[/]", highlight=False)
    from .language_hold import hold_label

    out.print(f"id {esc(release.id)} · uid {esc(release.uid)} · {esc(release.source)} · {esc(hold_label(release))} · "
              f"revision {esc(release.revision)} · published {esc(show_time(release.published_at, zone))}", highlight=False)
    if release.link:
        out.print(f"link: {esc(release.link)}", highlight=False)
    if release.flags:
        out.print(f"[yellow]flags: {esc('; '.join(release.flags))}[/]", highlight=False)
    for paragraph in release.paragraphs:
        out.print()
        out.print(paragraph, highlight=False)
    out.print()
    for v in revisions:
        out.print(f"[dim]revision {esc(v.revision)} · {esc(show_time(v.fetched_at, zone))} · {esc(v.ref)} · "
                  f"{esc(v.content_type)} · {esc(v.raw_size)} bytes · {v.content_hash[:12]}[/]", highlight=False)


@releases.command("confirm-language")
@settings_option
@click.argument("release_id")
@click.argument("lang")
@json_option
@click.pass_context
@handle_errors
def releases_confirm_language(ctx: click.Context, release_id: str, lang: str, as_json: bool) -> None:
    """Staff: the release (id or uid) is in LANG, one of the site's languages. Ends a hold for
    a language mismatch: in the source language it is published as usual; in another it is
    published in that language's feed as the original and translated from it."""
    from .language_hold import confirm_language, hold_label

    app = _app(ctx)
    release = confirm_language(app.settings, app.store, release_id, lang)
    if as_json:
        _dump(release_json(release, app.settings.site.zone, body=False))
        return
    out.print(f"release {esc(release.id)} ({esc(release.title)}): {esc(hold_label(release))}; published in "
              f"{esc(release.language)} from the next feed build and mail run, translated from it", highlight=False)


@releases.command("quarantine")
@settings_option
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--source", help="Only items from this source.")
@json_option
@click.pass_context
@handle_errors
def releases_quarantine(ctx: click.Context, limit: int, source: str | None, as_json: bool) -> None:
    """Items that could not become releases, with the reason and where the original is."""
    app = _app(ctx)
    items = app.store.list_quarantine(limit=limit, source=source)
    zone = app.settings.site.zone
    if as_json:
        _dump([quarantine_json(q, zone) for q in items])
        return
    table = Table("id", "when", "source", "item", "reason", "original kept")
    for q in items:
        table.add_row(*map(esc, (q.id, show_time(q.created_at, zone), q.source, q.ref, q.reason,
                                 q.stored_path or f"in the database ({q.size} bytes)")))
    out.print(table)
    out.print(f"{esc(len(items))} quarantined item(s)")


# ---------------------------------------------------------------------------- run
@main.command()
@settings_option
@click.option("--once", is_flag=True, help="One cycle (ingest, translate, feeds, immediate mail), then exit.")
@click.option("--no-web", is_flag=True, help="Do not start the web server in this process.")
@click.pass_context
@handle_errors
def run(ctx: click.Context, once: bool, no_web: bool) -> None:
    """Run the service: the scheduler (poll, translate, feeds, send, digests; only one process
    on a database schedules, others wait to take over) and the web server, until SIGTERM/Ctrl-C.
    With --once: one cycle (ingest every source, translate what is pending, rebuild the feeds,
    send to immediate subscribers), then the stored releases and the state of their translations."""
    if not once:
        from .service import serve

        service_app = _app(ctx)
        try:
            code = serve(service_app, web=not no_web, echo=lambda line: out.print(esc(line), highlight=False))
        finally:
            service_app.close()
        sys.exit(code)
    from .feeds import build_feeds
    from .translate.stage import translate_pending

    app = _app(ctx)
    code = run_ingest(app, None, as_json=False)
    report = translate_pending(app.translation)
    out.print(f"translated: {esc(dict(report.translated) or 0)}  waiting: {len(report.waiting)}  "
              f"failed: {len(report.failed)}")
    for release, lang, reason in report.waiting + report.failed:
        out.print(f"  release {release} → {lang}: {esc(reason)}", highlight=False)
    feeds = build_feeds(app.settings, app.store)
    out.print(f"feeds: {len(feeds.written)} written, {feeds.counts()['unchanged']} unchanged, in "
              f"{esc(app.settings.feeds.output_dir)}", highlight=False)
    from .sending import queue_immediate

    queued = queue_immediate(app.settings, app.store)
    sent = app.dispatch()
    where = app.settings.mail.outbox_dir if app.settings.mail.transport == "outbox" else app.settings.mail.smtp_host
    out.print(f"mail: {queued.queued} queued for immediate subscribers; {esc(sent.summary())} ({esc(where)})",
              highlight=False)
    ctx.invoke(releases_list, limit=20, source=None, as_json=False)
    app.close()
    sys.exit(code)


from .cli_feeds import feeds
from .cli_mail import send, subscribers
from .cli_memory import memory
from .cli_translate import glossary, translate, translations
from .cli_web import users, web

for _command in (translate, translations, glossary, subscribers, send, feeds, web, users, memory):
    main.add_command(_command)

if __name__ == "__main__":  # pragma: no cover
    main()
