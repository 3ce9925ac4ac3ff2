"""The scheduler of ``publisher run``: jobs and triggers from settings, the stages each job runs,
the start-up catch-up of a missed digest, the database lease between two real processes, and a
graceful SIGTERM with a message in flight."""

from __future__ import annotations

import datetime as dt
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from publisher.app import App
from publisher.models import SubscriberStatus
from publisher.scheduler import JOB_IDS, LAST, Jobs, Service, build_triggers, last_fire
from publisher.settings import Settings
from publisher.store import Store

from .smtp_server import SmtpTestServer

CHILD = Path(__file__).with_name("scheduler_process.py")
SKOPJE = ZoneInfo("Europe/Skopje")
UTC = dt.UTC


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=SKOPJE).astimezone(UTC)


# ---------------------------------------------------------------------------- triggers
def test_job_ids_and_triggers_come_from_the_settings():
    settings = Settings.model_validate({
        "scheduler": {"poll_minutes": 2, "dispatch_seconds": 15, "feeds_minutes": 7},
        "digest": {"daily_time": "08:00", "weekly_day": "fri", "weekly_time": "09:30"},
    })
    triggers = build_triggers(settings)
    assert tuple(triggers) == JOB_IDS
    assert triggers["poll"].interval == dt.timedelta(minutes=2)
    assert triggers["dispatch"].interval == dt.timedelta(seconds=15)
    assert triggers["feeds"].interval == dt.timedelta(minutes=7)
    daily = triggers["digest-daily"]
    # 08:00 in Skopje is 07:00 UTC in winter (CET) and 06:00 UTC in summer (CEST)
    winter = daily.get_next_fire_time(None, dt.datetime(2026, 1, 14, 12, tzinfo=UTC))
    summer = daily.get_next_fire_time(None, dt.datetime(2026, 7, 14, 12, tzinfo=UTC))
    assert winter.astimezone(UTC) == dt.datetime(2026, 1, 15, 7, tzinfo=UTC)
    assert summer.astimezone(UTC) == dt.datetime(2026, 7, 15, 6, tzinfo=UTC)
    # across the spring change (29 March 2026) the local time stays 08:00
    spring = daily.get_next_fire_time(None, dt.datetime(2026, 3, 27, 12, tzinfo=UTC))
    after = daily.get_next_fire_time(spring, spring + dt.timedelta(seconds=1))
    assert [t.astimezone(SKOPJE).hour for t in (spring, after)] == [8, 8]
    assert after.astimezone(UTC) - spring.astimezone(UTC) == dt.timedelta(hours=23)
    weekly = triggers["digest-weekly"].get_next_fire_time(None, dt.datetime(2026, 7, 13, tzinfo=UTC))
    assert weekly.astimezone(SKOPJE).strftime("%a %H:%M") == "Fri 09:30"


def test_last_fire_is_the_latest_scheduled_time_not_after_now():
    trigger = CronTrigger(hour=8, minute=0, timezone=SKOPJE)
    now = dt.datetime(2026, 1, 15, 10, tzinfo=UTC)
    assert last_fire(trigger, now) == dt.datetime(2026, 1, 15, 7, tzinfo=UTC)
    assert last_fire(trigger, dt.datetime(2026, 1, 15, 6, 59, tzinfo=UTC)) == dt.datetime(2026, 1, 14, 7, tzinfo=UTC)


def test_every_job_is_coalesced_single_and_has_a_grace_time(site):
    site.write(extra="[scheduler]\nmisfire_grace_seconds = 42\nlease_seconds = 5\n")
    app = App(site.settings())
    service = Service(app)
    try:
        assert service._try_lease()
        service._lead()
        jobs = {job.id: job for job in service.scheduler.get_jobs()}
        assert set(JOB_IDS) <= set(jobs)
        for job_id in JOB_IDS:
            job = jobs[job_id]
            assert (job.coalesce, job.max_instances, job.misfire_grace_time) == (True, 1, 42)
            assert str(job.trigger.timezone) == "Europe/Skopje"
    finally:
        service.stop()
        service._shutdown()
        app.close()


# ---------------------------------------------------------------------------- job bodies
def test_jobs_run_the_same_stages_as_the_cli(site):
    site.write(extra="[mail]\ntransport = \"outbox\"\noutbox_dir = \"outbox\"\n")
    app = App(site.settings())
    try:
        jobs = Jobs(app)
        app.store.add_subscriber("now@example.org", "mk", "immediate", status=SubscriberStatus.CONFIRMED)
        assert "new 0" in jobs.poll(chain=False)
        site.drop_sample()
        summary = jobs.poll()  # something new: translate, feeds, immediate mail follow at once
        assert "new 1" in summary and "translated" in summary and "feeds" in summary
        [release] = app.store.list_releases()
        assert app.store.message_keys("release:") == {f"release:{release.uid}:mk"}
        assert [d.status for d in app.store.list_deliveries()] == ["sent"]
        assert len(list((site.dir / "outbox").glob("*.eml"))) == 1
        assert (site.dir / "feeds" / "mk" / "rss.xml").is_file()
        assert "new 0" in jobs.poll() and "translated" not in jobs.poll()  # nothing new: ingest only
        assert "translated 0" in jobs.translate()
        assert "0 written" in jobs.feeds()  # unchanged fingerprint: nothing rewritten
        assert "0 queued" in jobs.dispatch()
        assert "0 stale claims" in jobs.retry()
    finally:
        app.close()


