"""Queueing stage: which messages go to whom, written to the send ledger. Nothing here sends
(dispatch does); every function is safe to run again: the ledger's (message key, recipient)
key means a second run, a manual send and a scheduled one never queue a message twice.

- ``queue_digest``: the daily/weekly digest of one language for its subscribers.
- ``queue_immediate``: every newly available release for the "immediate" subscribers who
  confirmed before it became publishable (never archive).
- ``queue_release``: staff send one release now (same key as the immediate message) to every
  confirmed subscriber of the language, archive or not.
- ``queue_test``: one test message to one address.

What the service sends on its own follows one rule (digest.py, docs/delivery.md "Which
releases a message holds"); a manual send by staff is the exception by design.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

from .digest import Candidate, DigestPlan, gather_candidates, plan_digest, plan_release, publishable_at
from .errors import PublisherError
from .models import Frequency, SubscriberStatus
from .settings import Settings
from .store import Store
from .subscriptions import normalise_email

CURSOR = "digest-cursor:{frequency}:{lang}"  # control row: last cutoff and the releases sent
KEEP_SENT = 1000
IMMEDIATE_DONE = "immediate-done"  # control row: release keys already available (mailed or nobody to mail)
KEEP_DONE = 5000


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _policies(settings: Settings) -> dict[str, str]:
    # every site language: a release confirmed in a target language is translated into the source one
    return {lang: settings.translation.publish.get(lang, "review") for lang in settings.site.languages}


def _candidates(settings: Settings, store: Store) -> list[Candidate]:
    found = gather_candidates(store, settings.site.languages, settings.site.source_language, _policies(settings))
    return [Candidate(c.release, c.variants, c.release.embargo_until, c.release.expires_at) for c in found]


def _recipients(store: Store, lang: str, frequency: str) -> list[tuple[int, str]]:
    return [(s.id, s.email) for s in store.list_subscribers(status=SubscriberStatus.CONFIRMED.value, lang=lang,
                                                            frequency=frequency)]


@dataclass
class QueueReport:
    messages: list[tuple[str, int]] = field(default_factory=list)  # (message key, rows queued)
    nothing_new: list[str] = field(default_factory=list)  # groups with nothing to send

    @property
    def queued(self) -> int:
        return sum(n for _, n in self.messages)

    def as_dict(self) -> dict[str, object]:
        return {"queued": self.queued, "messages": [{"key": k, "queued": n} for k, n in self.messages],
                "nothing_new": self.nothing_new}


def queue_digest(
    settings: Settings, store: Store, frequency: str, lang: str, now: dt.datetime | None = None,
) -> tuple[DigestPlan | None, int]:
    """Plan and queue the digest of ``frequency`` in ``lang`` for the period ``now`` is in.
    Nothing new since the last digest: nothing queued. Returns (plan, rows queued)."""
    now = now or _utcnow()
    if frequency not in (Frequency.DAILY.value, Frequency.WEEKLY.value):
        raise PublisherError(f"digests are daily or weekly, not {frequency!r}")
    if lang not in settings.site.languages:
        raise PublisherError(f"{lang!r} is not a language of this site ({', '.join(settings.site.languages)})")
    cursor_key = CURSOR.format(frequency=frequency, lang=lang)
    cursor = store.get_control(cursor_key)
    since = dt.datetime.fromisoformat(cursor["cutoff"]) if cursor.get("cutoff") else None
    sent = list(cursor.get("sent", []))
    plan = plan_digest(
        _candidates(settings, store), frequency=frequency, lang=lang, source_language=settings.site.source_language,
        now=now, zone=settings.site.zone, since=since, settings=settings.digest, already_sent=set(sent),
    )
    if plan is None:
        return None, 0
    earlier = store.list_deliveries(message_key=plan.message_key, limit=1)
    queued = store.enqueue(plan.message_key, "digest", lang, plan.payload(), _recipients(store, lang, frequency))
    carried = [int(i) for i in earlier[0].payload.get("releases", [])] if earlier else plan.release_ids
    if set(carried) >= set(plan.release_ids):  # the usual case, or the same plan again after a crash
        store.set_control(cursor_key, {"cutoff": plan.cutoff.isoformat(), "sent": (sent + carried)[-KEEP_SENT:]})
    else:  # this period's digest went out before these came: they go in the next one
        store.set_control(cursor_key, {**cursor, "sent": (sent + carried)[-KEEP_SENT:]})
    return plan, queued


def queue_digests(settings: Settings, store: Store, frequency: str, now: dt.datetime | None = None,
                  langs: list[str] | None = None) -> QueueReport:
    report = QueueReport()
    for lang in langs or settings.site.languages:
        plan, queued = queue_digest(settings, store, frequency, lang, now)
        if plan is None:
            report.nothing_new.append(f"{frequency}:{lang}")
        else:
            report.messages.append((plan.message_key, queued))
    return report


def _immediate_readers(store: Store, lang: str) -> list[tuple[int, str, dt.datetime]]:
    """(id, address, confirmed at) of the confirmed immediate subscribers of ``lang``."""
    return [(s.id, s.email, s.confirmed_at or s.created_at)
            for s in store.list_subscribers(status=SubscriberStatus.CONFIRMED.value, lang=lang,
                                            frequency=Frequency.IMMEDIATE.value)]


def queue_immediate(settings: Settings, store: Store, now: dt.datetime | None = None) -> QueueReport:
    """Each release that became available in a language goes once to that language's
    immediate subscribers who confirmed before it became publishable: a late subscriber
    gets nothing older than their confirmation. Archive is never mailed. A release is done
    in a language the first time it is available there, whether or not anyone was to get it
    (``immediate-done``), so someone who switches to immediate later gets no backlog either."""
    now = now or _utcnow()
    report = QueueReport()
    already = store.message_keys("release:")
    done = list(store.get_control(IMMEDIATE_DONE).get("keys", []))
    finished = set(done) | already
    readers = {lang: _immediate_readers(store, lang) for lang in settings.site.languages}
    added: list[str] = []
    for candidate in _candidates(settings, store):
        if candidate.release.archive:
            continue
        at = publishable_at(candidate)
        for lang in settings.site.languages:
            verdict, item, key = plan_release(candidate, lang, settings.site.source_language, now, settings.digest)
            if verdict != "include" or item is None or key in finished:
                continue
            finished.add(key)
            added.append(key)
            recipients = [(sid, address) for sid, address, confirmed in readers[lang] if confirmed < at]
            if recipients:
                queued = store.enqueue(key, "release", lang, {"release": candidate.release.id}, recipients)
                report.messages.append((key, queued))
    if added:
        store.set_control(IMMEDIATE_DONE, {"keys": (done + added)[-KEEP_DONE:]})
    return report


def queue_release(settings: Settings, store: Store, release_key: int | str, langs: list[str] | None = None,
                  now: dt.datetime | None = None) -> QueueReport:
    """Staff: send one release now to the confirmed subscribers of each language it is
    available in (all frequencies, whenever they confirmed; archive too: staff chose it).
    Same message key as the immediate message, so nobody gets it twice."""
    now = now or _utcnow()
    release = store.get_release(release_key)
    if release is None:
        raise PublisherError(f"no release {release_key!r}; `publisher releases list` shows the ids")
    if release.held:  # issue 9: its text is not in the source language
        raise PublisherError(f"release {release.id} is held: its text reads as {release.detected_language}, not "
                             f"{settings.site.source_language}; confirm its language first "
                             f"(`publisher releases confirm-language {release.id} LANG`)")
    candidate = next((c for c in _candidates(settings, store) if c.release.id == release.id), None)
    if candidate is None:
        raise PublisherError(f"release {release.id} is not published yet (embargo?)")
    report = QueueReport()
    for lang in langs or settings.site.languages:
        verdict, item, key = plan_release(candidate, lang, settings.site.source_language, now, settings.digest)
        if verdict != "include" or item is None:
            report.nothing_new.append(f"{lang}: not available ({verdict})")
            continue
        recipients = [(s.id, s.email) for s in store.list_subscribers(status=SubscriberStatus.CONFIRMED.value,
                                                                      lang=lang)]
        report.messages.append((key, store.enqueue(key, "release", lang, {"release": release.id}, recipients)))
    return report


def queue_test(store: Store, address: str, lang: str, release_ids: list[int] | None = None) -> str:
    """One test message to one address (no subscriber needed); returns its message key."""
    key = f"test:{uuid.uuid4().hex[:12]}"
    store.enqueue(key, "test", lang, {"releases": release_ids or []}, [(None, normalise_email(address))])
    return key
