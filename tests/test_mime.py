"""MessageTemplate: headers, encodings, per-recipient substitution, injection, DKIM."""

from __future__ import annotations

import re
from email.header import decode_header, make_header

import dkim
import pytest

from publisher.delivery.mime import (
    EMAIL,
    PREFERENCES_URL,
    UNSUBSCRIBE_URL,
    DkimSigner,
    MessageTemplate,
    ascii_address,
    choose_encoding,
    clean_header,
    encode_header,
)
from publisher.errors import RenderError

from .email_helpers import dkim_settings, dnsfunc_for, make_dkim_key, parse

SQ_SUBJECT = "Takimi i ÇBK-së me shefat e kufirit në Ballkanin Perëndimor"
MK_SUBJECT = "ИОМ организираше состанок со шефовите на службите за гранични работи"
HTML = ('<!DOCTYPE html><html lang="sq"><body><p>Çështjet e sigurisë në Shkup.</p>'
        f'<p>{EMAIL}</p><a href="{UNSUBSCRIBE_URL}">Çabonohu</a> <a href="{PREFERENCES_URL}">Preferencat</a>'
        "</body></html>")
TEXT = f"Çështjet e sigurisë në Shkup.\n\nDërguar te {EMAIL}\nÇabonohu: {UNSUBSCRIBE_URL}\n"
VALUES = {"unsubscribe_url": "https://news.example.org/unsubscribe/TOKEN.a-b_c",
          "preferences_url": "https://news.example.org/preferences/TOKEN.a-b_c?x=1&y=2"}


def template(**extra) -> MessageTemplate:
    options = {"sender": "IOM North Macedonia <news@news.example.org>", "subject": SQ_SUBJECT, "html_body": HTML,
               "text_body": TEXT, "lang": "sq", "list_id": "IOM news <news.news.example.org>",
               "reply_to": "IOM Skopje <iomskopje@news.example.org>",
               "unsubscribe_mailto": "unsubscribe@news.example.org"}
    options.update(extra)
    return MessageTemplate(**options)


def header_block(data: bytes) -> bytes:
    return data.split(b"\r\n\r\n", 1)[0]


def test_headers_parts_and_encodings():
    data, message_id = template().personalise("ana@example.org", VALUES)
    assert b"\n" not in data.replace(b"\r\n", b"")  # CRLF only
    assert all(len(line) <= 998 for line in data.split(b"\r\n"))
    assert all(len(line) <= 78 for line in header_block(data).split(b"\r\n"))
    header_block(data).decode("ascii")
    msg = parse(data)
    assert not msg.defects
    assert str(msg["Subject"]) == SQ_SUBJECT
    assert msg["From"].addresses[0].display_name == "IOM North Macedonia"
    assert msg["From"].addresses[0].addr_spec == "news@news.example.org"
    assert str(msg["To"]) == "ana@example.org"
    assert msg["Reply-To"].addresses[0].addr_spec == "iomskopje@news.example.org"
    assert msg["Message-ID"] == message_id and message_id.endswith("@news.example.org>")
    assert msg["Content-Language"] == "sq"
    assert msg["MIME-Version"] == "1.0"
    assert msg["List-Id"] == "IOM news <news.news.example.org>"
    assert msg["Auto-Submitted"] == "auto-generated" and msg["Precedence"] == "bulk"
    assert msg["Date"].datetime.tzinfo is not None
    assert re.findall(r"<([^>]+)>", str(msg["List-Unsubscribe"])) == [
        VALUES["unsubscribe_url"], "mailto:unsubscribe@news.example.org?subject=unsubscribe"]
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert msg.get_content_type() == "multipart/alternative"
    kinds = [p.get_content_type() for p in msg.iter_parts()]
    assert kinds == ["text/plain", "text/html"]
    for part in msg.iter_parts():
        assert part.get_content_charset() == "utf-8"
        assert part["Content-Transfer-Encoding"] in ("quoted-printable", "base64")
    text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = msg.get_body(("html",)).get_content()
    assert text == TEXT.replace(EMAIL, "ana@example.org").replace(UNSUBSCRIBE_URL, VALUES["unsubscribe_url"])
    assert "Çështjet e sigurisë në Shkup." in text and "Çështjet e sigurisë në Shkup." in html
    assert f"Dërguar te ana@example.org\nÇabonohu: {VALUES['unsubscribe_url']}" in text
    assert f'href="{VALUES["unsubscribe_url"]}"' in html
    assert 'href="https://news.example.org/preferences/TOKEN.a-b_c?x=1&amp;y=2"' in html  # escaped in HTML
    assert "__PUB_" not in text + html


