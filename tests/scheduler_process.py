"""A real ``publisher run`` process for the scheduler tests (the service without the web server).

    python tests/scheduler_process.py SETTINGS_FILE

Prints the service's start-up lines, then one JSON line per scheduler event
(``{"event": "leader" | "waiting" | "job" | "follower" | "stopping" | "stopped", ...}``), flushed,
so the test can follow it. SIGTERM/SIGINT stop it as they stop ``publisher run``.
"""

from __future__ import annotations

import json
import logging
import sys
import threading

from publisher.app import App
from publisher.scheduler import Service
from publisher.service import serve


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    app = App.from_settings_file(argv[0])

    lock = threading.Lock()  # events come from several threads: one whole line at a time

    def emit(line: str) -> None:
        with lock:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    def on_event(name: str, **info: object) -> None:
        info = {k: v for k, v in info.items() if k != "jobs"}
        emit(json.dumps({"event": name, **info}, default=str))

    service = Service(app, on_event=on_event)
    try:
        return serve(app, web=False, echo=emit, service=service)
    finally:
        app.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
