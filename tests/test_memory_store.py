"""The translation memory's human entries (staff edits, imports): stored with who and when, a later
edit replaces an earlier one, engine entries stay apart; on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from publisher.store.memory import HUMAN


def test_human_entries_keep_author_and_replace_earlier_edits(store) -> None:
    made = dt.datetime(2025, 3, 4, 10, 0, tzinfo=dt.timezone.utc)
    assert store.memory_put_human("mk", "en", [("k1", "Не дојде.", "He did not come.")], by="ana",
                                  created_at=made) == (1, 0)
    assert store.memory_put_human("mk", "en", [("k1", "Не дојде.", "She did not come.")], by="boris") == (0, 1)
    assert store.memory_put_human("mk", "en", [("k1", "Не дојде.", "She did not come.")], by="boris") == (0, 0)
    (entry,) = list(store.memory_entries(engine=HUMAN))
    assert entry["target"] == "She did not come." and entry["created_by"] == "boris"
    assert entry["created_at"] == made and entry["changed_at"] is not None
    assert entry["changed_at"].tzinfo is not None
    assert store.memory_get(HUMAN, "mk", "en", ["k1"]) == {"k1": "She did not come."}
    assert store.memory_get("apertium", "mk", "en", ["k1"]) == {}


def test_entries_stream_by_pair_and_engine(store) -> None:
    store.memory_put("apertium", "mk", "en", [(f"k{i}", f"извор {i}", f"source {i}") for i in range(1203)])
    store.memory_put("apertium", "mk", "sq", [("k1", "извор", "burim")])
    store.memory_put_human("mk", "en", [("h", "да", "yes")], by="ana", replace=False)
    entries = list(store.memory_entries(src="mk", tgt="en"))
    assert len(entries) == 1204
    assert [e["engine"] for e in entries].count(HUMAN) == 1
    assert len({e["key"] for e in entries if e["engine"] == "apertium"}) == 1203
    assert [e["target"] for e in store.memory_entries(tgt="sq")] == ["burim"]
