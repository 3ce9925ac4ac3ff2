"""Settings of the service's scheduler: [scheduler]."""

from __future__ import annotations

from pydantic import Field

from .config_types import Section

_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class SchedulerSettings(Section):
    poll_minutes: float = Field(5.0, gt=0, le=24 * 60)  # ingest every source (and carry new releases through)
    translate_minutes: float = Field(10.0, gt=0, le=24 * 60)  # translate what is pending or failed with attempts left
    feeds_minutes: float = Field(15.0, gt=0, le=24 * 60)  # rebuild the feeds (embargoes lift, reviews land)
    dispatch_seconds: float = Field(30.0, ge=1, le=24 * 3600)  # queue immediate messages, send the queue
    retry_minutes: float = Field(15.0, gt=0, le=24 * 60)  # recover stale sends of dead senders
    quarantine_days: float = Field(30.0, gt=0, le=3650)  # quarantine rows and files older than this are removed
    cleanup_time: str = Field("03:30", pattern=_HHMM)  # local time (site zone) of the daily clean-up
    misfire_grace_seconds: int = Field(300, ge=1, le=24 * 3600)  # a run late by more than this is skipped
    lease_seconds: float = Field(30.0, ge=2, le=3600)  # the scheduler lease; a dead leader's is taken over after this
    shutdown_seconds: float = Field(10.0, ge=0, le=600)  # on SIGTERM, wait at most this for running jobs
    catch_up: bool = True  # at start-up, send a digest missed while down if still in its period
