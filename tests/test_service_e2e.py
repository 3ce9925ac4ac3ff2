"""The whole service as a real process: a release dropped into the inbox reaches the feeds in
every language and an immediate subscriber's mailbox within one poll interval plus a few
seconds (offline engine), and the web server in the same process serves it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from publisher.app import App
from publisher.models import SubscriberStatus

from .conftest import SAMPLE, SAMPLE_TITLE
from .smtp_server import SmtpTestServer, free_port

ROOT = Path(__file__).resolve().parent.parent
POLL_SECONDS = 3


def test_dropped_release_reaches_feeds_and_mailbox_within_a_poll(site):
    shutil.copy(ROOT / "glossary.toml", site.dir / "glossary.toml")
    port = free_port()
    with SmtpTestServer() as smtp:
        site.write(extra=f"""
[scheduler]
poll_minutes = {POLL_SECONDS / 60}
dispatch_seconds = 1
[mail]
transport = "smtp"
smtp_port = {smtp.port}
rate_per_second = 100
[web]
port = {port}
""")
        app = App(site.settings())
        app.store.add_subscriber("reader@example.org", "en", "immediate", status=SubscriberStatus.CONFIRMED)
        app.close()
        env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLISHER_")}
        proc = subprocess.Popen([str(Path(sys.executable).with_name("publisher")), "--settings",
                                 str(site.settings_file), "run"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, env=env)
        try:
            deadline = time.monotonic() + 60
            while True:  # the service is up when its web server answers
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert time.monotonic() < deadline and proc.poll() is None, "the service did not start"
                time.sleep(0.2)
            time.sleep(POLL_SECONDS)  # the start-up cycle found an empty inbox
            dropped = time.monotonic()
            target = site.inbox / "new-release.txt"
            shutil.copy(SAMPLE, target)
            os.utime(target, (time.time() - 60, time.time() - 60))
            [message] = smtp.wait_for(1, timeout=POLL_SECONDS + 45)
            elapsed = time.monotonic() - dropped
            parsed = message.parsed()
            assert message.recipients == ("reader@example.org",) and parsed["Content-Language"] == "en"
            assert "International Organization for Migration" in parsed.get_body(("plain",)).get_content()
            feeds = {lang: httpx.get(f"http://127.0.0.1:{port}/feeds/{lang}/atom.xml", timeout=5) for lang in ("mk", "en")}
            assert all(r.status_code == 200 for r in feeds.values())
            assert SAMPLE_TITLE in feeds["mk"].text and "International Organization for Migration" in feeds["en"].text
            assert elapsed < POLL_SECONDS + 45, elapsed
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                output, _ = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                output, _ = proc.communicate()
        assert proc.returncode == 0, output
