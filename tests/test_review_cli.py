"""`publisher translations edit` feeds the staff memory sentence by sentence (issue 11) when the
edited text aligns with the original, and says which texts it could not pair (real store)."""

from __future__ import annotations

from publisher.app import App
from publisher.store.memory import HUMAN
from publisher.translate.segment import segment_key

from .email_helpers import make_release
from .test_cli import run

TITLE = "Состанок за граничната соработка"
P1 = "Делегациите разговараа за новите мерки. До сега ДИК нема добиено никакви поплаки."
P2 = "Состанокот заврши со заеднички заклучоци. Следниот состанок ќе се одржи наесен."


def test_edit_feeds_the_memory_where_the_text_aligns(site, tmp_path):
    app = App(site.settings())
    release = make_release(app.store, 1, TITLE, f"{P1}\n\n{P2}")
    app.store.save_machine_translation(release, "en", "Meeting on border cooperation",
                                       "The delegations talked about the new measures. To now DIK has won any poplaki."
                                       "\n\nThe meeting ended. The next meeting will be held in autumn.", "apertium", [])
    text = tmp_path / "en.txt"
    text.write_text("Meeting on border cooperation\n\n"
                    "The delegations talked about the new measures. So far the commission has not received any "
                    "complaints.\n\nThe meeting ended with joint conclusions, and the next one is in autumn.\n",
                    encoding="utf-8")
    code, out, err = run("translations", "edit", str(release.id), "en", "--file", str(text), "--by", "drita",
                         settings=site.settings_file)
    assert code == 0 and "human (2 paragraphs); staff memory: 1 sentence(s) added, 0 changed" in out
    assert "not kept in the memory sentence by sentence: paragraph 2" in err
    [entry] = app.store.memory_entries(engine=HUMAN)
    assert (entry["key"], entry["target"], entry["created_by"]) == (
        segment_key("До сега ДИК нема добиено никакви поплаки."),
        "So far the commission has not received any complaints.", "drita")
    # the same sentence edited again by someone else: the entry changes, its first date stays
    text.write_text("Meeting on border cooperation\n\nThe delegations talked about the new measures. So far the "
                    "commission has received no complaints.\n\nThe meeting ended. The next meeting is in autumn.\n",
                    encoding="utf-8")
    code, out, err = run("translations", "edit", str(release.id), "en", "--file", str(text), "--by", "ana",
                         settings=site.settings_file)
    assert code == 0 and "2 sentence(s) added, 1 changed" in out and not err  # paragraph 2 aligns now
    entries = {e["source"]: e for e in app.store.memory_entries(engine=HUMAN)}
    again = entries["До сега ДИК нема добиено никакви поплаки."]
    assert (again["target"], again["created_by"]) == ("So far the commission has received no complaints.", "ana")
    assert again["created_at"] == entry["created_at"] and again["changed_at"] is not None
    assert entries["Состанокот заврши со заеднички заклучоци."]["target"] == "The meeting ended."
    app.close()
