"""SMTP transport: one reused connection, STARTTLS or implicit TLS, AUTH, timeouts, a rate limit.

``send()`` returns only after the server answered 250 to the end of DATA. Every failure is a
``SendError``: 4xx answers and connection trouble (refused, reset, timeout, closed) are
transient; 5xx answers are permanent and carry the code and the server's text, and a 5xx to
RCPT that names the mailbox (550-554) is a hard bounce.

A connection the server closed while idle is noticed at MAIL FROM (before any of the message was
sent) and re-opened once, transparently. A connection lost (or a timeout) after the DATA
terminator went out, before the final reply, is *ambiguous*: the server may have stored the
message. It is a ``SendError`` with ``ambiguous=True`` (dispatch holds the row; it is never sent
again by itself). Lost before the terminator is an ordinary transient error: without the final
dot no server takes a message.
"""

from __future__ import annotations

import logging
import re
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Self

from .base import OutgoingMessage, SendError
from .options import MailSettings

log = logging.getLogger(__name__)

BOUNCE_CODES = frozenset({550, 551, 552, 553, 554})
_LEADING_DOT = re.compile(rb"(?m)^\.")


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)


class RateLimiter:
    """At most ``rate`` events per second, evenly spaced (a bucket of one). Shared by the
    connections of a pool (``SmtpTransport.sibling``): each caller books the next free slot
    under a lock, then sleeps until it outside the lock."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.interval = 1.0 / rate
        self.clock, self.sleep = clock, sleep
        self._next: float | None = None
        self._lock = threading.Lock()

    def wait(self) -> None:
        with self._lock:
            now = self.clock()
            slot = now if self._next is None or self._next <= now else self._next
            self._next = slot + self.interval
        if slot > now:
            self.sleep(slot - now)


class SmtpTransport:
    name = "smtp"
    pipelines = True  # send() takes ``ready``: dispatch overlaps its ledger commit with the message

    def __init__(
        self,
        options: MailSettings,
        password: str | None = None,
        *,
        ssl_context: ssl.SSLContext | None = None,
        max_messages_per_connection: int = 500,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if options.smtp_ssl and options.smtp_starttls:
            raise ValueError("smtp_ssl (implicit TLS, port 465) and smtp_starttls exclude each other")
        self.options = options
        if password is None and options.smtp_password is not None:
            password = options.smtp_password.get_secret_value()
        self._password = password
        self._context = ssl_context
        self.max_messages_per_connection = max_messages_per_connection
        self.limiter = RateLimiter(options.rate_per_second, clock, sleep)
        self._clock, self._sleep = clock, sleep
        self._conn: smtplib.SMTP | None = None
        self._sent_on_conn = 0
        self.connections = 0  # opened so far (tests and logs)

    def sibling(self) -> SmtpTransport:
        """Another connection to the same server with the same settings, sharing this one's
        rate limit (``[mail] connections``: dispatch gives each connection its own claims)."""
        other = SmtpTransport(self.options, self._password, ssl_context=self._context,
                              max_messages_per_connection=self.max_messages_per_connection,
                              clock=self._clock, sleep=self._sleep)
        other.limiter = self.limiter
        return other

    # ------------------------------------------------------------------ connection
    def _tls(self) -> ssl.SSLContext:
        if self._context is None:
            self._context = ssl.create_default_context()
        return self._context

    def _open(self) -> smtplib.SMTP:
        o = self.options
        try:
            if o.smtp_ssl:
                conn: smtplib.SMTP = smtplib.SMTP_SSL(o.smtp_host, o.smtp_port, timeout=o.timeout_seconds,
                                                      context=self._tls())
            else:
                conn = smtplib.SMTP(o.smtp_host, o.smtp_port, timeout=o.timeout_seconds)
            try:
                # the final dot goes out on its own (pipelined handover): without this, Nagle's
                # algorithm holds it back until the body is acknowledged (a 40 ms delayed ACK)
                conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                conn.ehlo()
                if o.smtp_starttls:
                    if not conn.has_extn("starttls"):
                        raise SendError(f"{o.smtp_host}:{o.smtp_port} does not offer STARTTLS "
                                        "(smtp_starttls = true)", transient=True)
                    conn.starttls(context=self._tls())
                    conn.ehlo()
                if o.smtp_user:
                    conn.login(o.smtp_user, self._password or "")
            except BaseException:
                conn.close()
                raise
        except SendError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise SendError(f"SMTP login as {o.smtp_user!r} refused: {exc.smtp_code} {_text(exc.smtp_error)}; "
                            "check smtp_user and PUBLISHER_MAIL__SMTP_PASSWORD", transient=True,
                            code=exc.smtp_code, reply=_text(exc.smtp_error)) from None
        except smtplib.SMTPResponseException as exc:
            raise SendError(f"SMTP server {o.smtp_host}:{o.smtp_port} refused the session: "
                            f"{exc.smtp_code} {_text(exc.smtp_error)}", transient=True,
                            code=exc.smtp_code, reply=_text(exc.smtp_error)) from None
        except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
            raise SendError(f"cannot connect to SMTP server {o.smtp_host}:{o.smtp_port}: {exc}",
                            transient=True) from None
        self.connections += 1
        self._sent_on_conn = 0
        return conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass

    def close(self) -> None:
        """QUIT and close the connection (if one is open)."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                conn.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ sending
    def send(self, message: OutgoingMessage, ready: Callable[[], bool] | None = None) -> None:
        """Send one message; return once the server answered 250 to the end of DATA.

        ``ready`` (dispatch's pipelining): called after MAIL, RCPT, DATA and the whole body went
        out, *before* the terminating dot. Only if it returns true is the dot sent; otherwise the
        connection is dropped without it (no server takes a message without the final dot) and
        :class:`Withdrawn` is raised. Dispatch commits the ledger's "handed over" mark while
        the server reads the message, and lets the dot go only once that commit is done."""
        self.limiter.wait()
        if self._conn is not None and self._sent_on_conn >= self.max_messages_per_connection:
            self.close()
        for attempt in (1, 2):
            reused = self._conn is not None
            if self._conn is None:
                self._conn = self._open()
            try:
                self._transaction(self._conn, message, ready)
            except _Stale:
                self._drop()
                if reused and attempt == 1:
                    log.debug("SMTP connection was closed by the server; opening a new one")
                    continue
                raise SendError("the SMTP server closed the connection before MAIL FROM", transient=True) from None
            self._sent_on_conn += 1
            return

    def _transaction(self, conn: smtplib.SMTP, message: OutgoingMessage,
                     ready: Callable[[], bool] | None = None) -> None:
        mail_options: list[str] = []
        if not message.data.isascii() and conn.has_extn("8bitmime"):
            mail_options.append("BODY=8BITMIME")
        if not (message.sender + message.recipient).isascii():
            if not conn.has_extn("smtputf8"):
                raise SendError(f"the SMTP server does not accept the non-ASCII address {message.recipient!r}"
                                " (no SMTPUTF8)", transient=False, code=553, reply="SMTPUTF8 not offered",
                                bounce=False, stage="MAIL FROM")
            mail_options.append("SMTPUTF8")
        try:
            code, reply = conn.mail(message.sender, mail_options)
        except (smtplib.SMTPServerDisconnected, ConnectionError):
            raise _Stale() from None
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise SendError(f"SMTP connection failed at MAIL FROM: {exc}", transient=True) from None
        if code == 421:
            raise _Stale()
        if code != 250:
            self._reset(code)
            raise self._error("MAIL FROM", code, reply, message)
        try:
            code, reply = conn.rcpt(message.recipient)
            if code not in (250, 251):
                self._reset(code)
                raise self._error("RCPT TO", code, reply, message)
            code, reply = conn.docmd("DATA")
            if code != 354:
                self._reset(code)
                raise self._error("DATA", code, reply, message)
            body = _LEADING_DOT.sub(b"..", message.data)
            body += b"" if body.endswith(b"\r\n") else b"\r\n"
            if ready is None:
                conn.send(body + b".\r\n")
            else:
                conn.send(body)
                try:
                    go = ready()
                except BaseException:
                    self._drop()  # mid-DATA: this connection cannot be used again
                    raise
                if not go:  # the ledger says no: leave without the dot, nothing is delivered
                    self._drop()
                    raise Withdrawn(f"message to {message.recipient} withdrawn before the end of DATA")
                conn.send(b".\r\n")
        except (SendError, Withdrawn):
            raise
        except (OSError, smtplib.SMTPException) as exc:  # before the terminator: the server cannot have it
            self._drop()
            raise SendError(f"SMTP connection lost while sending to {message.recipient}: {exc or type(exc).__name__}",
                            transient=True) from None
        try:
            code, reply = conn.getreply()
        except (OSError, smtplib.SMTPException) as exc:
            self._drop()
            raise SendError(f"no answer from the SMTP server after the whole message to {message.recipient} was sent"
                            f" ({exc or type(exc).__name__}): the server may or may not have taken it", transient=True,
                            ambiguous=True, stage="end of DATA") from None
        if code != 250:
            self._reset(code)
            raise self._error("end of DATA", code, reply, message)

    def _reset(self, code: int) -> None:
        if code == 421 or self._conn is None:
            self._drop()
            return
        try:
            self._conn.rset()
        except (OSError, smtplib.SMTPException):
            self._drop()

    @staticmethod
    def _error(stage: str, code: int, reply: bytes | str, message: OutgoingMessage) -> SendError:
        text = _text(reply)
        transient = 400 <= code < 500 or code < 400  # an odd non-5xx answer: try again later
        bounce = not transient and stage == "RCPT TO" and code in BOUNCE_CODES
        return SendError(f"{stage} <{message.recipient}>: {code} {text}", transient=transient, code=code,
                         reply=text, bounce=bounce, stage=stage)


class Withdrawn(Exception):
    """``ready()`` said no: the message was abandoned before its final dot (not delivered)."""


class _Stale(Exception):
    """The server had closed the connection before this message started (safe to retry)."""

