"""Per-message cost of personalised e-mail: MessageTemplate.personalise and Renderer.render.

    .venv/bin/python bench/mail_render_bench.py [N]

Seeds a throw-away SQLite store with the sample releases (tests/email_helpers.py), builds a
daily digest in each language once, then times N personalisations (with and without DKIM) and
N full Renderer.render() calls (subscriber read from the store per message, as the dispatcher
does without a batch). For comparison: one message built with email.message.EmailMessage.
"""

from __future__ import annotations

import sys
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from publisher.delivery.mime import DkimSigner
from publisher.store import Store
from tests.email_helpers import (
    claim_one,
    make_dkim_key,
    make_renderer,
    seed,
    subscriber,
)


def per_call(fn, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - start) / n * 1000


def main(n: int = 5000) -> None:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        url = f"sqlite:///{tmp / 'bench.db'}"
        Store.upgraded(url).close()
        store = Store(url)
        releases = seed(store)
        key, _, _ = make_dkim_key(tmp / "dkim")
        renderer = make_renderer(store, tmp)
        ids = [r.id for r in releases.values()]
        payload = {"releases": ids, "period": "2026-11-29", "frequency": "daily"}
        values = {"unsubscribe_url": "https://news.example.org/unsubscribe/WzEsMV0.awvXvg.tdsqDhbRNyyXxMcICuUPgFvd_M8",
                  "preferences_url": "https://news.example.org/preferences/WzEsMV0.awvXvg.tdsqDhbRNyyXxMcICuUPgFvd_M8"}
        signer = DkimSigner.from_settings(type("D", (), {"enabled": True, "selector": "s", "domain": "news.example.org",
                                                          "private_key_file": key})())
        for lang in ("mk", "en", "sq"):
            sub = subscriber(store, f"bench.{lang}@example.org", lang)
            delivery = claim_one(store, f"digest:daily:{lang}:2026-11-29", "digest", lang, payload, sub)
            start = time.perf_counter()
            template = renderer.template(delivery)
            build_ms = (time.perf_counter() - start) * 1000
            size = len(template.personalise("a@example.org", values)[0])
            plain = per_call(lambda i, t=template: t.personalise(f"user{i}@example.org", values), n)
            template.signer = signer
            signed = per_call(lambda i, t=template: t.personalise(f"user{i}@example.org", values), max(200, n // 10))
            template.signer = None
            full = per_call(lambda i, d=delivery: renderer.render(d), max(500, n // 5))
            full_sub = per_call(lambda i, d=delivery, s=sub: renderer.render(d, s), n)
            print(f"{lang}: {size} bytes; build once {build_ms:.1f} ms; personalise {plain:.3f} ms/msg; "
                  f"with DKIM {signed:.3f} ms/msg; render() {full:.3f} ms/msg (store read), "
                  f"{full_sub:.3f} ms/msg (subscriber given)")

        def email_message(i: int) -> bytes:
            msg = EmailMessage()
            msg["From"], msg["To"], msg["Subject"] = "IOM <news@news.example.org>", f"u{i}@example.org", "Дневен преглед"
            msg.set_content("Текст " * 400)
            msg.add_alternative("<p>" + "Текст " * 400 + "</p>", subtype="html")
            return msg.as_bytes()

        print(f"email.message.EmailMessage, for comparison: {per_call(email_message, 300):.3f} ms/msg")
        store.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