def test_cleanup_removes_old_quarantine_rows_and_their_files(site):
    site.write(extra="[scheduler]\nquarantine_days = 10\n")
    app = App(site.settings())
    try:
        old_file = site.dir / "q" / "old.txt"
        old_file.parent.mkdir()
        old_file.write_text("x", encoding="utf-8")
        Path(str(old_file) + ".reason.txt").write_text("why", encoding="utf-8")
        app.store.add_quarantine("inbox", "old.txt", "bad", b"x", stored_path=str(old_file))
        app.store.add_quarantine("inbox", "new.txt", "bad", b"y")
        jobs = Jobs(app)
        assert "0 quarantine rows" in jobs.cleanup()
        summary = jobs.cleanup(now=dt.datetime.now(UTC) + dt.timedelta(days=10, minutes=1))
        assert summary.startswith("2 quarantine rows") and "2 files removed" in summary
        assert not old_file.exists() and not Path(str(old_file) + ".reason.txt").exists()
        assert app.store.list_quarantine() == []
    finally:
        app.close()


# ---------------------------------------------------------------------------- missed digests
def _digest_site(site) -> App:
    site.write(extra='[digest]\ndaily_time = "08:00"\n[mail]\noutbox_dir = "outbox"\n')
    site.drop_sample()
    app = App(site.settings())
    app.ingest()
    app.store.add_subscriber("daily@example.org", "mk", "daily", status=SubscriberStatus.CONFIRMED)
    return app


def test_a_missed_digest_is_sent_once_at_start_up_within_its_day(site):
    app = _digest_site(site)
    try:
        tomorrow = dt.datetime.now(SKOPJE).date() + dt.timedelta(days=1)
        jobs = Jobs(app)
        assert "daily" not in jobs.missed_digests(local(tomorrow, 7, 59))  # today's 08:00 is the last; see below
        at_ten = local(tomorrow, 10)  # the service was down at 08:00 and starts at 10:00
        assert "daily" in jobs.missed_digests(at_ten)
        assert "daily digest: 1 queued" in jobs.catch_up(now=at_ten)
        key = f"digest:daily:mk:{tomorrow.isoformat()}"
        assert app.store.message_keys("digest:daily") == {key}
        # a restart later the same day: nothing missed any more
        assert "daily" not in Jobs(app).missed_digests(local(tomorrow, 11))
        # even with the cursor lost, the ledger's key refuses a second copy
        app.store.purge_control("scheduler:digest:daily")
        assert "daily" in Jobs(app).missed_digests(local(tomorrow, 12))
        Jobs(app).catch_up(now=local(tomorrow, 12))
        Jobs(app).digest("daily", now=local(tomorrow, 20))
        deliveries = app.store.list_deliveries(message_key=key)
        assert [(d.recipient, d.status) for d in deliveries] == [("daily@example.org", "sent")]
        assert len(list((site.dir / "outbox").glob("*.eml"))) == 1
    finally:
        app.close()


def test_a_missed_digest_is_not_sent_after_its_day(site):
    app = _digest_site(site)
    try:
        day_after = dt.datetime.now(SKOPJE).date() + dt.timedelta(days=2)
        jobs = Jobs(app)
        just_after_midnight = local(day_after, 0, 30)  # yesterday's 08:00 was missed; its day is over
        assert "daily" not in jobs.missed_digests(just_after_midnight)
        jobs.catch_up(now=just_after_midnight)
        assert app.store.message_keys("digest:daily") == set()
    finally:
        app.close()


# ---------------------------------------------------------------------------- the lease
def test_the_lease_has_one_holder_and_expires(store):
    t0 = dt.datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert store.acquire_lease("scheduler", "a", 10, now=t0)
    assert not store.acquire_lease("scheduler", "b", 10, now=t0 + dt.timedelta(seconds=5))
    assert store.acquire_lease("scheduler", "a", 10, now=t0 + dt.timedelta(seconds=5))  # renewed to t0+15
    assert not store.acquire_lease("scheduler", "b", 10, now=t0 + dt.timedelta(seconds=14))
    assert store.lease_holder("scheduler", now=t0 + dt.timedelta(seconds=14))["owner"] == "a"
    assert store.lease_holder("scheduler", now=t0 + dt.timedelta(seconds=16)) is None
    assert store.acquire_lease("scheduler", "b", 10, now=t0 + dt.timedelta(seconds=16))  # a died: b takes over
    assert not store.release_lease("scheduler", "a")
    assert store.release_lease("scheduler", "b")
    assert store.acquire_lease("scheduler", "a", 10, now=t0 + dt.timedelta(seconds=17))


