"""CLI: translate, translations (list/show/approve/edit/retranslate), glossary check."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from .cli_common import _app, _dump, err, esc, handle_errors, json_option, out, settings_option
from .cleaning import Boilerplate, split_title
from .errors import PublisherError
from .lang import normalise_lang
from .models import StoredTranslation
from .render import show_time, translation_json
from .translate.base import describe_usage
from .translate.glossary import Glossary
from .translate.human import save_staff_edit
from .translate.stage import translate_pending, translate_release


def _lang(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return normalise_lang(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _target(app, lang: str) -> str:  # type: ignore[no-untyped-def]
    """A language releases are translated into: a target language, or the source language
    (for releases staff confirmed in another language, issue 9)."""
    code = _lang(lang)
    if code not in app.settings.site.languages:
        raise PublisherError(
            f"{lang!r} is not a target language (nor the source language) of this site; [site] source_language = "
            f"{app.settings.site.source_language!r}, target_languages = {app.settings.site.target_languages}"
        )
    return code


# ---------------------------------------------------------------------------- translate
@click.group(invoke_without_command=True)
@settings_option
@click.option("--release", "release_id", help="Only this release (id or uid).")
@click.option("--lang", help="Only this target language.")
@json_option
@click.pass_context
@handle_errors
def translate(ctx: click.Context, release_id: str | None, lang: str | None, as_json: bool) -> None:
    """Translate every release that has no current translation (or only one release/language)."""
    if ctx.invoked_subcommand is not None:
        return
    app = _app(ctx)
    langs = [_target(app, lang)] if lang else None
    quiet = as_json or not err.is_terminal
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}"),
                  TimeElapsedColumn(), console=err, disable=quiet, transient=True) as progress:
        task = progress.add_task("translating", total=None)

        def step(release, code, stored):  # type: ignore[no-untyped-def]
            progress.update(task, advance=1, description=f"{release.id} → {code}: {stored.status.value}")

        report = translate_pending(app.translation, release=release_id, langs=langs, progress=step)
    if as_json:
        _dump({**report.as_dict(), "memory": app.store.memory_stats()})
        return
    for engine, count in sorted(report.translated.items()):
        out.print(f"[green]translated[/] {esc(count)} by {esc(engine)}", highlight=False)
    for release, code, reason in report.waiting:
        out.print(f"[yellow]waiting[/] release {esc(release)} → {esc(code)}: {esc(reason)}", highlight=False)
    for release, code, reason in report.failed:
        out.print(f"[red]failed[/] release {esc(release)} → {esc(code)}: {esc(reason)}", highlight=False)
    out.print(
        f"translated: {esc(sum(report.translated.values()))}  waiting: {esc(len(report.waiting))}  failed: "
        f"{len(report.failed)}  stale: {report.stale}  segments from memory: {report.memory_hits}  "
        f"sent to engines: {report.engine_segments}"
    )


@translate.command("text")
@settings_option
@click.option("--to", "lang", required=True, help="Target language, e.g. en or sq.")
@click.option("--engine", help="Use only this engine instead of the language's chain.")
@click.pass_context
@handle_errors
def translate_text(ctx: click.Context, lang: str, engine: str | None) -> None:
    """Translate Macedonian text from stdin to stdout, one output line per input line
    (through the same glossary, memory and checks as releases)."""
    app = _app(ctx)
    code = _lang(lang)
    lines = sys.stdin.read().splitlines()
    work = [line for line in lines if line.strip()]
    if not work:
        return
    result = app.translation.translate_texts(work, app.settings.site.source_language, code, engine=engine)
    if not result.ok:
        raise PublisherError(f"no translation: {result.reason}")
    outputs = iter(result.texts)
    for line in lines:
        click.echo(next(outputs) if line.strip() else "")
    err.print(f"[dim]engine: {esc(result.engine)}; segments from memory: {esc(result.memory_hits)}; "
              f"sent to the engine: {esc(result.engine_segments)}[/]", highlight=False)


@translate.command("compare")
@settings_option
@click.argument("release_id")
@click.option("--lang", required=True, help="Target language, e.g. sq.")
@json_option
@click.pass_context
@handle_errors
def translate_compare(ctx: click.Context, release_id: str, lang: str, as_json: bool) -> None:
    """Every engine (and pivot route) that can run here on one release, side by side, with
    the quality checks, time and token usage. Stores nothing (no translation, no memory)."""
    from .translate.compare import compare_release

    app = _app(ctx)
    release = app.store.get_release(release_id)
    if release is None:
        raise PublisherError(f"no release {release_id!r}; `publisher releases list` shows the ids")
    data = compare_release(app.settings, release, _target(app, lang))
    if as_json:
        _dump(data)
        return
    ran = [e for e in data["engines"] if e["runs"]]
    summary = Table("engine", "status", "seconds", "cost", "problem")
    for e in data["engines"]:
        summary.add_row(*[esc(v) for v in (e["name"], e["status"], e.get("seconds", "-"), e.get("cost") or "-",
                                          (e.get("error") or e.get("reason") or "")[:120])])
    out.print(summary)
    texts = [data["original"]["title"], *data["original"]["paragraphs"]]
    for i, source in enumerate(texts):
        table = Table("engine", f"{'title' if i == 0 else f'paragraph {i}'}: {source[:100]}", "QA", show_lines=True)
        for e in ran:
            shown = ([e["title"]] + e["paragraphs"]) if e["title"] else []
            if i < len(shown):
                bad = [c["name"] for c in shown[i]["qa"] if not c["ok"]]
                table.add_row(esc(e["name"]), esc(shown[i]["output"]), "[green]ok[/]" if not bad else
                              f"[red]{esc(', '.join(bad))}[/]")
            else:
                table.add_row(esc(e["name"]), "[dim]no output[/]", "")
        out.print(table)
    out.print("[dim]a comparison: nothing was stored as a translation or in the memory[/]")


# ---------------------------------------------------------------------------- translations
@click.group()
def translations() -> None:
    """Review, approve, edit or re-translate the variants of a release."""


def _row(t: StoredTranslation) -> list[str]:
    return [esc(v) for v in (t.release_id, t.lang, t.status.value, t.engine or "-", t.title[:70], (t.error or "")[:80])]


@translations.command("list")
@settings_option
@click.option("--lang")
@click.option("--status", type=click.Choice(["pending", "machine", "reviewed", "human", "failed", "stale"]))
@click.option("--release", "release_id", type=int)
@click.option("--limit", default=200, show_default=True, type=click.IntRange(1, 10_000))
@json_option
@click.pass_context
@handle_errors
def translations_list(ctx: click.Context, lang: str | None, status: str | None, release_id: int | None,
                      limit: int, as_json: bool) -> None:
    """Translations, most recently changed first."""
    app = _app(ctx)
    items = app.store.list_translations(lang=_lang(lang), status=status, release_id=release_id, limit=limit)
    zone = app.settings.site.zone
    if as_json:
        _dump([translation_json(t, zone, body=False) for t in items])
        return
    table = Table("release", "lang", "status", "engine", "title", "problem")
    for t in items:
        table.add_row(*_row(t))
    out.print(table)
    counts = app.store.translation_counts()
    out.print("  ".join(f"{esc(lang)}: " + ", ".join(f"{esc(k)} {esc(v)}" for k, v in sorted(c.items())) for lang, c in counts.items()))


def _release_and_translation(app, release_id: str, lang: str):  # type: ignore[no-untyped-def]
    release = app.store.get_release(release_id)
    if release is None:
        raise PublisherError(f"no release {release_id!r}; `publisher releases list` shows the ids")
    code = _target(app, lang)
    return release, code, app.store.get_translation(release.id, code)


@translations.command("show")
@settings_option
@click.argument("release_id")
@click.argument("lang")
@json_option
@click.pass_context
@handle_errors
def translations_show(ctx: click.Context, release_id: str, lang: str, as_json: bool) -> None:
    """One translation side by side with the original."""
    app = _app(ctx)
    release, code, t = _release_and_translation(app, release_id, lang)
    if t is None:
        raise PublisherError(f"release {release.id} has no {code} translation yet; run `publisher translate`")
    zone = app.settings.site.zone
    if as_json:
        data = translation_json(t, zone, body=True)
        data["original"] = {"title": release.title, "paragraphs": release.paragraphs, "revision": release.revision}
        _dump(data)
        return
    out.print(f"release {esc(release.id)} → {esc(code)}: [bold]{esc(t.status.value)}[/] by {esc(t.engine or '-')}, "
              f"updated {esc(show_time(t.updated_at, zone))}" + (f", by {esc(t.editor)}" if t.editor else ""), highlight=False)
    if t.error:
        out.print(f"[yellow]{esc(t.error)}[/]", highlight=False)
    if t.usage:
        out.print(f"cost: {esc(describe_usage(t.usage))}", highlight=False)
    table = Table(app.settings.site.source_language, code, show_lines=True)
    table.add_row(f"[bold]{esc(release.title)}[/]", f"[bold]{esc(t.title)}[/]")
    originals, translated = release.paragraphs, t.paragraphs
    for i in range(max(len(originals), len(translated))):
        table.add_row(esc(originals[i]) if i < len(originals) else "", esc(translated[i]) if i < len(translated) else "")
    out.print(table)


@translations.command("approve")
@settings_option
@click.argument("release_id")
@click.argument("lang")
@click.option("--by", "editor", help="Who approves (recorded).")
@click.pass_context
@handle_errors
def translations_approve(ctx: click.Context, release_id: str, lang: str, editor: str | None) -> None:
    """Mark a machine translation as reviewed: it may then be published under a review policy."""
    app = _app(ctx)
    release, code, _ = _release_and_translation(app, release_id, lang)
    stored = app.store.approve_translation(release, code, editor)
    out.print(f"release {esc(release.id)} → {esc(code)}: {esc(stored.status.value)}")


@translations.command("edit")
@settings_option
@click.argument("release_id")
@click.argument("lang")
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Read the translation from this file (first line the title, then blank-line separated paragraphs).")
@click.option("--by", "editor", help="Who wrote it (recorded).")
@click.pass_context
@handle_errors
def translations_edit(ctx: click.Context, release_id: str, lang: str, path: Path | None, editor: str | None) -> None:
    """Store a human translation (from --file, or written in $EDITOR). A machine never overwrites it.

    Every changed sentence of a paragraph with as many sentences as its original is kept in
    the staff memory: the same sentence in a later release gets this rendering first."""
    app = _app(ctx)
    release, code, current = _release_and_translation(app, release_id, lang)
    if path is not None:
        text = path.read_text(encoding="utf-8-sig")
    else:
        start = current if current is not None and current.title else None
        template = (f"{start.title}\n\n" + "\n\n".join(start.paragraphs)) if start else (
            f"{release.title}\n\n" + "\n\n".join(release.paragraphs))
        text = click.edit(template + "\n", require_save=True, extension=".txt")
        if text is None:
            raise PublisherError("nothing saved in the editor; the translation is unchanged")
    title, paragraphs = split_title(text, Boilerplate())
    if not title or not paragraphs:
        raise PublisherError("the translation needs a title line, a blank line, then at least one paragraph")
    outcome = save_staff_edit(app.settings, app.store, release, code, title, paragraphs, editor)
    out.print(f"release {esc(release.id)} → {esc(code)}: {esc(outcome.stored.status.value)} ({esc(len(paragraphs))} "
              f"paragraphs); staff memory: {esc(outcome.added)} sentence(s) added, {esc(outcome.changed)} changed",
              highlight=False)
    if outcome.unaligned:
        where = ", ".join("the title" if i == 0 else f"paragraph {i}" for i in outcome.unaligned)
        err.print(f"not kept in the memory sentence by sentence: {esc(where)} (another number of sentences or "
                  f"paragraphs than the original); the text itself is saved", highlight=False)


@translations.command("retranslate")
@settings_option
@click.argument("release_id")
@click.argument("lang")
@click.option("--engine", required=True, help="The engine to use (replaces the current text, even a staff one).")
@click.pass_context
@handle_errors
def translations_retranslate(ctx: click.Context, release_id: str, lang: str, engine: str) -> None:
    """Translate one release again with another engine."""
    app = _app(ctx)
    release, code, _ = _release_and_translation(app, release_id, lang)
    stored, _, _ = translate_release(app.translation, release, code, engine=engine, force=True)
    out.print(f"release {esc(release.id)} → {esc(code)}: {esc(stored.status.value)} by {esc(stored.engine or '-')}"
              + (f" ({esc(stored.error)})" if stored.error else ""), highlight=False)
    if stored.status.value not in ("machine",):
        sys.exit(1)


# ---------------------------------------------------------------------------- glossary
@click.group()
def glossary() -> None:
    """The site's glossary of protected terms."""


@glossary.command("check")
@settings_option
@json_option
@click.pass_context
@handle_errors
def glossary_check(ctx: click.Context, as_json: bool) -> None:
    """Validate the glossary: every term has a rendering for every target language."""
    app = _app(ctx, check_store=False)
    path = app.settings.translation.glossary
    loaded = Glossary.load(path)
    problems = loaded.problems(app.settings.site.target_languages)
    if as_json:
        _dump({"file": str(path), "terms": len(loaded.terms), "problems": problems})
    else:
        table = Table("source forms", *app.settings.site.target_languages)
        for term in loaded.terms:
            table.add_row(esc(" | ".join(term.forms)), *[esc(term.render(lang)) if term.render(lang) else "[red]missing[/]"
                                                   for lang in app.settings.site.target_languages])
        out.print(table)
        for line in problems:
            err.print(f"[red]✗[/] {esc(line)}", highlight=False)
        out.print(f"{esc(len(loaded.terms))} term(s) in {esc(loaded.origin)}; {esc(len(problems))} problem(s)")
    if problems:
        sys.exit(1)
