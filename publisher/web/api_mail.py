"""The JSON API's models for the send ledger's staff operations (issue 10): retry failed
messages, release held ones (api.py declares the operations; publisher.web.actions does them)."""

from __future__ import annotations

from pydantic import Field

from .api_models import Body, Out


class ReleaseHeld(Body):
    message: str | None = Field(None, min_length=1, max_length=255, pattern=r"^[^\x00\s]+$",
                                description="only this message key's held rows (default: every held row)")


class ReleaseHeldOut(Out):
    released: int = Field(description="held rows queued again; each keeps its original Message-ID")
    message: str | None


class KeptOut(Out):
    permanent: int = Field(description="refused permanently by the server (5xx to RCPT/DATA): left failed")
    may_not_receive: int = Field(description="the recipient may no longer receive mail: left failed")


class RetryFailedOut(Out):
    queued_again: int = Field(description="failed rows queued again (held rows are not: release-held)")
    kept: KeptOut


OUTPUTS = [ReleaseHeldOut, KeptOut, RetryFailedOut]
