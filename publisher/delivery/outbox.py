"""Outbox transport: each message becomes one .eml file in a folder (the default transport).

The file name is derived from the Message-ID, so sending the same message again overwrites
its file instead of adding a second one. A file appears whole or not at all: the bytes go to a
temporary file in the same folder, are fsynced, then ``os.replace`` puts them in place and the
folder entry is fsynced too; ``send()`` returns after that.
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid
from pathlib import Path

from .base import OutgoingMessage, SendError
from .options import MailSettings

_UNSAFE = re.compile(r"[^A-Za-z0-9._@+-]+")


def eml_name(message_id: str) -> str:
    """A stable, filesystem-safe file name for a Message-ID (readable part + short hash)."""
    bare = message_id.strip().strip("<>")
    readable = _UNSAFE.sub("_", bare)[:80].strip("._") or "message"
    digest = hashlib.sha256(message_id.strip().encode("utf-8")).hexdigest()[:12]
    return f"{readable}-{digest}.eml"


class OutboxTransport:
    name = "outbox"

    def __init__(self, options: MailSettings):
        self.directory = Path(options.outbox_dir)

    def path_for(self, message: OutgoingMessage) -> Path:
        return self.directory / eml_name(message.message_id)

    def send(self, message: OutgoingMessage) -> None:
        if not message.message_id.strip():
            raise SendError("the message has no Message-ID; the outbox names files after it", transient=False)
        target = self.path_for(message)
        temp = self.directory / f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            with open(temp, "wb") as handle:
                handle.write(message.data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, target)
            self._sync_directory()
        except OSError as exc:
            try:
                temp.unlink(missing_ok=True)
            except OSError:
                pass
            raise SendError(f"cannot write {target}: {exc.strerror or exc}", transient=True) from None

    def _sync_directory(self) -> None:
        try:
            fd = os.open(self.directory, os.O_RDONLY)
        except OSError:  # e.g. platforms without directory fds
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    def close(self) -> None:
        """Nothing to close; present for the Transport protocol."""
