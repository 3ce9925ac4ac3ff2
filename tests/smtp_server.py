"""A real SMTP server on loopback for tests: aiosmtpd on 127.0.0.1 and a free port.

    with SmtpTestServer() as server:              # plain
    with SmtpTestServer(starttls=True, auth={"user": "secret"}, certs=tmp_path) as server:
    with SmtpTestServer(implicit_tls=True, certs=tmp_path) as server:

It records every message it accepted (envelope sender, recipients, bytes, TLS, login) and can be
told how to answer, per recipient or for everyone:

    server.reply("bad@example.org", rcpt="550 5.1.1 no such user")
    server.reply(None, data="451 4.3.0 try again later")      # everyone, at the end of DATA
    server.reply("slow@example.org", delay=2.0)                 # wait before answering DATA
    server.reply("slow@example.org", stored_delay=2.0)          # store it, then wait before the 250
    server.reply("cut@example.org", drop="before")              # close at the end of DATA, not stored
    server.reply("cut@example.org", drop="after")               # store the message, close without the 250
    server.reply("cut@example.org", drop="after-reply")         # store it, answer 250, then close
    server.reply("busy@example.org", data="451 4.3.0 busy", times=2)  # the first 2 tries only
    server.greylist(None)                                       # 451 at RCPT the first time per address
    server.clear_replies()

Fault injection counts per recipient: ``server.attempts`` holds every message whose DATA reached
the server, whatever the answer (refused, dropped, stored), so a test can count the Message-IDs
one delivery went out with; ``server.messages`` only what was stored.

``python tests/smtp_server.py --port N`` runs a counting sink (no recording) for benchmarks.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import ssl
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Self

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from publisher.delivery.base import OutgoingMessage


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 / localhost, made now with openssl."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    if not cert.exists():
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout", str(key),
             "-out", str(cert), "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
            check=True, capture_output=True,
        )
    return cert, key


def client_context(cert: Path) -> ssl.SSLContext:
    """A client context that trusts exactly the test certificate (verification stays on)."""
    return ssl.create_default_context(cafile=str(cert))


@dataclass(frozen=True)
class Received:
    sender: str
    recipients: tuple[str, ...]
    data: bytes
    tls: bool
    login: str | None

    def parsed(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=policy.default)  # type: ignore[return-value]

    @property
    def message_id(self) -> str:
        return str(self.parsed()["Message-ID"])


DROPS = (None, "before", "after", "after-reply")


@dataclass
class Behaviour:
    rcpt: str | None = None  # reply to RCPT TO instead of 250
    data: str | None = None  # reply to the end of DATA instead of 250
    delay: float = 0.0  # seconds to wait before answering the end of DATA (stored after the wait)
    drop: str | None = None  # see DROPS and the module docstring
    times: int | None = None  # the fault applies to the first `times` tries per recipient only
    stored_delay: float = 0.0  # store the message first, then wait this long before answering

    def __post_init__(self) -> None:
        if self.drop not in DROPS:
            raise ValueError(f"drop must be one of {DROPS}, not {self.drop!r}")


_NORMAL = Behaviour()


@dataclass
class _Rules:
    everyone: Behaviour = field(default_factory=Behaviour)
    per_recipient: dict[str, Behaviour] = field(default_factory=dict)
    tries: Counter = field(default_factory=Counter)  # (stage, recipient) -> tries so far

    def of(self, recipient: str, stage: str | None = None) -> Behaviour:
        """The behaviour for this recipient; ``stage`` ("rcpt" or "data") counts one try."""
        rule = self.per_recipient.get(recipient.lower(), self.everyone)
        if stage is None or rule.times is None:
            return rule
        key = (stage, recipient.lower())
        self.tries[key] += 1
        return rule if self.tries[key] <= rule.times else _NORMAL


def _tls(server, session) -> bool:
    return session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None


class _Handler:
    def __init__(self, server: SmtpTestServer):
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        rule = self.server.rules.of(address, "rcpt")
        if rule.rcpt:
            return rule.rcpt
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        rules = [self.server.rules.of(r, "data") for r in envelope.rcpt_tos] or [self.server.rules.everyone]
        auth = session.auth_data
        login = auth.login.decode() if isinstance(auth, LoginPassword) else None
        received = Received(envelope.mail_from, tuple(envelope.rcpt_tos), envelope.original_content
                            or envelope.content, _tls(server, session), login)
        self.server.attempt(received)
        stored_delay = max(r.stored_delay for r in rules)
        if stored_delay:  # a server slow to confirm what it already stored (the client times out)
            self.server.record(received)
            await asyncio.sleep(stored_delay)
            return "250 2.0.0 accepted (late)"
        delay = max(r.delay for r in rules)
        if delay:
            await asyncio.sleep(delay)
        drop = next((r.drop for r in rules if r.drop), None)
        if drop == "before":
            server.transport.abort()
            return "451 dropped"  # never reaches the client
        reply = next((r.data for r in rules if r.data), None)
        if reply:
            return reply
        self.server.record(received)
        if drop == "after":  # stored, and the connection goes before the 250 is written
            server.transport.abort()
        elif drop == "after-reply":  # the 250 goes out, then the connection is closed
            asyncio.get_running_loop().call_later(0.05, server.transport.close)
        return "250 2.0.0 accepted"


class SmtpTestServer:
    def __init__(self, *, starttls: bool = False, implicit_tls: bool = False, auth: dict[str, str] | None = None,
                 certs: Path | None = None, port: int | None = None, idle_timeout: float | None = None):
        self.port = port or free_port()
        self.rules = _Rules()
        self.messages: list[Received] = []
        self.attempts: list[Received] = []  # every message whose DATA arrived, whatever the answer
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self.cert: Path | None = None
        kwargs: dict = {"decode_data": False, "enable_SMTPUTF8": True}
        if idle_timeout is not None:
            kwargs["timeout"] = idle_timeout  # the server closes a connection idle this long
        if starttls or implicit_tls:
            if certs is None:
                raise ValueError("TLS needs a folder for the test certificate (certs=tmp_path)")
            self.cert, key = make_certificate(certs)
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(self.cert, key)
            if implicit_tls:
                kwargs["ssl_context"] = context
            else:
                kwargs.update(tls_context=context, require_starttls=True)
        if auth is not None:
            self.accounts = dict(auth)
            kwargs.update(authenticator=self._authenticate, auth_required=True, auth_require_tls=starttls or implicit_tls)
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port, **kwargs)

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and self.accounts.get(auth_data.login.decode()) == auth_data.password.decode())
        return AuthResult(success=ok, handled=False, auth_data=auth_data)

    # ------------------------------------------------------------------ control
    def start(self) -> SmtpTestServer:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def reply(self, recipient: str | None, *, rcpt: str | None = None, data: str | None = None, delay: float = 0.0,
              drop: str | None = None, times: int | None = None, stored_delay: float = 0.0) -> None:
        behaviour = Behaviour(rcpt=rcpt, data=data, delay=delay, drop=drop, times=times, stored_delay=stored_delay)
        if recipient is None:
            self.rules.everyone = behaviour
        else:
            self.rules.per_recipient[recipient.lower()] = behaviour

    def greylist(self, recipient: str | None, times: int = 1) -> None:
        """Greylisting: ``451`` at RCPT TO the first ``times`` tries of each address, then accepted."""
        self.reply(recipient, rcpt="451 4.7.1 Greylisted, please try again later", times=times)

    def clear_replies(self) -> None:
        self.rules = _Rules()

    # ------------------------------------------------------------------ what arrived
    def record(self, message: Received) -> None:
        with self._arrived:
            self.messages.append(message)
            self._arrived.notify_all()

    def attempt(self, message: Received) -> None:
        with self._lock:
            self.attempts.append(message)

    def message_ids(self) -> dict[str, set[str]]:
        """Per recipient, every Message-ID that reached the server (stored or not)."""
        with self._lock:
            tried = list(self.attempts)
        out: dict[str, set[str]] = {}
        for m in tried:
            for r in m.recipients:
                out.setdefault(r, set()).add(m.message_id)
        return out

    def received(self) -> list[Received]:
        with self._lock:
            return list(self.messages)

    def counts(self) -> Counter[str]:
        """How many accepted messages each recipient got."""
        return Counter(r for m in self.received() for r in m.recipients)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._arrived.wait(left)
            return list(self.messages)

    def clear(self) -> None:
        with self._lock:
            self.messages.clear()
            self.attempts.clear()


# ---------------------------------------------------------------------- real test messages
SENDER = "newsletter@news.example.org"


def build_message(recipient: str, message_id: str, subject: str = "Вести / News", body: str = "") -> bytes:
    """A real MIME message (text + HTML alternative) as CRLF bytes, built with ``email``."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = f"IOM North Macedonia <{SENDER}>"
    msg["To"] = recipient
    msg["Subject"] = subject
    msg["Message-ID"] = message_id
    msg["List-Unsubscribe"] = f"<https://news.example.org/u/{recipient}>"
    text = body or f"Здраво {recipient}\n\nНовости од ИОМ.\n"
    msg.set_content(text)
    msg.add_alternative(f"<p>{text}</p>", subtype="html")
    return msg.as_bytes()


def render_delivery(delivery) -> OutgoingMessage:
    """The ``render`` callable for tests: one message per ledger row, with the row's Message-ID
    once it has one (from its first attempt), else one made from its key and id."""
    message_id = delivery.message_id or f"<{delivery.message_key.replace(':', '.')}.{delivery.id}@news.example.org>"
    return OutgoingMessage(recipient=delivery.recipient, sender=SENDER,
                           data=build_message(delivery.recipient, message_id), message_id=message_id)


# ---------------------------------------------------------------------- counting sink for benchmarks
class _CountingHandler:
    def __init__(self) -> None:
        self.count = 0
        self.bytes = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        self.bytes += len(envelope.original_content or envelope.content or b"")
        return "250 OK"


def run_sink(port: int, seconds: float) -> None:
    handler = _CountingHandler()
    controller = Controller(handler, hostname="127.0.0.1", port=port, decode_data=False)
    controller.start()
    print(f"listening on 127.0.0.1:{port}", flush=True)
    try:
        time.sleep(seconds)
    finally:
        controller.stop()
        print(f"received {handler.count} messages, {handler.bytes} bytes", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="a counting SMTP sink on 127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--seconds", type=float, default=3600)
    args = parser.parse_args()
    run_sink(args.port, args.seconds)
