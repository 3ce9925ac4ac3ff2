"""The service's scheduler: the one process that runs the stages on a timetable.

Jobs (fixed ids, triggers from ``[scheduler]`` and ``[digest]``, all in the site's zone):

    poll           every poll_minutes: ingest; when something is new or updated, carry it on at
                   once (translate → feeds → queue immediate → dispatch), so a release reaches
                   the feeds and the immediate subscribers within one poll interval
    translate      every translate_minutes: translate_pending (waiting ones, failed with attempts left)
    feeds          every feeds_minutes: build_feeds (embargoes lift, staff approve translations)
    dispatch       every dispatch_seconds: queue_immediate + dispatch_pending (web "send now" too)
    digest-daily   cron daily_time: queue_digests("daily") + dispatch
    digest-weekly  cron weekly_day weekly_time: queue_digests("weekly") + dispatch
    retry          every retry_minutes: claims of dead senders back to the queue (or held)
    cleanup        cron cleanup_time: quarantine rows (and their files) older than quarantine_days

Every job calls the same stage function the CLI calls; the stages are idempotent, so a job run
twice, or by the CLI at the same time, does no harm. ``coalesce``, ``max_instances=1`` and a
misfire grace time are set on every job.

Job store: APScheduler's memory job store, rebuilt from the settings at every start, plus our own
cursors in the ``control`` table (``scheduler:last:<job>``, ``scheduler:digest:<frequency>``).
A pickled SQLAlchemyJobStore would keep APScheduler's next run times, but it cannot express
"a digest missed while down is sent at start-up only within its period", would keep stale jobs
when the settings change, and needs a table outside the migrations; the cursors are enough.

Leadership: only the holder of the database lease ``scheduler`` (store/leases.py) schedules;
it renews the lease every lease_seconds/3. Another ``publisher run`` waits and takes over
within lease_seconds of the leader's death. See ``Service``.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from .digest import period_bounds, period_key
from .feeds import build_feeds
from .sending import queue_digests, queue_immediate
from .settings import Settings
from .translate.stage import translate_pending

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
LAST = "scheduler:last:{job}"
DIGEST_CURSOR = "scheduler:digest:{frequency}"
JOB_IDS = ("poll", "translate", "feeds", "dispatch", "digest-daily", "digest-weekly", "retry", "cleanup")
Event = Callable[..., None]


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _hm(value: str) -> tuple[int, int]:
    hour, minute = value.split(":")
    return int(hour), int(minute)


def build_triggers(settings: Settings) -> dict[str, BaseTrigger]:
    """Job id → trigger, from the settings (cron triggers in the site's zone: DST-correct)."""
    s, d, zone = settings.scheduler, settings.digest, settings.site.zone
    daily_h, daily_m = _hm(d.daily_time)
    weekly_h, weekly_m = _hm(d.weekly_time)
    clean_h, clean_m = _hm(s.cleanup_time)
    return {
        "poll": IntervalTrigger(minutes=s.poll_minutes, timezone=zone),
        "translate": IntervalTrigger(minutes=s.translate_minutes, timezone=zone),
        "feeds": IntervalTrigger(minutes=s.feeds_minutes, timezone=zone),
        "dispatch": IntervalTrigger(seconds=s.dispatch_seconds, timezone=zone),
        "digest-daily": CronTrigger(hour=daily_h, minute=daily_m, timezone=zone),
        "digest-weekly": CronTrigger(day_of_week=d.weekly_day, hour=weekly_h, minute=weekly_m, timezone=zone),
        "retry": IntervalTrigger(minutes=s.retry_minutes, timezone=zone),
        "cleanup": CronTrigger(hour=clean_h, minute=clean_m, timezone=zone),
    }


def last_fire(trigger: BaseTrigger, now: dt.datetime, lookback: dt.timedelta = dt.timedelta(days=8)) -> dt.datetime | None:
    """The latest time at or before ``now`` that a cron trigger fired (None if none in lookback)."""
    found = None
    moment = trigger.get_next_fire_time(None, now - lookback)
    while moment is not None and moment <= now:
        found = moment
        moment = trigger.get_next_fire_time(moment, moment + dt.timedelta(seconds=1))
    return found.astimezone(dt.UTC) if found is not None else None


class Jobs:
    """The job bodies. Each calls the stage functions the CLI calls, under one lock per stage
    (two jobs never run the same stage at once in this process)."""

    def __init__(self, app: Any, stop: threading.Event | None = None, clock: Callable[[], dt.datetime] = _utcnow,
                 owner: str | None = None):
        self.app, self.settings, self.clock = app, app.settings, clock
        self.stop = stop or threading.Event()
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}"
        self.triggers = build_triggers(self.settings)
        self._locks = {name: threading.Lock() for name in ("ingest", "translate", "feeds", "send")}
        self._first_poll = True

    @property
    def store(self) -> Any:
        return self.app.store

    # ------------------------------------------------------------------ stages
    def _translate(self) -> str:
        with self._locks["translate"]:
            report = translate_pending(self.app.translation)
        return f"translated {sum(report.translated.values())}, waiting {len(report.waiting)}, failed {len(report.failed)}"

    def _feeds(self) -> str:
        with self._locks["feeds"]:
            report = build_feeds(self.settings, self.store)
        return f"feeds {len(report.written)} written"

    def _send(self, now: dt.datetime | None = None, immediate: bool = True) -> str:
        with self._locks["send"]:
            queued = queue_immediate(self.settings, self.store, now) if immediate and not self.stop.is_set() else None
            sent = self.app.dispatch(stop=self.stop)
        return (f"{queued.queued} queued; " if queued else "") + sent.summary()

    # ------------------------------------------------------------------ jobs
    def poll(self, chain: bool | None = None) -> str:
        """Ingest; carry new or updated releases through (always with ``chain=True``, and on
        the first poll of a leader, so that feeds and queues are complete after a take-over)."""
        if chain is None and self._first_poll:
            chain = True
        self._first_poll = False
        with self._locks["ingest"]:
            report = self.app.ingest()
        counts = report.counts()
        parts = [f"new {counts['new']}, updated {counts['updated']}, quarantined {counts['quarantined']}"]
        if chain or (chain is None and (report.new or report.updated)):
            for step in (self._translate, self._feeds, self._send):
                if self.stop.is_set():
                    break
                parts.append(step())
        return "; ".join(parts)

    def translate(self) -> str:
        return self._translate()

    def feeds(self) -> str:
        return self._feeds()

    def dispatch(self) -> str:
        return self._send()

    def digest(self, frequency: str, now: dt.datetime | None = None) -> str:
        """Queue this period's digests of ``frequency`` in every language, then send. Safe to
        repeat: the ledger keys a digest by (frequency, lang, period) and recipient."""
        now = now or self.clock()
        report = queue_digests(self.settings, self.store, frequency, now=now)
        fire = last_fire(self.triggers[f"digest-{frequency}"], now)
        self.store.set_control(DIGEST_CURSOR.format(frequency=frequency),
                               {"fire": (fire or now).isoformat(), "at": now.isoformat(), "owner": self.owner})
        return f"{frequency} digest: {report.queued} queued; " + self._send(now, immediate=False)

    def digest_daily(self) -> str:
        return self.digest("daily")

    def digest_weekly(self) -> str:
        return self.digest("weekly")

    def missed_digests(self, now: dt.datetime | None = None) -> list[str]:
        """Digests whose last scheduled time passed without a run while still inside its
        period (the local day of a daily digest, the ISO week of a weekly one)."""
        now = now or self.clock()
        zone = self.settings.site.zone
        missed = []
        for frequency in ("daily", "weekly"):
            fire = last_fire(self.triggers[f"digest-{frequency}"], now)
            if fire is None:
                continue
            _, end = period_bounds(frequency, period_key(frequency, fire, zone), zone)
            done = self.store.get_control(DIGEST_CURSOR.format(frequency=frequency)).get("fire")
            if now < end and (done is None or dt.datetime.fromisoformat(done) < fire):
                missed.append(frequency)
        return missed

    def catch_up(self, now: dt.datetime | None = None) -> str:
        now = now or self.clock()
        missed = self.missed_digests(now)
        return "; ".join(self.digest(f, now) for f in missed) if missed else "no digest missed"

    def retry(self) -> str:
        """Claims of senders that died go back to the queue (or are held, per on_ambiguous)."""
        with self._locks["send"]:
            now = self.clock()
            requeued = self.store.requeue_unsent_expired(now=now)
            ambiguous = self.store.recover_expired(resend=self.settings.mail.on_ambiguous == "resend", now=now)
        return f"{requeued} stale claims requeued, {len(ambiguous)} ambiguous ({self.settings.mail.on_ambiguous})"

    def cleanup(self, now: dt.datetime | None = None) -> str:
        """Quarantine rows older than quarantine_days, and the files they point to."""
        now = now or self.clock()
        paths = self.store.purge_quarantine(now - dt.timedelta(days=self.settings.scheduler.quarantine_days))
        removed = 0
        for name in filter(None, paths):
            for path in (Path(name), Path(name + ".reason.txt")):
                try:
                    path.unlink()
                    removed += 1
                except FileNotFoundError:
                    pass
                except OSError as exc:
                    log.warning("cannot remove quarantined file %s: %s", path, exc)
        return f"{len(paths)} quarantine rows older than {self.settings.scheduler.quarantine_days:g} days, {removed} files removed"

    def functions(self) -> dict[str, Callable[[], str]]:
        return {"poll": self.poll, "translate": self.translate, "feeds": self.feeds, "dispatch": self.dispatch,
                "digest-daily": self.digest_daily, "digest-weekly": self.digest_weekly, "retry": self.retry,
                "cleanup": self.cleanup}


