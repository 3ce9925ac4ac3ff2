"""CLI: publisher memory stats / export / import (the translation memory and TMX 1.4)."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
from rich.table import Table

from . import __version__
from .cli_common import _app, _dump, err, esc, handle_errors, json_option, out, settings_option
from .errors import PublisherError
from .lang import normalise_lang
from .store.memory import HUMAN
from .translate import tmx
from .translate.segment import segment_key


@click.group()
def memory() -> None:
    """The translation memory: sizes, and exchange with translators' tools (TMX 1.4)."""


def _pair(value: str | None) -> tuple[str | None, str | None]:
    if not value:
        return None, None
    parts = value.replace("_", "-").split("-")
    if len(parts) != 2:
        raise PublisherError(f"--pair {value!r}: write it as SOURCE-TARGET, e.g. mk-en")
    try:
        return normalise_lang(parts[0]), normalise_lang(parts[1])
    except ValueError as exc:
        raise PublisherError(f"--pair {value!r}: {exc}") from None


@memory.command("stats")
@settings_option
@json_option
@click.pass_context
@handle_errors
def memory_stats(ctx: click.Context, as_json: bool) -> None:
    """Entries and hits per engine and language pair (engine "human": staff edits and imports)."""
    app = _app(ctx)
    rows = app.store.memory_stats()
    app.close()
    if as_json:
        _dump(rows)
        return
    table = Table("engine", "pair", "segments", "hits")
    for row in rows:
        table.add_row(*map(esc, (row["engine"], row["pair"], row["segments"], row["hits"])))
    out.print(table)


@memory.command("export")
@settings_option
@click.option("--format", "fmt", type=click.Choice(["tmx"]), default="tmx", show_default=True,
              help="File format (TMX 1.4).")
@click.option("--pair", help="Only this language pair, e.g. mk-en.")
@click.option("--engine", "engines", multiple=True,
              help="Also this engine's entries (repeatable), or 'all' for every engine; default: human entries only.")
@click.option("--no-human", is_flag=True, help="Leave the human entries out (with --engine).")
@click.option("--out", "out_path", type=click.Path(dir_okay=False, writable=True),
              help="Write to this file (replaced only once complete); default: stdout.")
@json_option
@click.pass_context
@handle_errors
def memory_export(ctx: click.Context, fmt: str, pair: str | None, engines: tuple[str, ...], no_human: bool,
                  out_path: str | None, as_json: bool) -> None:
    """Write the memory as TMX 1.4: human entries (who made them and when) and, with --engine,
    engines' entries marked with <prop type="x-publisher-engine"> so an import gives them back
    as that engine's and never as human work. The file is written as it is read (streamed)."""
    if as_json and not out_path:
        raise PublisherError("--json needs --out FILE: without it the TMX itself goes to stdout")
    if no_human and not engines:
        raise PublisherError("--no-human leaves nothing to export; add --engine NAME or --engine all")
    src, tgt = _pair(pair)
    app = _app(ctx)
    store = app.store

    def entries() -> Iterator[dict[str, Any]]:
        if "all" in engines:
            for entry in store.memory_entries(src=src, tgt=tgt):
                if not (no_human and entry["engine"] == HUMAN):
                    yield entry
            return
        names = ([] if no_human else [HUMAN]) + [e for e in dict.fromkeys(engines) if e != HUMAN]
        for name in names:
            yield from store.memory_entries(engine=name, src=src, tgt=tgt)

    srclang = src or app.settings.site.source_language
    try:
        if out_path is None:
            sys.stdout.flush()
            stream = sys.stdout.buffer
            count = tmx.write_tmx(stream, entries(), srclang, __version__)
            stream.flush()
        else:
            target = Path(out_path)
            try:
                fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
            except OSError as exc:
                raise PublisherError(f"--out {out_path}: cannot write there ({exc.strerror}); "
                                     "give a file in a folder that exists and you may write to") from None
            try:
                with os.fdopen(fd, "wb") as handle:
                    count = tmx.write_tmx(handle, entries(), srclang, __version__)
                os.replace(tmp, target)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
    finally:
        app.close()
    what = "human" if not engines else ("every engine's" if "all" in engines else "human and " + ", ".join(engines))
    if no_human:
        what = what.replace("human and ", "")
    summary = {"format": fmt, "units": count, "pair": pair, "entries": what, "out": out_path}
    if as_json:
        _dump(summary)
    else:
        err.print(f"{count} translation unit(s) ({esc(what)} entries) written to {esc(out_path or 'stdout')}",
                  highlight=False)


