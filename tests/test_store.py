"""The store on real SQLite and PostgreSQL: dedupe order, revisions, times, bytes, migrations."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from publisher.cleaning import content_hash
from publisher.errors import StoreError
from publisher.models import CleanRelease, IngestOutcome
from publisher.store import Store
from publisher.store.schema import Base
from publisher.store.search import include_name

SKOPJE = ZoneInfo("Europe/Skopje")


def make(title="Наслов", body="Прв пасус.\n\nВтор пасус со ë и ç.", guid="a.txt", link=None,
         source="inbox", raw=b"raw \xd0\x98", published=None) -> CleanRelease:
    paragraphs = body.split("\n\n")
    return CleanRelease(
        source=source, ref=guid or link or "x", raw=raw, content_type="text/plain", title=title,
        body=body, content_hash=content_hash(title, paragraphs), guid=guid, link=link,
        published_at=published or dt.datetime(2024, 3, 31, 1, 30, tzinfo=SKOPJE), language="mk",
    )


def test_new_unchanged_updated(store):
    outcome, first = store.save_release(make())
    assert outcome is IngestOutcome.NEW and first.revision == 1
    outcome, again = store.save_release(make())
    assert outcome is IngestOutcome.UNCHANGED and again.id == first.id
    outcome, second = store.save_release(make(body="Прв пасус, исправен.\n\nВтор пасус со ë и ç.", raw=b"v2"))
    assert outcome is IngestOutcome.UPDATED
    assert (second.id, second.uid, second.revision) == (first.id, first.uid, 2)
    assert store.count_releases() == 1
    assert [r.revision for r in store.revisions(first.id)] == [1, 2]
    assert store.raw_revision(first.id, 1) == b"raw \xd0\x98"
    assert store.raw_revision(first.id) == b"v2"


def test_dedupe_by_link_then_by_content(store):
    _, by_link = store.save_release(make(guid=None, link="https://example.mk/a", source="feed"))
    outcome, same = store.save_release(make(guid="other-guid", link="https://example.mk/a", source="site"))
    assert outcome is IngestOutcome.UNCHANGED and same.id == by_link.id
    # same words, other guid and link, other whitespace: the content hash matches
    outcome, dup = store.save_release(make(title="  НАСЛОВ ", guid="copy.txt", link=None))
    assert outcome is IngestOutcome.UNCHANGED and dup.id == by_link.id
    assert store.count_releases() == 1


def test_guid_is_scoped_to_its_source(store):
    store.save_release(make(guid="1", source="one"))
    outcome, _ = store.save_release(make(guid="1", source="two", body="Сосема друг текст."))
    assert outcome is IngestOutcome.NEW and store.count_releases() == 2


def test_times_are_aware_utc_and_text_survives(store):
    published = dt.datetime(2024, 10, 27, 2, 30, tzinfo=SKOPJE)  # the night clocks go back
    _, saved = store.save_release(make(published=published))
    loaded = store.get_release(saved.uid)
    assert loaded.published_at.tzinfo is not None and loaded.published_at.utcoffset() == dt.timedelta(0)
    # (PEP 495: an ambiguous local time never compares equal across zones; compare instants)
    assert loaded.published_at.timestamp() == published.timestamp()
    assert loaded.published_at == dt.datetime(2024, 10, 27, 0, 30, tzinfo=dt.timezone.utc)
    assert loaded.body == "Прв пасус.\n\nВтор пасус со ë и ç."
    assert store.get_release(str(saved.id)).uid == saved.uid


def test_naive_datetime_is_refused(store):
    with pytest.raises(Exception, match="naive datetime"):
        store.save_release(make(published=dt.datetime(2024, 1, 1)))


def test_list_is_newest_first_and_filters(store):
    for day in (1, 3, 2):
        store.save_release(make(guid=f"{day}.txt", title=f"Ден {day}", body=f"Текст {day}.",
                                published=dt.datetime(2024, 5, day, tzinfo=dt.timezone.utc)))
    assert [r.title for r in store.list_releases()] == ["Ден 3", "Ден 2", "Ден 1"]
    assert [r.title for r in store.list_releases(limit=1, offset=1)] == ["Ден 2"]
    assert store.list_releases(source="nobody") == []


def test_quarantine_keeps_bytes_and_reason(store):
    item = store.add_quarantine("feed", "https://example.mk/feed", "not a feed: bad", b"<html>\x00</html>",
                                "text/html")
    [listed] = store.list_quarantine()
    assert listed.id == item.id and listed.reason == "not a feed: bad" and listed.size == 14
    assert store.quarantine_raw(item.id) == b"<html>\x00</html>"


def test_source_state_round_trip(store):
    assert store.get_source_state("inbox").state == {}
    store.save_source_state("inbox", {"etag": '"abc"', "files": {"a.txt": {"fp": [1, 2]}}})
    state = store.get_source_state("inbox")
    assert state.state["files"]["a.txt"]["fp"] == [1, 2] and state.last_error is None
    store.save_source_state("inbox", state.state, error="boom")
    again = store.get_source_state("inbox")
    assert again.last_error == "boom" and again.last_success_at == state.last_success_at


def test_migrations_match_the_models(db_url):
    store = Store(db_url)
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"include_name": include_name})  # not: the search index
        diff = compare_metadata(context, Base.metadata)
    store.close()
    assert diff == [], f"models and migrations differ: {diff}"


def test_unmigrated_database_is_refused(tmp_path):
    with pytest.raises(StoreError, match="publisher db upgrade"):
        Store(f"sqlite:///{tmp_path}/empty.db")


def test_publishable_follows_the_policy(store):
    from publisher.models import TranslationStatus

    _, one = store.save_release(make(guid="1.txt", title="Прва", body="Текст еден.",
                                     published=dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)))
    _, two = store.save_release(make(guid="2.txt", title="Втора", body="Текст два.",
                                     published=dt.datetime(2024, 5, 2, tzinfo=dt.timezone.utc)))
    store.save_machine_translation(one, "en", "First", "Text one.", "apertium", [])
    store.save_human_translation(two, "en", "Second", "Text two.", "ana")
    store.save_translation_problem(one, "sq", "google: failed: HTTP 503")
    assert [r.title for r, _ in store.publishable("mk", "mk")] == ["Втора", "Прва"]
    assert [t.title for _, t in store.publishable("en", "mk", "machine")] == ["Second", "First"]
    assert [t.title for _, t in store.publishable("en", "mk", "review")] == ["Second"]
    assert store.publishable("sq", "mk") == []
    assert store.published_languages([one.id, two.id], {"en": "review", "sq": "machine"}) == {one.id: [], two.id: ["en"]}
    assert store.get_translation(one.id, "sq").status is TranslationStatus.FAILED