class Service:
    """Lease loop + scheduler. ``run()`` blocks until ``stop()`` (e.g. from a signal handler)."""

    def __init__(self, app: Any, *, on_event: Event | None = None, clock: Callable[[], dt.datetime] = _utcnow,
                 owner: str | None = None):
        self.app, self.settings, self.clock = app, app.settings, clock
        self.options = app.settings.scheduler
        self.owner = owner or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.on_event = on_event or (lambda name, **info: None)
        self.stopping = threading.Event()
        self.scheduler: BackgroundScheduler | None = None
        self.jobs: Jobs | None = None
        self._held_until: dt.datetime | None = None
        self._running: dict[str, int] = {}
        self._running_lock = threading.Condition()

    # ------------------------------------------------------------------ control
    def stop(self) -> None:
        self.stopping.set()
        if self.jobs is not None:
            self.jobs.stop.set()  # dispatch finishes the message in flight, gives the rest back

    @property
    def leader(self) -> bool:
        return self.scheduler is not None

    def running_jobs(self) -> list[str]:
        with self._running_lock:
            return [k for k, v in self._running.items() if v]

    def run(self) -> int:
        heartbeat = self.options.lease_seconds / 3
        waiting_for = None
        try:
            while not self.stopping.is_set():
                if self._try_lease():
                    if not self.leader:
                        self._lead()
                    waiting_for = None
                else:
                    if self.leader:
                        self._step_down("lease lost")
                    holder = self._holder()
                    if holder != waiting_for:
                        waiting_for = holder
                        self.on_event("waiting", holder=holder)
                self.stopping.wait(heartbeat)
        finally:
            self._shutdown()
        return 0

    # ------------------------------------------------------------------ lease
    def _try_lease(self) -> bool:
        now = self.clock()
        try:
            ok = self.app.store.acquire_lease(LEASE_NAME, self.owner, self.options.lease_seconds, now=now)
        except Exception as exc:  # database down: keep leading only while our lease surely holds
            log.warning("cannot renew the scheduler lease: %s", exc)
            return self._held_until is not None and now < self._held_until - dt.timedelta(
                seconds=self.options.lease_seconds / 3)
        self._held_until = now + dt.timedelta(seconds=self.options.lease_seconds) if ok else None
        return ok

    def _holder(self) -> str | None:
        try:
            holder = self.app.store.lease_holder(LEASE_NAME)
        except Exception:  # noqa: BLE001
            return None
        return holder.get("owner") if holder else None

    # ------------------------------------------------------------------ scheduling
    def _wrap(self, job_id: str, func: Callable[[], str]) -> Callable[[], None]:
        def job() -> None:
            with self._running_lock:
                self._running[job_id] = self._running.get(job_id, 0) + 1
            started, ok, summary = self.clock(), True, ""
            try:
                summary = func()
            except Exception as exc:  # noqa: BLE001 - one failing run must not stop the scheduler
                ok, summary = False, f"{type(exc).__name__}: {exc}"
                log.exception("job %s failed", job_id)
            finally:
                with self._running_lock:
                    self._running[job_id] -= 1
                    self._running_lock.notify_all()
            try:
                self.app.store.set_control(LAST.format(job=job_id), {
                    "at": started.isoformat(), "seconds": round((self.clock() - started).total_seconds(), 3),
                    "ok": ok, "summary": summary, "owner": self.owner})
            except Exception as exc:  # noqa: BLE001
                log.warning("cannot record the run of job %s: %s", job_id, exc)
            self.on_event("job", job=job_id, ok=ok, summary=summary)

        job.__name__ = job.__qualname__ = f"job_{job_id.replace('-', '_')}"
        return job

    def _lead(self) -> None:
        jobs = Jobs(self.app, threading.Event(), self.clock, self.owner)
        if self.stopping.is_set():
            jobs.stop.set()
        grace = self.options.misfire_grace_seconds
        scheduler = BackgroundScheduler(
            timezone=self.settings.site.zone, executors={"default": ThreadPoolExecutor(4)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": grace},
        )
        functions = jobs.functions()
        now = self.clock()
        for job_id, trigger in jobs.triggers.items():
            # poll and dispatch run at once on taking over; the others on their timetable
            first = now if job_id in ("poll", "dispatch") else None
            kwargs = {"next_run_time": first} if first is not None else {}
            scheduler.add_job(self._wrap(job_id, functions[job_id]), trigger, id=job_id, name=job_id, replace_existing=True, **kwargs)
        if self.options.catch_up:
            scheduler.add_job(self._wrap("catch-up", jobs.catch_up), DateTrigger(now), id="catch-up")
        scheduler.start()
        self.jobs, self.scheduler = jobs, scheduler
        self.on_event("leader", owner=self.owner, jobs=self.describe_jobs())

    def describe_jobs(self) -> list[tuple[str, str, dt.datetime | None]]:
        if self.scheduler is None:
            return []
        return [(j.id, str(j.trigger), j.next_run_time) for j in self.scheduler.get_jobs()]

    def _step_down(self, reason: str) -> None:
        scheduler, jobs = self.scheduler, self.jobs
        if scheduler is None or jobs is None:
            return
        jobs.stop.set()
        scheduler.shutdown(wait=False)
        self.scheduler = None
        self._wait_for_jobs()
        self.on_event("follower", reason=reason)

    def _wait_for_jobs(self) -> list[str]:
        deadline = self.clock() + dt.timedelta(seconds=self.options.shutdown_seconds)
        with self._running_lock:
            while any(self._running.values()):
                left = (deadline - self.clock()).total_seconds()
                if left <= 0:
                    break
                self._running_lock.wait(min(left, 0.2))
            return [k for k, v in self._running.items() if v]

    def _shutdown(self) -> None:
        self.on_event("stopping", running=self.running_jobs())
        self.stop()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=False)
            self.scheduler = None
        still = self._wait_for_jobs()
        try:
            released = self.app.store.release_lease(LEASE_NAME, self.owner)
        except Exception as exc:  # noqa: BLE001 - it expires by itself
            log.warning("cannot release the scheduler lease: %s", exc)
            released = False
        self.on_event("stopped", released=released, unfinished=still)
