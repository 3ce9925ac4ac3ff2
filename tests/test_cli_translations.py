"""translations list/show/approve/edit and glossary check through the CLI (real store)."""

from __future__ import annotations

import json

from publisher.app import App
from publisher.models import TranslationStatus

from .test_cli import run


def seeded(site):
    site.drop_sample()
    app = App(site.settings())
    app.ingest()
    release = app.store.list_releases()[0]
    app.store.save_machine_translation(
        release, "en", "IOM organised a meeting", "First.\n\nSecond.\n\nThird.\n\nFourth.", "apertium",
        [{"name": "numbers", "ok": True, "detail": ""}],
    )
    return app, release


def test_list_show_approve(site):
    app, release = seeded(site)
    code, out, _ = run("translations", "list", "--json", settings=site.settings_file)
    [item] = json.loads(out)
    assert (item["release_id"], item["lang"], item["status"], item["engine"]) == (release.id, "en", "machine", "apertium")
    code, out, _ = run("translations", "show", str(release.id), "en", "--json", settings=site.settings_file)
    shown = json.loads(out)
    assert shown["paragraphs"] == ["First.", "Second.", "Third.", "Fourth."]
    assert shown["original"]["title"] == release.title and len(shown["original"]["paragraphs"]) == 4
    code, out, _ = run("translations", "approve", str(release.id), "en", "--by", "ana", settings=site.settings_file)
    assert code == 0 and "reviewed" in out
    stored = app.store.get_translation(release.id, "en")
    assert stored.status is TranslationStatus.REVIEWED and stored.editor == "ana" and stored.reviewed_at
    app.close()


def test_edit_from_file_stores_a_human_translation(site, tmp_path):
    app, release = seeded(site)
    text = tmp_path / "sq.txt"
    text.write_text("IOM organizoi një takim\n\nParagrafi i parë me ë dhe ç.\n\nParagrafi i dytë.\n", encoding="utf-8")
    code, out, _ = run("translations", "edit", str(release.id), "sq", "--file", str(text), "--by", "drita",
                       settings=site.settings_file)
    assert code == 0 and "human (2 paragraphs)" in out
    stored = app.store.get_translation(release.id, "sq")
    assert stored.status is TranslationStatus.HUMAN and stored.machine is False and stored.engine == "human"
    assert stored.paragraphs == ["Paragrafi i parë me ë dhe ç.", "Paragrafi i dytë."]
    # a machine result never overwrites it
    app.store.save_machine_translation(release, "sq", "machine", "machine text", "google", [])
    assert app.store.get_translation(release.id, "sq").title == "IOM organizoi një takim"
    app.close()


def test_clear_errors_for_wrong_language_and_nothing_to_approve(site):
    app, release = seeded(site)
    code, _, err = run("translations", "show", str(release.id), "de", settings=site.settings_file)
    assert code == 1 and "'de' is not a target language" in err
    code, _, err = run("translations", "approve", str(release.id), "sq", settings=site.settings_file)
    assert code == 1 and "no machine translation into sq to approve" in err
    code, _, err = run("translations", "show", "999", "en", settings=site.settings_file)
    assert code == 1 and "no release '999'" in err
    app.close()


def test_glossary_check_reports_missing_renderings(site):
    site.write(extra='\n[translation]\nglossary = "terms.toml"\n')
    (site.dir / "terms.toml").write_text('[[terms]]\nmk = ["ИОМ"]\nkeep = "IOM"\n\n[[terms]]\nmk = ["Влада"]\nen = "Government"\n',
                                         encoding="utf-8")
    code, out, _ = run("glossary", "check", "--json", settings=site.settings_file)
    data = json.loads(out)
    assert code == 1 and data["terms"] == 2
    assert data["problems"] == [f"{site.dir / 'terms.toml'}, entry 2 (Влада): no rendering for 'sq'"]
    (site.dir / "terms.toml").write_text('[[terms]]\nmk = "ИОМ"\nkeep = "IOM"\n', encoding="utf-8")
    code, out, _ = run("glossary", "check", settings=site.settings_file)
    assert code == 0 and "1 term(s)" in out
