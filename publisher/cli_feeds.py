"""CLI: publisher feeds build / feeds serve."""

from __future__ import annotations

import click

from .cli_common import _app, _dump, err, esc, handle_errors, json_option, out, settings_option
from .errors import PublisherError
from .lang import normalise_lang


@click.group()
def feeds() -> None:
    """Per-language RSS and Atom feeds, the OPML file and the feeds' index page."""


@feeds.command("build")
@settings_option
@click.option("--lang", "langs", multiple=True, help="Only this language (repeatable); default: every language.")
@json_option
@click.pass_context
@handle_errors
def feeds_build(ctx: click.Context, langs: tuple[str, ...], as_json: bool) -> None:
    """Build the feeds; a feed whose content did not change is not written (same bytes, same mtime)."""
    from .feeds import build_feeds

    app = _app(ctx)
    try:
        codes = [normalise_lang(code) for code in langs] or None
    except ValueError as exc:
        raise PublisherError(str(exc)) from None
    report = build_feeds(app.settings, app.store, codes)
    app.close()
    if as_json:
        _dump({**report.as_json(), "output_dir": str(app.settings.feeds.output_dir)})
        return
    for f in report.files:
        state = "[green]written[/]" if f.written else "[dim]unchanged[/]"
        entries = f" ({f.entries} entries)" if f.entries is not None else ""
        out.print(f"{state:>20} {esc(f.path)}{esc(entries)}", highlight=False)
    counts = report.counts()
    out.print(f"{counts['written']} written, {counts['unchanged']} unchanged in {esc(app.settings.feeds.output_dir)}")


@feeds.command("serve")
@settings_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.pass_context
@handle_errors
def feeds_serve(ctx: click.Context, host: str, port: int) -> None:
    """Serve the built feeds over HTTP (ETag, Last-Modified, 304, gzip) until Ctrl-C."""
    import uvicorn

    from .web.app import create_app

    app = _app(ctx, check_store=False)
    err.print(f"serving {esc(app.settings.feeds.output_dir)} on http://{esc(host)}:{port}/", highlight=False)
    uvicorn.run(create_app(app.settings), host=host, port=port, log_level="warning")
