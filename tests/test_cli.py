"""The CLI contract: command names, --settings everywhere, --json documents, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from publisher.cli import main

from .conftest import SAMPLE_TITLE


def run(*args: str, settings: Path | None = None) -> tuple[int, str, str]:
    runner = CliRunner()
    argv = list(args) + (["--settings", str(settings)] if settings else [])
    result = runner.invoke(main, argv, catch_exceptions=False, env={"PUBLISHER_SETTINGS": None})
    return result.exit_code, result.stdout, result.stderr


def test_ingest_list_show_json(site):
    site.drop_sample()
    code, out, _ = run("ingest", "--json", settings=site.settings_file)
    assert code == 0
    report = json.loads(out)
    assert report["new"] == 1 and report["quarantined"] == 0
    assert report["items"]["new"] == ["inbox:iom-border-chiefs-meeting.mk.txt"]

    code, out, _ = run("releases", "list", "--json", settings=site.settings_file)
    [item] = json.loads(out)
    assert item["title"] == SAMPLE_TITLE and item["language"] == "mk" and item["revision"] == 1
    assert item["published_local"].endswith(("+01:00", "+02:00"))  # shown in Europe/Skopje

    code, out, _ = run("releases", "show", str(item["id"]), "--json", settings=site.settings_file)
    shown = json.loads(out)
    assert len(shown["paragraphs"]) == 4
    assert shown["revisions"][0]["raw_size"] == (site.inbox / "iom-border-chiefs-meeting.mk.txt").stat().st_size

    code, out, _ = run("ingest", settings=site.settings_file)
    assert code == 0 and "new: 0  updated: 0  unchanged: 1  quarantined: 0" in out


def test_settings_option_on_group_and_on_command(site):
    site.drop_sample()
    code, _, _ = run("--settings", str(site.settings_file), "ingest")
    assert code == 0
    code, out, _ = run("releases", "list", "--json", settings=site.settings_file)
    assert len(json.loads(out)) == 1


def test_show_raw_gives_original_bytes(site):
    sample = site.drop_sample()
    run("ingest", settings=site.settings_file)
    runner = CliRunner()
    result = runner.invoke(main, ["releases", "show", "1", "--raw", "--settings", str(site.settings_file)])
    assert result.stdout_bytes == sample.read_bytes()


def test_quarantine_json_lists_reason(site):
    (site.inbox / "empty.txt").write_bytes(b"")
    site.drop_sample()
    code, out, _ = run("ingest", "--json", settings=site.settings_file)
    assert code == 0 and json.loads(out)["quarantined"] == 1
    code, out, _ = run("releases", "quarantine", "--json", settings=site.settings_file)
    [item] = json.loads(out)
    assert item["ref"] == "empty.txt" and "empty file" in item["reason"]
    assert item["stored_path"] and Path(item["stored_path"]).exists()


def test_unknown_release_is_a_clear_error(site):
    code, _, err = run("releases", "show", "999", settings=site.settings_file)
    assert code == 1 and "no release '999'" in err


def test_bad_settings_stop_every_command_naming_the_key(tmp_path):
    bad = tmp_path / "settings.toml"
    bad.write_text('[site]\nsource_language = "mk"\ntarget_languages = ["en", "xx"]\n', encoding="utf-8")
    for args in (["ingest"], ["releases", "list"], ["config", "show"], ["db", "upgrade"]):
        code, _, err = run(*args, settings=bad)
        assert code == 2, args
        assert "target_languages" in err and "'xx'" in err


def test_pending_migrations_refuse_and_name_the_fix(tmp_path):
    settings = tmp_path / "settings.toml"
    settings.write_text(f'[store]\nurl = "sqlite:///{tmp_path}/fresh.db"\n', encoding="utf-8")
    code, _, err = run("ingest", settings=settings)
    assert code == 1 and "publisher db upgrade" in err
    code, out, _ = run("db", "upgrade", settings=settings)
    assert code == 0 and "upgraded" in out
    code, out, _ = run("db", "upgrade", settings=settings)
    assert code == 0 and "already" in out


def test_config_check_and_show_mask_secrets(tmp_path, monkeypatch):
    settings = tmp_path / "settings.toml"
    settings.write_text("[site]\nname = 'Тест'\n", encoding="utf-8")
    (tmp_path / "inbox").mkdir()
    monkeypatch.setenv("PUBLISHER_STORE__URL", "postgresql+psycopg://postgres:hunter2@127.0.0.1:5432/test")
    runner = CliRunner()
    result = runner.invoke(main, ["config", "show", "--json", "--settings", str(settings)])
    data = json.loads(result.stdout)
    assert "hunter2" not in result.stdout and data["store"]["url"].endswith("*****@127.0.0.1:5432/test")
    assert data["site"]["name"] == "Тест"
    monkeypatch.delenv("PUBLISHER_STORE__URL")
    code, _, err = run("config", "check", settings=settings)
    assert code == 1 and "publisher db upgrade" in err
    run("db", "upgrade", settings=settings)
    code, out, _ = run("config", "check", settings=settings)
    assert code == 0 and "settings OK" in out


def test_console_script_runs_as_a_real_process(site):
    site.drop_sample()
    exe = Path(sys.executable).with_name("publisher")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
    proc = subprocess.run(
        [str(exe), "--settings", str(site.settings_file), "run", "--once"],
        capture_output=True, text=True, encoding="utf-8", env=env, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "new: 1" in proc.stdout and "ИОМ организираше" in proc.stdout


def test_brackets_in_stored_text_are_shown_not_taken_as_markup(site):
    (site.inbox / "povik.txt").write_text(
        "Јавен повик [red]за[/] партнери\n\nИОМ објавува јавен повик за партнери во регионот на Западен Балкан.\n",
        encoding="utf-8",
    )
    run("ingest", settings=site.settings_file)
    code, out, _ = run("releases", "show", "1", settings=site.settings_file)
    assert code == 0 and "Јавен повик [red]за[/] партнери" in out
