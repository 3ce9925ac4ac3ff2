"""SmtpTransport and OutboxTransport against a real aiosmtpd server on loopback."""

from __future__ import annotations

import time
from email import message_from_bytes, policy

import pytest

from publisher.delivery.base import OutgoingMessage, SendError, Transport
from publisher.delivery.options import MailSettings
from publisher.delivery.outbox import OutboxTransport, eml_name
from publisher.delivery.smtp import RateLimiter, SmtpTransport

from .smtp_server import (
    SENDER,
    SmtpTestServer,
    build_message,
    client_context,
    free_port,
)


def message(recipient: str, n: int = 1) -> OutgoingMessage:
    mid = f"<t{n}.{recipient.replace('@', '.')}@news.example.org>"
    return OutgoingMessage(recipient=recipient, sender=SENDER, data=build_message(recipient, mid), message_id=mid)


def settings(port: int, **extra) -> MailSettings:
    return MailSettings(**{"transport": "smtp", "smtp_port": port, "rate_per_second": 1000, "timeout_seconds": 5} | extra)


@pytest.fixture
def server():
    with SmtpTestServer() as s:
        yield s


def test_sends_over_one_reused_connection_and_the_server_gets_real_mime(server):
    transport = SmtpTransport(settings(server.port))
    assert isinstance(transport, Transport)
    for n, rcpt in enumerate(["ana@example.org", "bojan@example.org", "cvetan@example.org"]):
        transport.send(message(rcpt, n))
    assert transport.connections == 1
    got = server.received()
    assert [m.recipients for m in got] == [("ana@example.org",), ("bojan@example.org",), ("cvetan@example.org",)]
    first = got[0].parsed()
    assert first["To"] == "ana@example.org" and first["Message-ID"] == "<t0.ana.example.org@news.example.org>"
    assert got[0].sender == SENDER and not got[0].tls and got[0].login is None
    assert first.get_body(("plain",)).get_content().startswith("Здраво ana@example.org")
    transport.close()
    assert transport._conn is None
    transport.send(message("dana@example.org", 4))  # a new connection after close()
    assert transport.connections == 2 and len(server.received()) == 4
    transport.close()


def test_reconnects_after_n_messages_and_when_the_server_closed_an_idle_connection():
    with SmtpTestServer(idle_timeout=0.3) as server:
        transport = SmtpTransport(settings(server.port), max_messages_per_connection=2)
        for n in range(5):
            transport.send(message(f"u{n}@example.org", n))
        assert transport.connections == 3
        time.sleep(0.8)  # the server hangs up on the idle connection
        transport.send(message("late@example.org", 9))  # noticed at MAIL FROM, reopened, sent once
        assert transport.connections == 4
        assert server.counts()["late@example.org"] == 1 and len(server.received()) == 6
        transport.close()


def test_starttls_and_auth(tmp_path):
    with SmtpTestServer(starttls=True, auth={"news": "s3cret"}, certs=tmp_path) as server:
        opts = settings(server.port, smtp_starttls=True, smtp_user="news")
        transport = SmtpTransport(opts, "s3cret", ssl_context=client_context(server.cert))
        transport.send(message("ana@example.org"))
        transport.close()
        [got] = server.received()
        assert got.tls and got.login == "news"

        wrong = SmtpTransport(opts, "wrong", ssl_context=client_context(server.cert))
        with pytest.raises(SendError) as err:
            wrong.send(message("bojan@example.org"))
        assert err.value.transient and err.value.code == 535 and "smtp_user" in str(err.value)

        untrusted = SmtpTransport(opts, "s3cret")  # system CAs: the self-signed certificate is refused
        with pytest.raises(SendError) as err:
            untrusted.send(message("bojan@example.org"))
        assert err.value.transient and "certificate" in str(err.value).lower()

        plain = SmtpTransport(settings(server.port, smtp_user="news"), "s3cret")  # no STARTTLS: no AUTH, no mail
        with pytest.raises(SendError):
            plain.send(message("bojan@example.org"))
        assert len(server.received()) == 1


def test_implicit_tls(tmp_path):
    with SmtpTestServer(implicit_tls=True, certs=tmp_path) as server:
        transport = SmtpTransport(settings(server.port, smtp_ssl=True), ssl_context=client_context(server.cert))
        transport.send(message("ana@example.org"))
        transport.close()
        assert server.received()[0].tls