def test_cyrillic_subject_and_base64_bodies():
    body = "Меѓународната организација за миграции го организираше состанокот. " * 20
    data, _ = template(subject=MK_SUBJECT, text_body=body + EMAIL, html_body=f"<p>{body}</p>", lang="mk"
                       ).personalise("ana@example.org", VALUES)
    msg = parse(data)
    assert str(msg["Subject"]) == MK_SUBJECT
    assert "=?utf-8?" in header_block(data).decode("ascii")
    assert [p["Content-Transfer-Encoding"] for p in msg.iter_parts()] == ["base64", "base64"]
    assert msg.get_body(("plain",)).get_content() == body + "ana@example.org"
    multiline = template(text_body="Прв ред\nВтор ред\n", html_body="<p>Прв ред</p>").personalise("a@example.org", VALUES)
    assert parse(multiline[0]).get_body(("plain",)).get_content() == "Прв ред\r\nВтор ред\r\n"  # canonical CRLF
    assert choose_encoding("plain English text") == "quoted-printable"
    assert choose_encoding(body) == "base64"
    assert choose_encoding("") == "quoted-printable"


def test_unique_message_ids_and_cheap_personalisation():
    t = template()
    _first, id1 = t.personalise("a@example.org", VALUES)
    second, id2 = t.personalise("b@example.org", VALUES)
    assert id1 != id2
    assert parse(second)["To"] == "b@example.org"
    assert "b@example.org" in parse(second).get_body(("plain",)).get_content()
    ids = {t.personalise(f"u{i}@example.org", VALUES)[1] for i in range(500)}
    assert len(ids) == 500


def test_header_injection_is_impossible():
    evil = "Title\r\nBcc: x@evil.example\r\n\r\nbody"
    t = template(subject=evil, sender="Evil\r\nBcc: x@evil.example <news@news.example.org>",
                 list_id="list\nBcc: x@evil.example", reply_to="R\rBcc: y@evil.example <r@news.example.org>")
    data, _ = t.personalise("ana@example.org", {
        "unsubscribe_url": "https://news.example.org/u/T\r\nBcc: z@evil.example",
        "preferences_url": "https://news.example.org/p/T"})
    msg = parse(data)
    assert msg["Bcc"] is None and "Bcc" not in msg
    assert not any(line.lower().startswith(b"bcc:") for line in header_block(data).split(b"\r\n"))
    assert str(msg["Subject"]) == "Title Bcc: x@evil.example body"
    assert len(msg.get_all("To")) == 1 and len(msg.get_all("List-Unsubscribe")) == 1
    with pytest.raises(RenderError):
        template().personalise("ana@example.org\r\nBcc: x@evil.example", VALUES)
    assert clean_header("a\x00b\x1bc\u2028d\x85e\tf") == "a b c d e f"
    assert encode_header("Subject", "x\r\ny") == b"Subject: x y\r\n"


def test_addresses():
    assert ascii_address(" Ana@Example.ORG ") == "Ana@example.org"
    assert ascii_address("ana@bücher.example") == "ana@xn--bcher-kva.example"
    for bad in ("no-at-sign", "a@", "@b.org", "a b@c.org", "ана@example.org", "a@b.org, c@d.org"):
        with pytest.raises(RenderError):
            ascii_address(bad)
    t = template(sender="ИОМ Скопје <news@news.example.org>")
    msg = parse(t.personalise("ana@example.org", VALUES)[0])
    assert msg["From"].addresses[0].display_name == "ИОМ Скопје"
    assert str(make_header(decode_header(t.from_header))) == "ИОМ Скопје <news@news.example.org>"


def test_missing_value_is_an_error_not_a_marker():
    with pytest.raises(RenderError, match="unsubscribe_url"):
        template().personalise("ana@example.org", {"preferences_url": "https://x.example/p"})


def test_dkim_signature_verifies_and_covers_the_unsubscribe_headers(tmp_path):
    key, _, record = make_dkim_key(tmp_path / "keys")
    signer = DkimSigner.from_settings(dkim_settings(tmp_path, key))
    data, _ = template(signer=signer).personalise("ana@example.org", VALUES)
    assert data.startswith(b"DKIM-Signature:")
    signature = parse(data)["DKIM-Signature"]
    tags = dict(part.strip().split("=", 1) for part in re.sub(r"\s+", "", str(signature)).split(";") if part)
    signed = tags["h"].lower().split(":")
    assert {"list-unsubscribe", "list-unsubscribe-post", "from", "subject", "to"} <= set(signed)
    assert tags["d"] == "news.example.org" and tags["s"] == "mail2026" and tags["c"] == "relaxed/relaxed"
    assert dkim.verify(data, dnsfunc=dnsfunc_for(record))
    tampered = data.replace(b"List-Unsubscribe-Post: List-Unsubscribe=One-Click",
                            b"List-Unsubscribe-Post: List-Unsubscribe=Two-Click")
    assert not dkim.verify(tampered, dnsfunc=dnsfunc_for(record))
    assert DkimSigner.from_settings(dkim_settings(tmp_path)) is None  # not configured: no signing


def test_bad_dkim_key_fails_at_start(tmp_path):
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    with pytest.raises(RenderError, match="DKIM private key"):
        DkimSigner.from_settings(dkim_settings(tmp_path, bad))
    with pytest.raises(RenderError, match="cannot be read"):
        DkimSigner.from_settings(dkim_settings(tmp_path, tmp_path / "missing.pem"))