def test_racing_for_an_expired_lease_has_one_winner(store, db_url):
    t0 = dt.datetime(2026, 1, 1, 12, tzinfo=UTC)
    store.acquire_lease("scheduler", "dead", 1, now=t0)
    stores = [Store(db_url) for _ in range(6)]
    barrier, wins = threading.Barrier(len(stores)), []

    def race(i: int) -> None:
        barrier.wait()
        try:
            if stores[i].acquire_lease("scheduler", f"p{i}", 30, now=t0 + dt.timedelta(seconds=5)):
                wins.append(i)
        except Exception:  # noqa: BLE001 - a busy database is a lost race, not a second winner
            pass

    threads = [threading.Thread(target=race, args=(i,)) for i in range(len(stores))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    for s in stores:
        s.close()
    assert len(wins) <= 1
    holder = store.lease_holder("scheduler", now=t0 + dt.timedelta(seconds=6))
    assert holder is None or holder["owner"] == f"p{wins[0]}"


class Child:
    """A scheduler_process.py child; its stdout lines read by a thread into a queue."""

    def __init__(self, settings_file: Path, *extra: str):
        env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
        env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen([sys.executable, str(CHILD), str(settings_file), *extra], stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, env=env, cwd=settings_file.parent)
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[dict] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line)

    def wait_for(self, event: str, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                if self.proc.poll() is not None and self.lines.empty():
                    break
                continue
            if line.startswith("{"):
                self.seen.append(json.loads(line))
                if self.seen[-1]["event"] == event:
                    return self.seen[-1]
        self.proc.kill()
        raise AssertionError(f"no {event!r} within {timeout}s; seen {self.seen}; stderr: {self.proc.stderr.read()[-3000:]}")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


LEASE = 3


def test_two_processes_only_the_lease_holder_schedules_and_the_other_takes_over(site):
    site.write(extra=f"[scheduler]\nlease_seconds = {LEASE}\ndispatch_seconds = 1\n[mail]\noutbox_dir = \"outbox\"\n")
    first = Child(site.settings_file)
    second = None
    try:
        leader = first.wait_for("leader", 60)
        first.wait_for("job", 30)
        second = Child(site.settings_file)
        assert second.wait_for("waiting", 60)["holder"] == leader["owner"]
        time.sleep(LEASE + 1)  # a few heartbeats: the follower must not schedule
        store = Store(site.db_url)
        try:
            owners = {store.get_control(LAST.format(job=job)).get("owner") for job in ("dispatch", "poll")}
            assert owners == {leader["owner"]}
            killed_at = time.monotonic()
            first.proc.send_signal(signal.SIGKILL)
            first.proc.wait(10)
            took_over = second.wait_for("leader", LEASE + 15)
            assert time.monotonic() - killed_at < LEASE + 10
            assert took_over["owner"] != leader["owner"]
            second.wait_for("job", 30)
            deadline = time.monotonic() + 20
            while store.get_control(LAST.format(job="dispatch")).get("owner") != took_over["owner"]:
                assert time.monotonic() < deadline, "the new leader never ran the dispatch job"
                time.sleep(0.3)
            assert store.lease_holder("scheduler")["owner"] == took_over["owner"]
        finally:
            store.close()
    finally:
        first.kill()
        if second is not None:
            second.kill()


def test_sigterm_lets_the_message_in_flight_finish_and_exits_0(site):
    with SmtpTestServer() as server:
        server.reply(None, delay=3.0)
        site.write(extra=f"[scheduler]\nlease_seconds = {LEASE}\ndispatch_seconds = 1\n"
                         f"[mail]\ntransport = \"smtp\"\nsmtp_port = {server.port}\nretry_seconds = 0\n")
        store = Store(site.db_url)
        try:
            store.enqueue("test:sigterm", "test", "en", {"releases": []},
                          [(None, f"r{i}@example.org") for i in range(3)])
            child = Child(site.settings_file)
            try:
                child.wait_for("leader", 60)
                deadline = time.monotonic() + 30
                while not [d for d in store.list_deliveries(status="sending") if d.message_id]:
                    assert time.monotonic() < deadline, "nothing was handed to the SMTP server"
                    time.sleep(0.05)
                stopped_at = time.monotonic()
                child.proc.send_signal(signal.SIGTERM)
                code = child.proc.wait(20)
                assert code == 0, child.proc.stderr.read()
                assert time.monotonic() - stopped_at < 15
                assert child.wait_for("stopped", 5)["released"] is True
            finally:
                child.kill()
            assert len(server.received()) == 1  # the one in flight was finished, not cut
            statuses = sorted(d.status for d in store.list_deliveries(message_key="test:sigterm"))
            assert statuses == ["queued", "queued", "sent"]
            assert store.lease_holder("scheduler") is None  # released: a follower takes over at once
        finally:
            store.close()


def test_run_once_keeps_the_one_cycle_behaviour(site):
    site.drop_sample()
    exe = Path(sys.executable).with_name("publisher")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
    proc = subprocess.run([str(exe), "--settings", str(site.settings_file), "run", "--once"], capture_output=True,
                          text=True, encoding="utf-8", env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "new: 1" in proc.stdout and "feeds:" in proc.stdout and "mail:" in proc.stdout
