"""The translation service and the staff memory (issue 11), on a real store (SQLite and PostgreSQL)
with the in-process engines of test_translate_service: human entries are looked up first, before
the engine and before the engine's own memory; they still go through the checks; markup and
the memory switch are honoured; what a staff edit teaches the memory (publisher.translate.human)."""

from __future__ import annotations

from publisher.store.memory import HUMAN
from publisher.translate.human import memory_items
from publisher.translate.segment import segment_key

from .test_translate_service import ScriptedEngine, make_service

FIRST = "Регионалниот состанок на шефовите на граничните полиции се одржа во Скопје."
SECOND = "Делегациите разговараа за соработката во регионот и за новите мерки."
STAFF = "The regional meeting of the chiefs of border police was held in Skopje."


def teach(store, source=FIRST, target=STAFF, by="ana"):
    store.memory_put_human("mk", "en", [(segment_key(source), source, target)], by=by)


def test_staff_rendering_comes_before_the_engine_and_its_memory(tmp_path, store):
    google = ScriptedEngine("google")
    service, _ = make_service(tmp_path, {"google": google}, store=store)
    before = service.translate_texts([f"{FIRST} {SECOND}"], "mk", "en")
    assert before.ok and sum(map(len, google.calls)) == 2 and STAFF not in before.texts[0]  # both in google's memory now
    teach(store)
    google.calls.clear()
    after = service.translate_texts([f"{FIRST} {SECOND}"], "mk", "en")
    assert after.texts[0].startswith(STAFF + " ")  # not google's remembered output for that sentence
    assert google.calls == []  # the other sentence from google's memory
    assert (after.engine, after.human_hits, after.memory_hits, after.engine_segments) == ("google", 1, 2, 0)
    assert service.stats["human.memory_hits"] == 1
    [note] = [c for c in after.checks if c.name == "staff-memory"]
    assert note.ok and not note.blocking and "1 of 2 sentences from staff memory (ana, " in note.detail
    assert [(s["text"], s["sentence"], s["by"], s["start"]) for s in note.spans] == [(0, 0, "ana", 0)]
    hits = {e["engine"]: e["hits"] for e in store.memory_entries() if e["source"] == FIRST}
    assert hits[HUMAN] == 1


def test_only_staff_sentences_ask_no_engine_and_are_not_machine_made(tmp_path, store):
    google = ScriptedEngine("google")
    service, _ = make_service(tmp_path, {"google": google}, store=store)
    teach(store)
    result = service.translate_texts([FIRST], "mk", "en")
    assert result.ok and result.texts == [STAFF] and google.calls == []
    assert (result.engine, result.machine, result.human_hits, result.engine_segments) == (HUMAN, False, 1, 0)
    assert {c.name for c in result.checks} >= {"negation", "numbers", "no-cyrillic", "staff-memory"}
    # no engine needed: it works with every engine of the chain unavailable
    offline, _ = make_service(tmp_path, {}, store=store, extra="")
    offline.options.online = False
    assert offline.translate_texts([FIRST], "mk", "en").texts == [STAFF]


def test_a_staff_rendering_that_fails_a_blocking_check_is_left_to_the_engines(tmp_path, store):
    teach(store, target="Регионалниот состанок was held in Skopje.")  # Cyrillic left: rejected
    google = ScriptedEngine("google")
    service, _ = make_service(tmp_path, {"google": google}, store=store)
    result = service.translate_texts([FIRST], "mk", "en")
    assert result.ok and result.engine == "google" and len(google.calls) == 1
    assert result.attempts and result.attempts[0][0] == HUMAN and "no-cyrillic" in result.attempts[0][1]
    assert "Регионалниот" not in result.texts[0] and result.human_hits == 0


def test_memory_off_and_markup_sentences_go_to_the_engine(tmp_path, store):
    teach(store)
    google = ScriptedEngine("google")
    off, _ = make_service(tmp_path, {"google": google}, store=store)
    off.options.memory = False
    assert STAFF not in off.translate_texts([FIRST], "mk", "en").texts[0] and len(google.calls) == 1
    google.calls.clear()
    service, _ = make_service(tmp_path, {"google": google}, store=store)
    html = f"<strong>Регионалниот</strong> {FIRST.split(' ', 1)[1]} {SECOND}"
    result = service.translate_texts([f"{FIRST} {SECOND}"], "mk", "en", markup=[html])
    assert result.ok and result.human_hits == 0  # the sentence carries a tag that must travel: the engine's
    assert [c for c in google.calls if "Скопје" in c[0]]  # asked for it (its tags masked)


def test_what_a_staff_edit_teaches_the_memory():
    sources = ["Наслов на веста", f"{FIRST} {SECOND}", "Втор пасус. Со две реченици."]
    machine = ["News title", "Machine one. Machine two.", "Second paragraph. With two sentences."]
    edited = ["News title", f"{STAFF} Machine two.", "Second paragraph, now one sentence."]
    items, unaligned = memory_items(sources, edited, previous=machine)
    assert items == [(segment_key(FIRST), FIRST, STAFF)]  # only the changed sentence; unchanged ones are not human
    assert unaligned == [2]  # another number of sentences: saved, not remembered
    # no previous translation: every aligned sentence is the staff member's
    items, _ = memory_items(sources, edited)
    assert [s for _, s, _ in items] == ["Наслов на веста", FIRST, SECOND]
    # another number of paragraphs: only the title pairs
    items, unaligned = memory_items(sources, ["Staff title", "All in one paragraph."], previous=machine)
    assert [t for _, _, t in items] == ["Staff title"] and unaligned == [1, 2]
    # the page's fields say which sentence they render, whatever the text's shape
    items, unaligned = memory_items(sources, edited, machine, segments={(2, 1): "With two sentences, fixed."})
    assert items[-1] == (segment_key("Со две реченици."), "Со две реченици.", "With two sentences, fixed.")
    # a previous text of another shape: a sentence it had anywhere is not the staff member's
    items, _ = memory_items(sources, edited, previous=["News title", "Machine one. Machine two."])
    assert [t for _, _, t in items] == [STAFF]
