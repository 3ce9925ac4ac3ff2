"""The transport protocol, the message it carries, and delivery errors."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ..errors import DeliveryError


class SendError(DeliveryError):
    """A transport could not hand a message over.

    ``transient``: try again later (4xx, connection refused, timeout). Otherwise permanent
    (5xx): ``code`` and ``reply`` carry the server's answer; ``bounce`` marks a hard bounce
    that counts towards suppressing the subscriber. ``stage`` names the step that answered
    (``MAIL FROM``, ``RCPT TO``, ``DATA``, ``end of DATA``; empty for connection trouble).

    ``ambiguous``: the whole message was handed over (the DATA terminator went out) and no
    clear answer came back (connection lost, timeout): the server may have it. Such a message
    is held for staff, never retried (it is still ``transient`` for callers that only ask that).
    """

    def __init__(self, message: str, transient: bool, code: int | None = None, reply: str = "", bounce: bool = False,
                 *, ambiguous: bool = False, stage: str = ""):
        super().__init__(message)
        self.transient = transient
        self.code = code
        self.reply = reply
        self.bounce = bounce
        self.ambiguous = ambiguous
        self.stage = stage

    @property
    def permanent_for_recipient(self) -> bool:
        """A 5xx to the recipient or to the message itself: sending it again will not help."""
        return not self.transient and self.stage in ("RCPT TO", "DATA", "end of DATA")


@dataclass(frozen=True)
class OutgoingMessage:
    recipient: str  # envelope recipient
    sender: str  # envelope sender (bare address)
    data: bytes  # the whole RFC 5322 message, CRLF line ends, signed if DKIM is on
    message_id: str  # as in the Message-ID header, with angle brackets


@runtime_checkable
class Transport(Protocol):
    name: str

    def send(self, message: OutgoingMessage) -> None:
        """Return only once the server (or the outbox folder) has accepted the message."""
        ...

    def close(self) -> None: ...
