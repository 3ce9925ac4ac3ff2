"""Shared by the e-mail tests: releases seeded through the store API, settings, a DKIM key,
ledger rows made by the real enqueue/claim, and parsing messages back."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import subprocess
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from publisher.delivery.options import DigestSettings, DkimSettings, MailSettings
from publisher.delivery.render import Renderer
from publisher.delivery.tokens import Tokens
from publisher.models import (
    CleanRelease,
    Delivery,
    StoredRelease,
    Subscriber,
    SubscriberStatus,
)
from publisher.settings import SiteSettings

from .conftest import SAMPLE, SAMPLE_TITLE

BASE_URL = "https://news.example.org"
SECRET = "test-secret-0123456789-abcdefghijklmnopqrstuvwxyz"
SQ_TITLE = "Takimi i ÇBK-së me shefat e kufirit në Ballkanin Perëndimor"
SQ_BODY = ("Organizata Ndërkombëtare për Migracion (ÇBK) mblodhi shefat e shërbimeve kufitare. "
           "Çështjet e sigurisë u diskutuan në Shkup.\n\nParagrafi i dytë për bashkëpunimin rajonal.")
EN_TITLE = "IOM meets the chiefs of border services of the Western Balkans"
EN_BODY = ("The International Organization for Migration brought together the chiefs of border services "
           "in Skopje.\n\nThe second paragraph is about regional cooperation.")
MK2_TITLE = "Втора вест за миграцијата и граничната соработка"
MK2_BODY = "Прв пасус за соработката на граничните служби.\n\nВтор пасус со повеќе детали."
EN2_TITLE = "Second news on migration and border cooperation"
EN2_BODY = "First paragraph about the cooperation of border services.\n\nSecond paragraph with more detail."


def site_settings(**extra) -> SiteSettings:
    return SiteSettings.model_validate({"name": "IOM North Macedonia", "base_url": BASE_URL, **extra})


def mail_settings(tmp_path: Path, **extra) -> MailSettings:
    data = {"from": "IOM North Macedonia <news@news.example.org>", "reply_to": "IOM Skopje <iomskopje@news.example.org>",
            "list_id": "IOM North Macedonia news <news.news.example.org>",
            "unsubscribe_mailto": "unsubscribe@news.example.org", **extra}
    return MailSettings.model_validate(data, context={"base_dir": tmp_path})


def dkim_settings(tmp_path: Path, key: Path | None = None) -> DkimSettings:
    if key is None:
        return DkimSettings.model_validate({}, context={"base_dir": tmp_path})
    return DkimSettings.model_validate({"selector": "mail2026", "domain": "news.example.org",
                                        "private_key_file": str(key)}, context={"base_dir": tmp_path})


def make_dkim_key(folder: Path) -> tuple[Path, Path, bytes]:
    """(private PEM path, DNS TXT record file, record bytes) made with openssl."""
    folder.mkdir(parents=True, exist_ok=True)
    private = folder / "dkim.pem"
    subprocess.run(["openssl", "genrsa", "-traditional", "-out", str(private), "2048"], check=True,
                   capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", str(private), "-pubout", "-outform", "DER"], check=True,
                         capture_output=True).stdout
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)
    txt = folder / "dkim.txt"
    txt.write_bytes(record + b"\n")
    return private, txt, record


def make_release(store, n: int, title: str, body: str, published: dt.datetime | None = None,
                 **extra) -> StoredRelease:
    published = published or dt.datetime(2026, 11, 28, 9, n, tzinfo=dt.UTC)
    digest = hashlib.sha256(f"{title}\n{body}".encode()).hexdigest()
    clean = CleanRelease(source="inbox", ref=f"r{n}.txt", raw=body.encode(), content_type="text/plain",
                         title=title, body=body, content_hash=digest, guid=f"guid-{n}", link=None,
                         published_at=published, language="mk", **extra)
    return store.save_release(clean)[1]


def seed(store) -> dict[str, StoredRelease]:
    """r1: the sample, en + sq machine; r2: en human, sq missing; r3: only mk."""
    paragraphs = SAMPLE.read_text(encoding="utf-8").split("\n\n")[1:4]
    r1 = make_release(store, 1, SAMPLE_TITLE, "\n\n".join(paragraphs))
    r2 = make_release(store, 2, MK2_TITLE, MK2_BODY)
    r3 = make_release(store, 3, "Трета вест само на македонски јазик", "Текст само на македонски јазик.")
    store.save_machine_translation(r1, "en", EN_TITLE, EN_BODY, "apertium", [])
    store.save_machine_translation(r1, "sq", SQ_TITLE, SQ_BODY, "google", [])
    store.save_human_translation(r2, "en", EN2_TITLE, EN2_BODY, editor="ana")
    return {"r1": r1, "r2": r2, "r3": r3}


def make_renderer(store, tmp_path: Path, dkim_key: Path | None = None, content: str = "lead",
                  template_dirs: list[Path] = (), digest: dict | None = None, **mail) -> Renderer:
    digest_settings = DigestSettings.model_validate({"content": content, **(digest or {})})
    return Renderer(site_settings(), mail_settings(tmp_path, **mail), digest_settings,
                    dkim_settings(tmp_path, dkim_key), store, Tokens(SECRET), list(template_dirs),
                    {"en": "machine", "sq": "machine"})


def subscriber(store, email: str, lang: str, confirmed: bool = True) -> Subscriber:
    status = SubscriberStatus.CONFIRMED if confirmed else SubscriberStatus.PENDING
    return store.add_subscriber(email, lang, "daily", status=status, consent_source="test")[0]


def claim_one(store, message_key: str, kind: str, lang: str, payload: dict, sub: Subscriber | None,
              recipient: str | None = None) -> Delivery:
    """A ledger row made the real way: enqueue, then claim."""
    address = recipient or sub.email
    store.enqueue(message_key, kind, lang, payload, [(sub.id if sub else None, address)])
    rows = store.claim("test", 10, dt.timedelta(minutes=5), message_key=message_key)
    return next(r for r in rows if r.recipient == address)


def parse(data: bytes) -> EmailMessage:
    return message_from_bytes(data, policy=policy.default)


def bodies(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")  # canonical CRLF on the wire
    html = message.get_body(("html",)).get_content()
    return text, html


def flat(text: str) -> str:
    """Whitespace collapsed (the plain text is wrapped at 72 columns)."""
    return " ".join(text.split())


def dnsfunc_for(record: bytes):
    def dnsfunc(name, timeout=5):
        return record
    return dnsfunc
