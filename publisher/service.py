"""``publisher run``: the scheduler (publisher/scheduler.py) and the web server in one process.

- The web server (``publisher.web.app.create_app`` under uvicorn, ``[web] host/port``) runs in
  a thread of its own, in every ``publisher run`` process (it never sends mail). If it cannot be
  imported or started (port taken…), that is reported and the scheduler runs anyway.
- SIGTERM / SIGINT: stop scheduling, let the message in flight finish, release the lease, stop
  the web server, exit 0. A job that does not finish within ``shutdown_seconds`` is abandoned
  (its work is idempotent and is picked up by the next leader).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable
from typing import Any

from .scheduler import Service
from .settings import masked_dump

log = logging.getLogger(__name__)
Echo = Callable[[str], None]


def web_address(settings: Any) -> tuple[str, int]:
    """``[web] host/port`` once the web app defines them; 127.0.0.1:8080 until then."""
    web = getattr(settings, "web", None)
    return str(getattr(web, "host", "127.0.0.1") or "127.0.0.1"), int(getattr(web, "port", 8080) or 8080)


class WebThread:
    """uvicorn in a daemon thread (it installs no signal handlers outside the main thread)."""

    def __init__(self, settings: Any):
        self.settings = settings
        self.host, self.port = web_address(settings)
        self.server: Any = None
        self.thread: threading.Thread | None = None
        self.error: str | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def start(self, timeout: float = 10.0) -> bool:
        try:
            import uvicorn

            from .web.app import create_app
            from .web.options import uvicorn_options

            app = create_app(self.settings)
            # X-Forwarded-For only from [web] forwarded_allow_ips (never uvicorn's default trust of loopback)
            config = uvicorn.Config(app, host=self.host, port=self.port, log_level="warning", lifespan="auto",
                                    **uvicorn_options(self.settings.web))
            self.server = uvicorn.Server(config)
        except Exception as exc:  # noqa: BLE001 - the scheduler runs without the web app
            self.error = f"cannot load the web app: {type(exc).__name__}: {exc}"
            log.exception("cannot load the web app")
            return False
        self.thread = threading.Thread(target=self._serve, name="web", daemon=True)
        self.thread.start()
        waited = 0.0
        while not self.server.started and self.thread.is_alive() and waited < timeout:
            self.thread.join(0.05)
            waited += 0.05
        if not self.server.started:
            self.error = self.error or f"the web server did not start on {self.host}:{self.port} (port in use?)"
            return False
        return True

    def _serve(self) -> None:
        try:
            self.server.run()
        except BaseException as exc:  # noqa: BLE001 - uvicorn exits with SystemExit when it cannot bind
            self.error = f"the web server stopped: {type(exc).__name__}: {exc}"
            log.error("%s", self.error)

    def stop(self, timeout: float = 3.0) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout)


def banner(app: Any, web: WebThread | None, web_wanted: bool) -> list[str]:
    """What runs where, for the first lines of ``publisher run``."""
    s = app.settings
    lines = [f"publisher service (pid {os.getpid()}); settings: {s.settings_file or 'built-in defaults'}"]
    lines.append(f"  database   {masked_dump(s)['store']['url']}")
    if web is not None and web.error is None:
        base = web.url.rstrip("/")
        lines.append(f"  web        {web.url}   feeds: {base}/feeds/{{lang}}/rss.xml and /atom.xml")
    elif web is not None:
        lines.append(f"  web        not running: {web.error}")
    else:
        lines.append("  web        off (--no-web)" if not web_wanted else "  web        off")
    lines.append(f"  feeds      {s.feeds.output_dir} (rebuilt every {s.scheduler.feeds_minutes:g} min and after each new release)")
    if s.mail.transport == "outbox":
        lines.append(f"  mail       outbox folder {s.mail.outbox_dir} (.eml files; nothing leaves this machine)")
    else:
        lines.append(f"  mail       SMTP {s.mail.smtp_host}:{s.mail.smtp_port}")
    for source in s.sources:
        where = getattr(source, "path", None) or getattr(source, "url", "")
        lines.append(f"  source     {source.name} ({source.type}): {where}, polled every {s.scheduler.poll_minutes:g} min")
    d = s.digest
    lines.append(f"  digests    daily at {d.daily_time}, weekly on {d.weekly_day} at {d.weekly_time} ({s.site.timezone})")
    return lines


def _local(moment: dt.datetime | None, zone: Any) -> str:
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z") if moment else "-"


def serve(app: Any, *, web: bool = True, echo: Echo = print, service: Service | None = None) -> int:
    """Run until SIGTERM/SIGINT; returns the exit code."""
    zone = app.settings.site.zone

    def on_event(name: str, **info: Any) -> None:
        if name == "leader":
            echo(f"scheduler: this process holds the lease ({info['owner']}); jobs:")
            for job_id, trigger, next_run in info["jobs"]:
                echo(f"  {job_id:<14} next {_local(next_run, zone)}   {trigger}")
        elif name == "waiting":
            echo(f"scheduler: waiting; the lease is held by {info['holder'] or 'another process'} "
                 "(this process takes over when it stops)")
        elif name == "follower":
            echo(f"scheduler: stopped scheduling ({info['reason']})")
        elif name == "job":
            if not info["ok"]:
                echo(f"job {info['job']} failed: {info['summary']}")
            else:
                log.info("job %s: %s", info["job"], info["summary"])
        elif name == "stopping":
            running = ", ".join(info["running"]) or "none"
            echo(f"stopping (jobs running: {running}) …")
        elif name == "stopped":
            unfinished = info["unfinished"]
            echo("stopped" + (f"; abandoned unfinished jobs: {', '.join(unfinished)}" if unfinished else "")
                 + ("; lease released" if info["released"] else ""))

    service = service or Service(app, on_event=on_event)
    server = WebThread(app.settings) if web else None
    if server is not None:
        server.start()
    for line in banner(app, server, web):
        echo(line)

    def handle(signum: int, _frame: Any) -> None:
        log.info("signal %s: stopping", signum)
        service.stop()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        code = service.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if server is not None:
            server.stop()
    if service.running_jobs():  # a stage that ignores the stop event: do not wait for it
        sys.stdout.flush()
        sys.stderr.flush()
        app.close()
        os._exit(code)
    return code
