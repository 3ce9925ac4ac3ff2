"""The English path end to end with the real offline engine (Debian's Apertium): the sample
release gets a clean English variant; glossary terms right; the memory spares the engine."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from publisher.app import App
from publisher.models import TranslationStatus
from publisher.translate.stage import translate_pending, translate_release

from .test_cli import run

ROOT = Path(__file__).resolve().parent.parent


def prepared(site):
    shutil.copy(ROOT / "glossary.toml", site.dir / "glossary.toml")
    site.drop_sample()
    app = App(site.settings())
    app.ingest()
    return app


def test_sample_release_in_clean_english_from_apertium(site):
    app = prepared(site)
    report = translate_pending(app.translation, langs=["en"])
    assert report.translated == {"apertium": 1}, report.as_dict()
    [release] = app.store.list_releases()
    en = app.store.get_translation(release.id, "en")
    assert en.status is TranslationStatus.MACHINE and en.engine == "apertium" and en.machine
    assert len(en.paragraphs) == 4
    text = en.title + "\n" + en.body
    assert not re.search(r"[\u0400-\u04FF]", text), text
    for term in ("International Organization for Migration", "IOM", "WBCAP", "WBIBM", "border management",
                 "Western Balkans", "Skopje Declaration"):
        assert term in text, term
    assert {c["name"] for c in en.qa if c["ok"]} >= {"no-cyrillic", "language", "numbers", "glossary"}
    # google came first in the chain but is online: the reason is not an error, just skipped
    assert app.translation.stats["apertium.accepted"] == 1
    again, hits, sent = translate_release(app.translation, release, "en", force=True)
    assert sent == 0 and hits > 0 and again.body == en.body  # every segment from memory
    app.close()


def test_albanian_waits_offline_with_the_reason(site):
    app = prepared(site)
    report = translate_pending(app.translation)
    assert report.translated == {"apertium": 1}
    [(rid, lang, reason)] = report.waiting
    assert lang == "sq" and "online engines are off" in reason
    assert app.store.get_translation(rid, "sq").status is TranslationStatus.PENDING
    app.close()


def test_translate_text_command_one_line_out_per_line_in(site, monkeypatch):
    shutil.copy(ROOT / "glossary.toml", site.dir / "glossary.toml")
    from click.testing import CliRunner

    from publisher.cli import main

    text = "Членот на ДИК рече дека изборите ќе се одржат.\n\nИОМ работи на управувањето со границите.\n"
    result = CliRunner().invoke(main, ["translate", "text", "--to", "en", "--engine", "apertium",
                                       "--settings", str(site.settings_file)], input=text)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.split("\n")
    assert len(lines) == 4 and lines[1] == "" and lines[3] == ""
    assert "member" in lines[0].lower() and "State Election Commission" in lines[0] and "election" in lines[0].lower()
    assert "IOM" in lines[2] and "border management" in lines[2]
    assert not re.search(r"[\u0400-\u04FF]", result.stdout)


def test_translate_command_json_summary(site):
    app = prepared(site)
    app.close()
    code, out, _ = run("translate", "--lang", "en", "--json", settings=site.settings_file)
    import json

    data = json.loads(out)
    assert code == 0 and data["translated"] == {"apertium": 1} and data["engine_segments"] > 0
    assert data["memory"][0]["engine"] == "apertium"