def test_replies_map_to_send_errors_and_the_connection_survives(server):
    server.reply("gone@example.org", rcpt="550 5.1.1 no such user")
    server.reply("full@example.org", rcpt="452 4.2.2 mailbox full")
    server.reply("spam@example.org", data="554 5.7.1 message refused as spam")
    server.reply("busy@example.org", data="451 4.3.0 try again later")
    transport = SmtpTransport(settings(server.port))
    expected = {
        "gone@example.org": (False, 550, True, "no such user"),
        "full@example.org": (True, 452, False, "mailbox full"),
        "spam@example.org": (False, 554, False, "refused as spam"),  # DATA-level: not a mailbox bounce
        "busy@example.org": (True, 451, False, "try again later"),
    }
    for rcpt, (transient, code, bounce, text) in expected.items():
        with pytest.raises(SendError) as err:
            transport.send(message(rcpt))
        e = err.value
        assert (e.transient, e.code, e.bounce) == (transient, code, bounce), rcpt
        assert text in e.reply and rcpt in str(e)
    transport.send(message("ok@example.org"))
    assert transport.connections == 1  # RSET after each refusal kept the session usable
    assert [m.recipients for m in server.received()] == [("ok@example.org",)]
    transport.close()


def test_dropped_connections_timeouts_and_refusals_are_transient(server):
    transport = SmtpTransport(settings(server.port, timeout_seconds=0.5))
    server.reply("cut@example.org", drop="before")
    with pytest.raises(SendError) as err:
        transport.send(message("cut@example.org"))
    assert err.value.transient
    server.reply("taken@example.org", drop="after")  # the server took it, the answer was lost
    with pytest.raises(SendError) as err:
        transport.send(message("taken@example.org"))
    assert err.value.transient and "may or may not" in str(err.value)
    assert server.counts()["taken@example.org"] == 1
    server.reply("slow@example.org", delay=2.0)
    started = time.monotonic()
    with pytest.raises(SendError) as err:
        transport.send(message("slow@example.org"))
    assert err.value.transient and time.monotonic() - started < 1.8
    transport.send(message("fine@example.org"))  # a fresh connection after each failure
    assert server.counts()["fine@example.org"] == 1
    transport.close()

    nobody = SmtpTransport(settings(free_port()))
    with pytest.raises(SendError) as err:
        nobody.send(message("ana@example.org"))
    assert err.value.transient and "cannot connect" in str(err.value)


def test_rate_limit_spaces_messages(server):
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    transport = SmtpTransport(settings(server.port, rate_per_second=4), clock=lambda: now[0], sleep=sleep)
    for n in range(5):
        transport.send(message(f"r{n}@example.org", n))
    assert len(slept) == 4 and sum(slept) == pytest.approx(1.0)
    transport.close()
    limiter = RateLimiter(20)  # real clock: 6 events at 20/s take at least 0.25 s
    started = time.monotonic()
    for _ in range(6):
        limiter.wait()
    assert time.monotonic() - started >= 0.24


def test_outbox_writes_one_file_per_message_id_atomically(tmp_path):
    outbox = OutboxTransport(MailSettings(outbox_dir=tmp_path / "outbox"))
    first = message("ana@example.org")
    outbox.send(first)
    path = tmp_path / "outbox" / eml_name(first.message_id)
    assert path.read_bytes() == first.data
    again = OutgoingMessage(first.recipient, first.sender, build_message(first.recipient, first.message_id, "Again"),
                            first.message_id)
    outbox.send(again)
    outbox.send(message("bojan@example.org"))
    files = sorted(p.name for p in (tmp_path / "outbox").iterdir())
    assert len(files) == 2 and all(f.endswith(".eml") for f in files)  # no temp files left behind
    parsed = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert parsed["Subject"] == "Again" and parsed["To"] == "ana@example.org"
    assert eml_name("<a/b@x>") != eml_name("<a_b@x>") and "/" not in eml_name("<../../etc@x>")
    with pytest.raises(SendError):
        outbox.send(OutgoingMessage("a@x", SENDER, b"x", ""))
