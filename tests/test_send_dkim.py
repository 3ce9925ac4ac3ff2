"""DKIM at volume: the fast signer (dkimpy's canonicalisation, RSA by `cryptography`) makes the
very bytes dkimpy makes, and every message it signs verifies with dkim.verify — over real SMTP
too (a pool of connections sending signed digests to the loopback server)."""

from __future__ import annotations

import time

import dkim
import pytest

from publisher.delivery import dkim_fast
from publisher.delivery.dispatch import dispatch_pending
from publisher.delivery.mime import DkimSigner, MessageTemplate
from publisher.delivery.options import DkimSettings, MailSettings
from publisher.delivery.smtp import SmtpTransport
from publisher.errors import RenderError
from publisher.models import SubscriberStatus

from .email_helpers import dnsfunc_for, make_dkim_key
from .smtp_server import SENDER, SmtpTestServer, build_message, render_delivery
from publisher.delivery.base import OutgoingMessage

VALUES = {"unsubscribe_url": "https://news.example.org/u/tok", "preferences_url": "https://news.example.org/p/tok"}


def template(signer) -> MessageTemplate:
    return MessageTemplate(sender="ИОМ Скопје <news@news.example.org>", subject="Вести: граници и миграција " * 4,
                           html_body="<p>Здраво __PUB_EMAIL__</p>\n<p>" + "Текст. " * 400 + "</p>",
                           text_body="Здраво __PUB_EMAIL__\n\n" + "Text with a \tTAB  and  spaces.  \n" * 50,
                           lang="mk", list_id="IOM news <news.news.example.org>", signer=signer)


@pytest.fixture(scope="module")
def key(tmp_path_factory):
    return make_dkim_key(tmp_path_factory.mktemp("dkim"))


def signers(key_path):
    pem = key_path.read_bytes()
    return (DkimSigner("mail2026", "news.example.org", pem, signer="fast"),
            DkimSigner("mail2026", "news.example.org", pem, signer="dkimpy"))


def test_fast_signer_makes_the_same_bytes_as_dkimpy_and_they_verify(key):
    private, _, record = key
    fast, slow = signers(private)
    checked = 0
    for recipient in ("ana@example.org", "b.o+x@example.net", "c@xn--e1afmkfd.xn--90a3ac"):
        data, _ = template(None).personalise(recipient, VALUES, message_id=f"<{checked}.fixed@news.example.org>")
        for _ in range(5):  # both within one second, so t= is the same
            second = int(time.time())
            ours, theirs = fast.sign(data), slow.sign(data)
            if int(time.time()) == second:
                break
        assert ours == theirs
        assert ours.startswith(b"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=news.example.org;")
        assert dkim.verify(ours, dnsfunc=dnsfunc_for(record))
        assert not dkim.verify(ours.replace(b"Subject: ", b"Subject: X"), dnsfunc=dnsfunc_for(record))
        checked += 1
    # a message built by the email package (other folding, other header order) too
    built = build_message("d@example.org", "<e@news.example.org>")
    header = dkim_fast.sign(built, b"mail2026", b"news.example.org", dkim_fast.load_rsa_key(private.read_bytes()),
                            [b"from", b"to", b"subject", b"message-id"], now=1_790_000_000)
    assert b"t=1790000000;" in header and dkim.verify(header + built, dnsfunc=dnsfunc_for(record))


def test_settings_choose_the_signer_and_a_bad_key_fails_at_start(key, tmp_path):
    private, _, _ = key
    base = {"selector": "mail2026", "domain": "news.example.org", "private_key_file": str(private)}
    assert DkimSigner.from_settings(DkimSettings.model_validate(base, context={"base_dir": tmp_path}))._key is not None
    slow = DkimSigner.from_settings(DkimSettings.model_validate(base | {"signer": "dkimpy"},
                                                                context={"base_dir": tmp_path}))
    assert slow._key is None
    (tmp_path / "bad.pem").write_bytes(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
    with pytest.raises(RenderError, match="DKIM private key"):
        DkimSigner("s", "news.example.org", (tmp_path / "bad.pem").read_bytes(), signer="fast")


def test_signed_messages_over_a_pool_of_connections_all_verify(store, key):
    private, _, record = key
    fast, _ = signers(private)
    subs = [store.add_subscriber(f"s{i}@example.org", "en", "daily", SubscriberStatus.CONFIRMED)[0] for i in range(40)]
    store.enqueue("digest:en:daily:dkim", "digest", "en", {}, [(s.id, s.email) for s in subs])

    def render(delivery):
        plain = render_delivery(delivery)
        return OutgoingMessage(plain.recipient, SENDER, fast.sign(plain.data), plain.message_id)

    with SmtpTestServer() as server:
        options = MailSettings(transport="smtp", smtp_port=server.port, rate_per_second=5000, batch_size=5,
                               connections=3)
        with SmtpTransport(options) as transport:
            report = dispatch_pending(store, transport, render, options, "dkim")
        received = server.received()
    assert report.sent == 40 and len({m.recipients[0] for m in received}) == 40 and len(received) == 40
    for message in received:
        assert dkim.verify(message.data, dnsfunc=dnsfunc_for(record)), message.recipients


def test_relaxed_body_canonicalisation_is_dkimpys():
    import random

    policy = dkim.CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")
    rng = random.Random(14)
    pieces = [b"a", b" ", b"\t", b"\r\n", b"  ", b"x y", b" \r\n", b"\t\r\n", b"\r\n\r\n"]
    for _ in range(5000):
        body = b"".join(rng.choice(pieces) for _ in range(rng.randint(0, 14)))
        assert dkim_fast.relaxed_body(body) == policy.canonicalize_body(body), body