@memory.command("import")
@settings_option
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--by", "default_by", help="Who made units that name no creator (default: tmx:FILE-NAME).")
@click.option("--keep-existing", is_flag=True, help="Never replace a stored entry, even by a newer one.")
@click.option("--dry-run", is_flag=True, help="Read and count; store nothing.")
@click.option("--max-mb", type=click.IntRange(1, 4096), default=tmx.MAX_TMX_BYTES // 1_000_000, show_default=True,
              help="Refuse a file larger than this many megabytes.")
@json_option
@click.pass_context
@handle_errors
def memory_import(ctx: click.Context, file: str, default_by: str | None, keep_existing: bool, dry_run: bool,
                  max_mb: int, as_json: bool) -> None:
    """Read a TMX file (1.4, or 1.1–1.3) from a translator's tool into the memory. A unit without
    our x-publisher-engine prop is a human entry, found before any engine. All of a file is
    stored or none of it: a malformed file stores nothing. Units for languages the project does
    not have are skipped and counted. A stored entry is replaced only by a newer one."""
    app = _app(ctx)
    site = app.settings.site
    languages = {site.source_language, *site.target_languages}
    try:
        read = tmx.read_tmx(file, languages, site.source_language, default_by or f"tmx:{Path(file).name}",
                            max_bytes=max_mb * 1_000_000)
        entries = [{
            "engine": unit.engine or HUMAN, "src": unit.src, "tgt": unit.tgt, "key": segment_key(unit.source),
            "source": unit.source, "target": unit.target, "created_by": unit.created_by,
            "created_at": unit.created_at, "changed_at": unit.changed_at,
        } for unit in read.units if unit.src != unit.tgt]
        counts = app.store.memory_import(entries, keep_existing=keep_existing, dry_run=dry_run)
    finally:
        app.close()
    engines = sorted({e["engine"] for e in entries if e["engine"] != HUMAN})
    report = {
        "file": file, "dry_run": dry_run, "units": read.tus, "entries": len(entries), **counts,
        "skipped": dict(read.skipped.most_common()), "inline_markup_dropped": read.inline_dropped,
        "engines": engines,
    }
    if as_json:
        _dump(report)
        return
    verb = "would be" if dry_run else "were"
    out.print(f"{esc(file)}: {read.tus} unit(s) read, {len(entries)} entries; added {counts['added']}, "
              f"changed {counts['changed']}, unchanged {counts['unchanged']}, kept {counts['kept']}"
              + (" (the stored one is as new or newer, or --keep-existing)" if counts["kept"] else "")
              + (f", {counts['duplicates']} duplicate(s) in the file"
                                                         if counts["duplicates"] else "")
              + f" — {'nothing stored (dry run)' if dry_run else 'stored'}", highlight=False)
    for reason, n in read.skipped.most_common():
        out.print(f"[dim]  skipped {n}: {esc(reason)}[/]", highlight=False)
    if read.inline_dropped:
        out.print(f"[dim]  {read.inline_dropped} unit(s) had inline codes (<bpt>, <ph>…) that {verb} dropped "
                  "(their words kept)[/]", highlight=False)
    if engines:
        out.print(f"[dim]  engine entries (x-publisher-engine): {esc(', '.join(engines))}[/]", highlight=False)
