"""What every command module shares: consoles, the --settings and --json options, the App of a
command, error handling, JSON output. The command modules import this, never cli.py."""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from .app import App
from .errors import ConfigError, PublisherError


def esc(value: Any) -> str:
    """Dynamic text shown through rich: brackets in it are text, not markup."""
    return escape(str(value))


err = Console(stderr=True, soft_wrap=True)  # messages are never cut into lines
out = Console(soft_wrap=True)


def settings_option(func: Callable[..., Any]) -> Callable[..., Any]:
    """--settings PATH on every command (and on the group): the last one given wins."""

    def remember(ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
        if value:
            ctx.ensure_object(dict)["settings"] = value
        return value

    return click.option(
        "--settings",
        "settings_path",
        type=click.Path(dir_okay=False),
        expose_value=False,
        callback=remember,
        is_eager=True,
        help="Settings file (default: $PUBLISHER_SETTINGS, else ./settings.toml, else built-in defaults).",
    )(func)


def json_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON document on stdout.")(func)


def _settings_path(ctx: click.Context) -> str | None:
    root = ctx.find_root()
    return (root.obj or {}).get("settings")


def _app(ctx: click.Context, check_store: bool = True) -> App:
    return App.from_settings_file(_settings_path(ctx), check_store=check_store)


def handle_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            err.print(f"[bold red]settings error:[/] {esc(exc)}", markup=True, highlight=False)
            sys.exit(2)
        except PublisherError as exc:
            err.print(f"[bold red]error:[/] {esc(exc)}", markup=True, highlight=False)
            sys.exit(1)

    return wrapper


def _dump(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))
