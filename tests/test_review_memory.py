"""A sentence staff fix once (issue 11), on SQLite and PostgreSQL with the real Apertium engine and
the real web app: the segment edit on the review page stores a human memory entry with the
staff member's name; a later release holding the same source sentence gets the staff rendering
without the engine being asked for it, marked as from staff memory (stored checks, the review
page, the service's stats); a release made only of staff sentences calls no engine at all."""

from __future__ import annotations

import html
import re

import pytest

from publisher.models import TranslationStatus
from publisher.store.memory import HUMAN
from publisher.translate.segment import segment_key
from publisher.translate.stage import translate_pending

from .email_helpers import make_release
from .web_helpers import add_staff, client, csrf_of, login, make_web

FIXED_SOURCE = "До сега ДИК нема добиено никакви поплаки."
FIXED = "So far the State Election Commission has not received any complaints."
TITLE = "Состанок за граничната соработка во Скопје"
P1 = ("Министерството за внатрешни работи организираше состанок со шефовите на граничните служби. "
      f"{FIXED_SOURCE} Делегациите разговараа за новите мерки.")
P2 = "Состанокот заврши со заеднички заклучоци. Следниот состанок ќе се одржи наесен."
OTHER = "Владата донесе нова одлука за граничните премини."


@pytest.fixture
def web(site):
    app, web_app = make_web(site, '[translation]\nchains = { en = ["apertium"], sq = ["apertium"] }\n'
                                  'publish = { en = "checked", sq = "machine" }\n')
    add_staff(app)
    with client(web_app) as c:
        yield app, c
    app.close()


def recording(app) -> list[str]:
    """Every segment the real Apertium engine is asked to translate (it still translates them)."""
    engine = app.translation.engine("apertium")
    sent: list[str] = []
    real = engine.translate_batch

    def translate_batch(texts, src, tgt, **kwargs):
        sent.extend(texts)
        return real(texts, src, tgt, **kwargs)

    engine.translate_batch = translate_batch
    return sent


def test_a_sentence_fixed_on_the_page_comes_back_from_the_staff_memory(web):
    app, c = web
    sent = recording(app)
    first = make_release(app.store, 1, TITLE, f"{P1}\n\n{P2}")
    translate_pending(app.translation, langs=["en"])
    machine = app.store.get_translation(first.id, "en")
    assert machine.status is TranslationStatus.MACHINE and machine.engine == "apertium"
    assert any("ДИК" in s for s in sent)  # the engine translated the sentence the first time

    login(c)
    page = c.get(f"/staff/releases/{first.id}/en").text
    assert 'name="seg-1-1"' in page
    # no CSRF token: refused, nothing stored
    assert c.post(f"/staff/releases/{first.id}/en/segments", data={"seg-1-1": FIXED}).status_code == 403
    assert list(app.store.memory_entries(engine=HUMAN)) == []
    # the staff member fixes one sentence (the other fields come back as they were)
    fields = dict(re.findall(r'<textarea class="segment" rows="\d" id="[^"]+" name="(seg-[\d-]+)">(.*?)</textarea>', page,
                             re.S))
    fields = {k: html.unescape(v) for k, v in fields.items()}
    fields.update({"seg-1-1": f"  {FIXED}\r\n", "csrf_token": csrf_of(page)})
    back = c.post(f"/staff/releases/{first.id}/en/segments", data=fields)
    assert back.status_code == 303
    assert "1 sentence(s) kept in the staff memory" in c.get(f"/staff/releases/{first.id}/en").text
    edited = app.store.get_translation(first.id, "en")
    assert edited.status is TranslationStatus.HUMAN and edited.editor == "ana"
    assert FIXED in edited.paragraphs[0] and edited.paragraphs[0].count(".") == 3
    [entry] = app.store.memory_entries(engine=HUMAN)
    assert (entry["src"], entry["tgt"], entry["source"], entry["target"], entry["created_by"]) == (
        "mk", "en", FIXED_SOURCE, FIXED, "ana")
    assert entry["key"] == segment_key(FIXED_SOURCE) and entry["created_at"].tzinfo is not None

    # a second release with the same sentence among new ones
    sent.clear()
    second = make_release(app.store, 2, "Втор состанок на граничните служби", f"{OTHER} {FIXED_SOURCE}")
    report = translate_pending(app.translation, langs=["en"])
    assert sent and not any("ДИК" in s or "поплаки" in s for s in sent)  # not asked for the staff sentence
    assert any("Владата" in s for s in sent)  # only for the new ones
    assert app.translation.stats["human.memory_hits"] == 1 and report.memory_hits >= 1
    variant = app.store.get_translation(second.id, "en")
    assert variant.engine == "apertium" and variant.machine  # the rest is machine output
    assert variant.paragraphs[0].endswith(FIXED)
    [memory] = [q for q in variant.qa if q["name"] == "staff-memory"]
    assert memory["ok"] is True and "1 of 3 sentences from staff memory (ana, " in memory["detail"]
    [span] = memory["spans"]
    assert (span["text"], span["sentence"], span["by"], span["words"]) == (1, 1, "ana", [FIXED])
    assert variant.paragraphs[0][span["start"]:span["end"]] == FIXED
    negation = next(q for q in variant.qa if q["name"] == "negation")
    assert not any(FIXED in str(s.get("words")) for s in negation["spans"])  # the staff rendering keeps it

    shown = c.get(f"/staff/releases/{second.id}/en").text
    row = re.search(r'<tr class="sentence" id="s-1-1">(.*?)</tr>', shown, re.S).group(1)
    day = entry["created_at"].date().isoformat()
    assert f"from staff memory: ana, {day}" in row and FIXED in html.unescape(row)
    assert f"from staff memory: ana" not in re.search(r'<tr class="sentence" id="s-1-0">(.*?)</tr>', shown,
                                                       re.S).group(1)
    assert 'id="staff-memory"' in shown


def test_a_release_made_only_of_staff_sentences_calls_no_engine(web):
    app, c = web
    sent = recording(app)
    first = make_release(app.store, 1, TITLE, f"{P1}\n\n{P2}")
    translate_pending(app.translation, langs=["en"])
    login(c)
    page = c.get(f"/staff/releases/{first.id}/en").text
    title_en = "Meeting on cross-border cooperation held in Skopje"
    ended = "The meeting ended with joint conclusions agreed by all delegations."
    c.post(f"/staff/releases/{first.id}/en/segments", data={
        "csrf_token": csrf_of(page), "seg-0-0": title_en, "seg-1-1": FIXED, "seg-2-0": ended})
    assert {e["target"] for e in app.store.memory_entries(engine=HUMAN)} == {title_en, FIXED, ended}

    sent.clear()
    again = make_release(app.store, 2, TITLE, f"{FIXED_SOURCE} Состанокот заврши со заеднички заклучоци.")
    translate_pending(app.translation, langs=["en"])
    assert sent == []  # every sentence from the staff memory: the engine is not asked at all
    variant = app.store.get_translation(again.id, "en")
    assert (variant.title, variant.paragraphs) == (title_en, [f"{FIXED} {ended}"])
    assert variant.engine == HUMAN and variant.machine is False and variant.status is TranslationStatus.MACHINE
    # human text still goes through the checks; it passed them, so under publish = "checked" it is published
    assert {q["name"] for q in variant.qa} >= {"negation", "numbers", "language", "staff-memory"}
    assert variant.error is None
    assert again.id in [r.id for r, t in app.store.publishable("en", "mk", "checked") if t is not None]
