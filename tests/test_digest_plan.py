"""plan_digest and the period keys: pure functions, plus gather_candidates on the real store."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from publisher.delivery.options import DigestSettings
from publisher.digest import (
    Candidate,
    digest_key,
    gather_candidates,
    period_bounds,
    period_key,
    plan_digest,
    plan_release,
    previous_period,
    release_key,
)
from publisher.models import StoredRelease, StoredTranslation, TranslationStatus

from .email_helpers import seed

SKOPJE = ZoneInfo("Europe/Skopje")
UTC = dt.UTC
NOW = dt.datetime(2026, 11, 29, 7, 0, tzinfo=UTC)  # 08:00 in Skopje
SINCE = NOW - dt.timedelta(days=1)


def release(n: int, published: dt.datetime) -> StoredRelease:
    return StoredRelease(
        id=n, uid=f"uid{n}", source="inbox", source_guid=None, link=None, slug=None, title=f"Наслов {n}",
        body="Пасус.", language="mk", flags=(), author=None, categories=(), published_at=published, revision=1,
        content_hash=f"h{n}", created_at=published, updated_at=published,
    )


def variant(n: int, lang: str, at: dt.datetime, machine: bool = True) -> StoredTranslation:
    status = TranslationStatus.MACHINE if machine else TranslationStatus.HUMAN
    return StoredTranslation(
        id=n, release_id=n, lang=lang, status=status, title=f"Titulli {n}", body="Paragraf.", engine="x",
        machine=machine, source_hash=f"h{n}", source_revision=1, qa=(), error=None, attempts=1, editor=None,
        created_at=at, updated_at=at, reviewed_at=None,
    )


def digest_settings(**extra) -> DigestSettings:
    return DigestSettings.model_validate({"missing_translation": {"en": "original", "sq": "wait"},
                                          "wait_hours": 24, **extra})


def plan(candidates, lang="sq", frequency="daily", now=NOW, since=SINCE, **extra):
    return plan_digest(candidates, frequency=frequency, lang=lang, source_language="mk", now=now, zone=SKOPJE,
                       since=since, settings=extra.pop("settings", digest_settings()), **extra)


# --------------------------------------------------------------------------- keys and periods
def test_keys():
    assert digest_key("daily", "sq", "2026-11-29") == "digest:daily:sq:2026-11-29"
    assert release_key("abc123", "en") == "release:abc123:en"
    assert period_key("daily", NOW, SKOPJE) == "2026-11-29"
    assert period_key("weekly", NOW, SKOPJE) == "2026-W48"
    # 23:30 UTC on the 28th is already the 29th in Skopje (UTC+1 in winter)
    assert period_key("daily", dt.datetime(2026, 11, 28, 23, 30, tzinfo=UTC), SKOPJE) == "2026-11-29"
    # ISO week-year differs from the calendar year around New Year
    assert period_key("weekly", dt.datetime(2026, 12, 31, 12, tzinfo=UTC), SKOPJE) == "2026-W53"
    assert period_key("weekly", dt.datetime(2027, 1, 3, 12, tzinfo=UTC), SKOPJE) == "2026-W53"
    assert previous_period("weekly", "2027-W01", SKOPJE) == "2026-W53"
    with pytest.raises(ValueError):
        period_key("monthly", NOW, SKOPJE)
    with pytest.raises(ValueError):
        period_key("daily", dt.datetime(2026, 11, 29), SKOPJE)  # naive
    with pytest.raises(ValueError):
        period_bounds("daily", "2026-W48", SKOPJE)


def test_dst_days_are_23_and_25_hours():
    start, end = period_bounds("daily", "2026-03-29", SKOPJE)  # spring forward
    assert end - start == dt.timedelta(hours=23)
    assert start == dt.datetime(2026, 3, 28, 23, tzinfo=UTC)
    start, end = period_bounds("daily", "2026-10-25", SKOPJE)  # fall back
    assert end - start == dt.timedelta(hours=25)
    assert end == dt.datetime(2026, 10, 25, 23, tzinfo=UTC)
    start, end = period_bounds("weekly", "2026-W43", SKOPJE)  # the week of 25 October
    assert end - start == dt.timedelta(hours=169)
    # the hour 02:30 local on the fall-back night exists twice; both belong to the 25th
    for fold in (0, 1):
        local = dt.datetime(2026, 10, 25, 2, 30, fold=fold, tzinfo=SKOPJE)
        assert period_key("daily", local.astimezone(UTC), SKOPJE) == "2026-10-25"


instants = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2090, 12, 31),
                        timezones=st.just(UTC))
zones = st.sampled_from([SKOPJE, ZoneInfo("UTC"), ZoneInfo("America/New_York"), ZoneInfo("Australia/Lord_Howe")])


@settings(max_examples=400, deadline=None)
@given(moment=instants, frequency=st.sampled_from(["daily", "weekly"]), zone=zones)
def test_period_contains_the_instant_and_periods_tile(moment, frequency, zone):
    key = period_key(frequency, moment, zone)
    start, end = period_bounds(frequency, key, zone)
    assert start <= moment < end
    hours = (end - start) / dt.timedelta(hours=1)
    allowed = {23, 23.5, 24, 24.5, 25} if frequency == "daily" else {167, 167.5, 168, 168.5, 169}
    assert hours in allowed
    # the next period starts exactly where this one ends; the previous one ends where it starts
    assert period_bounds(frequency, period_key(frequency, end, zone), zone)[0] == end
    assert period_bounds(frequency, previous_period(frequency, key, zone), zone)[1] == start
    # the local date of the start is the period's first day, at local midnight
    local = start.astimezone(zone)
    assert (local.hour, local.minute) == (0, 0)
    if frequency == "weekly":
        assert local.isoweekday() == 1


@settings(max_examples=200, deadline=None)
@given(moment=instants)
def test_skopje_daily_key_is_the_local_date(moment):
    assert period_key("daily", moment, SKOPJE) == moment.astimezone(SKOPJE).date().isoformat()


# --------------------------------------------------------------------------- plans
def test_nothing_new_means_no_digest():
    old = release(1, SINCE - dt.timedelta(hours=3))
    assert plan([Candidate(old, {"sq": variant(1, "sq", SINCE - dt.timedelta(hours=2))})]) is None
    assert plan([]) is None


def test_translated_releases_after_the_cutoff():
    r1, r2 = release(1, NOW - dt.timedelta(hours=5)), release(2, NOW - dt.timedelta(hours=3))
    result = plan([Candidate(r1, {"sq": variant(1, "sq", NOW - dt.timedelta(hours=4))}),
                   Candidate(r2, {"sq": variant(2, "sq", NOW - dt.timedelta(hours=2), machine=False)})])
    assert result.message_key == "digest:daily:sq:2026-11-29"
    assert (result.lang, result.period, result.frequency) == ("sq", "2026-11-29", "daily")
    assert result.release_ids == [2, 1]  # newest first
    assert [i.machine for i in result.items] == [False, True]
    assert result.cutoff == NOW
    assert result.payload() == {"releases": [2, 1], "period": "2026-11-29", "frequency": "daily"}


def test_wait_policy_holds_then_skips():
    fresh = release(1, NOW - dt.timedelta(hours=5))
    stale = release(2, NOW - dt.timedelta(hours=23, minutes=30))
    translated = release(3, NOW - dt.timedelta(hours=2))
    candidates = [Candidate(fresh), Candidate(stale), Candidate(translated, {"sq": variant(3, "sq", NOW)})]
    result = plan(candidates)
    assert result.release_ids == [3]
    assert set(result.waiting) == {1, 2}
    later = NOW + dt.timedelta(hours=1)  # release 2 has now waited more than 24 hours
    result = plan(candidates, now=later)
    assert (2, "no sq translation after 24 hours") in result.skipped
    assert 1 in result.waiting
    # only waiting items: no e-mail
    assert plan([Candidate(fresh)]) is None


def test_a_translation_that_arrives_later_comes_in_the_next_digest():
    r = release(1, NOW - dt.timedelta(hours=5))  # publishable in this period, no sq translation yet
    first = plan([Candidate(r)], now=NOW)
    assert first is None  # only waiting: no mail
    assert plan([Candidate(r), Candidate(release(2, NOW - dt.timedelta(hours=1)), {"sq": variant(2, "sq", NOW)})],
                now=NOW).waiting == (1,)
    tomorrow = NOW + dt.timedelta(days=1)
    arrived = variant(1, "sq", NOW + dt.timedelta(hours=2))
    result = plan([Candidate(r, {"sq": arrived})], now=tomorrow, since=NOW)
    assert result.release_ids == [1]
    assert result.message_key == "digest:daily:sq:2026-11-30"
    # ...and only once: the ledger's earlier payloads name it
    assert plan([Candidate(r, {"sq": arrived})], now=tomorrow, since=NOW, already_sent={1}) is None
    # a translation that existed at the last digest is no late arrival (that digest had it)
    early = variant(1, "sq", NOW - dt.timedelta(hours=1))
    assert plan([Candidate(r, {"sq": early})], now=tomorrow, since=NOW) is None
    # the source language and policy "original" never carry anything over
    assert plan([Candidate(r, {"sq": arrived})], lang="mk", now=tomorrow, since=NOW) is None


def test_the_same_releases_in_every_language_whatever_their_dates():
    """Chosen by when they became publishable, not by the published date nor the translation's
    time: the finding was a mk digest without the releases dated weeks before they came in."""
    came = NOW - dt.timedelta(hours=2)
    dated_old = StoredRelease(**{**release(1, NOW - dt.timedelta(days=20)).__dict__, "publishable_at": came})
    fresh = release(2, NOW - dt.timedelta(hours=1))
    archived = StoredRelease(**{**release(3, NOW - dt.timedelta(hours=3)).__dict__, "archive": True})
    before = release(4, SINCE - dt.timedelta(hours=1))  # in the last digest
    def translated(r, at):
        return Candidate(r, {"en": variant(r.id, "en", at), "sq": variant(r.id, "sq", at)})

    recent = NOW - dt.timedelta(minutes=30)
    candidates = [translated(r, recent) for r in (dated_old, fresh, archived)]
    candidates.append(translated(before, SINCE - dt.timedelta(minutes=30)))  # in every language then
    sets = {lang: plan(candidates, lang=lang).release_ids for lang in ("mk", "en", "sq")}
    assert sets == {"mk": [2, 1], "en": [2, 1], "sq": [2, 1]}
    # a release whose sq translation came only after the last digest waited for it: sq has it now
    late = [translated(before, recent)]
    assert plan(late, lang="sq").release_ids == [4] and plan(late, lang="mk") is None


def test_original_policy_includes_the_source_text():
    r = release(1, NOW - dt.timedelta(hours=2))
    result = plan([Candidate(r)], lang="en")
    item = result.items[0]
    assert (item.original, item.lang, item.machine) == (True, "mk", False)


def test_source_language_gets_everything_new():
    r1, r2 = release(1, NOW - dt.timedelta(hours=2)), release(2, SINCE - dt.timedelta(hours=1))
    result = plan([Candidate(r1), Candidate(r2)], lang="mk")
    assert result.release_ids == [1]
    assert result.items[0].original is False


def test_embargo_and_expiry():
    r1 = release(1, NOW - dt.timedelta(hours=3))
    v1 = {"sq": variant(1, "sq", NOW - dt.timedelta(hours=2))}
    embargoed = Candidate(r1, v1, embargo_until=NOW + dt.timedelta(hours=1))
    assert plan([embargoed]) is None
    result = plan([embargoed], now=NOW + dt.timedelta(hours=2))
    assert result.release_ids == [1]
    assert result.items[0].available_at == NOW + dt.timedelta(hours=1)
    # the embargo lifted after the last cutoff: new even though published before it
    old = Candidate(release(2, SINCE - dt.timedelta(hours=5)), {}, embargo_until=NOW - dt.timedelta(hours=1))
    assert plan([old], lang="mk").release_ids == [2]
    expired = Candidate(r1, v1, expires_at=NOW - dt.timedelta(minutes=1))
    assert plan([expired]) is None
    assert plan([Candidate(r1, v1, expires_at=NOW + dt.timedelta(minutes=1))]).release_ids == [1]


def test_max_items_and_duplicates():
    candidates = [Candidate(release(n, NOW - dt.timedelta(hours=n)), {"sq": variant(n, "sq", NOW - dt.timedelta(hours=n))})
                  for n in range(1, 6)]
    result = plan(candidates + candidates[:1], settings=digest_settings(max_items=3))
    assert result.release_ids == [1, 2, 3]
    assert [rid for rid, why in result.skipped if why == "over max_items"] == [4, 5]


def test_first_digest_covers_the_previous_period_only():
    recent = release(1, NOW - dt.timedelta(hours=20))
    ancient = release(2, NOW - dt.timedelta(days=30))
    result = plan([Candidate(recent), Candidate(ancient)], lang="mk", since=None)
    assert result.release_ids == [1]
    weekly = plan([Candidate(recent), Candidate(ancient)], lang="mk", since=None, frequency="weekly")
    assert weekly.message_key == "digest:weekly:mk:2026-W48"
    assert weekly.release_ids == [1]


def test_plan_release_for_immediate_subscribers():
    r = release(1, NOW - dt.timedelta(minutes=5))
    verdict, item, key = plan_release(Candidate(r), "sq", "mk", NOW, digest_settings())
    assert (verdict, item, key) == ("wait", None, "release:uid1:sq")
    verdict, item, key = plan_release(Candidate(r, {"sq": variant(1, "sq", NOW)}), "sq", "mk", NOW, digest_settings())
    assert verdict == "include" and item.machine and key == "release:uid1:sq"


def test_gather_candidates_from_the_store(store):
    releases = seed(store)
    candidates = gather_candidates(store, ["mk", "en", "sq"], "mk", {"en": "machine", "sq": "machine"})
    by_id = {c.release.id: c for c in candidates}
    assert set(by_id) == {r.id for r in releases.values()}
    assert set(by_id[releases["r1"].id].variants) == {"en", "sq"}
    assert set(by_id[releases["r2"].id].variants) == {"en"}
    assert by_id[releases["r3"].id].variants == {}
    # staff-only publishing drops the machine variants
    strict = gather_candidates(store, ["en", "sq"], "mk", {"en": "review", "sq": "review"})
    assert {c.release.id: set(c.variants) for c in strict}[releases["r1"].id] == set()
    since = min(c.release.publishable_at for c in candidates) - dt.timedelta(hours=1)
    now = max(c.release.publishable_at for c in candidates) + dt.timedelta(hours=1)
    result = plan_digest(candidates, frequency="daily", lang="sq", source_language="mk", now=now, zone=SKOPJE,
                         since=since, settings=digest_settings())
    assert result.release_ids == [releases["r1"].id]  # r2, r3: waiting for sq
    assert result.items[0].machine is True and set(result.waiting) == {releases["r2"].id, releases["r3"].id}
    mk = plan_digest(candidates, frequency="daily", lang="mk", source_language="mk", now=now, zone=SKOPJE,
                     since=since, settings=digest_settings())
    assert sorted(mk.release_ids) == sorted(r.id for r in releases.values())
    early = plan_digest(candidates, frequency="daily", lang="sq", source_language="mk",
                        now=since + dt.timedelta(minutes=30), zone=SKOPJE, since=since, settings=digest_settings())
    assert early is None  # none was publishable yet at that time
