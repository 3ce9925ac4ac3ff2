"""`directory` source: a drop folder of .txt, .md and .html files.

- .txt: the first non-empty line is the title, blank-line separated paragraphs follow.
- .md: optional YAML front matter (title, date, lang, slug, author, tags); Markdown body.
- .html/.htm: the main text extracted by trafilatura.

Every entry of the folder is accounted for. A file is read, or yielded as Skipped with the
reason (SKIP_REASONS: not one of the patterns, a link, hidden, an editor temporary, a
sub-folder, a pipe or device, still being written — modified less than ``settle_seconds``
ago). A file whose size and mtime are unchanged since the last run is reported unchanged
without being read. Whatever goes wrong with one file (unreadable, a name that is not UTF-8,
an impossible date, any exception) makes it a Rejected with the reason, and the next file is
read. Rejected files are moved to the quarantine folder with a ``.reason.txt`` beside them;
good files stay where they are. A file that cannot be moved is remembered in the source's
state (``unmoved``) with its fingerprint and reason, and not read again until it changes.

Reads are bounded: a file over ``max_bytes`` is refused from its size, it is opened without
following links and without blocking (a pipe put in place after the listing is not waited
on), and read no further than the limit. The parsers' limits are in publisher.sources.limits.
"""

from __future__ import annotations

import datetime as dt
import errno
import fnmatch
import hashlib
import logging
import os
import re
import shutil
import stat as stat_module
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..cleaning import split_title
from ..errors import ItemRejected, SourceError
from ..models import RawRelease, Rejected, Skipped, Unchanged
from ..settings import DirectorySourceOptions
from . import SourceContext
from .base import SourceBase
from .decode import decode_bytes
from .extract import Extracted, extract_html, extract_markdown

log = logging.getLogger(__name__)

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_TEMP = ("~", ".tmp", ".part", ".swp", ".crdownload")
_TYPES = {".txt": "text/plain", ".md": "text/markdown", ".markdown": "text/markdown",
          ".html": "text/html", ".htm": "text/html"}
_MAX_NAME_BYTES = 180  # of the moved file's name after the timestamp (NAME_MAX is 255)


def display_name(name: str) -> str:
    """A file name as text: names that are not UTF-8 (Python keeps their bytes as lone
    surrogates, which no database or UTF-8 file accepts) show the bad bytes as ``\\xe9``."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def printable(text: str) -> str:
    """``text`` with control characters (a newline in a file name) written as escapes."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


def _is_temporary(name: str) -> bool:
    return name.endswith(_TEMP) or name.startswith("~$") or (name.startswith("#") and name.endswith("#"))


def _short(name: str) -> str:
    """``name`` cut to _MAX_NAME_BYTES of UTF-8, keeping its extension."""
    if len(name.encode("utf-8")) <= _MAX_NAME_BYTES:
        return name
    stem, suffix = os.path.splitext(name)
    suffix = suffix if len(suffix) < 16 else ""
    room = _MAX_NAME_BYTES - len(suffix.encode("utf-8"))
    return stem.encode("utf-8")[:room].decode("utf-8", "ignore") + suffix


class DirectorySource(SourceBase):
    type = "directory"

    def __init__(self, options: DirectorySourceOptions, context: SourceContext):
        self.options = options
        self.context = context
        self.name = options.name
        self.root = Path(options.path)
        self.max_bytes = options.max_bytes or context.max_bytes
        self.quarantine_dir = Path(options.quarantine_dir or context.quarantine_dir) / self.name
        self._seen: dict[str, Any] | None = None  # the running fetch's fingerprints
        self._unmoved: dict[str, Any] = {}  # rejected files that could not be moved, by ref
        self._where: dict[str, Path] = {}  # ref → the file (a ref is a display name)
        self._fingerprints: dict[str, list[int]] = {}

    # ------------------------------------------------------------------ listing
    def _entries(self) -> Iterator[tuple[Path, str, str | None, str]]:
        """(path, rel, why skipped or None, detail) for every entry of the folder, sorted."""
        if not self.root.is_dir():
            raise SourceError(
                f"source {self.name!r}: folder {self.root} does not exist; create it or fix "
                "the source's path in the settings"
            )
        yield from self._walk(self.root, self.quarantine_dir.resolve())

    def _walk(self, folder: Path, quarantine: Path) -> Iterator[tuple[Path, str, str | None, str]]:
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            if folder == self.root:
                raise SourceError(f"source {self.name!r}: folder {self.root} cannot be listed: "
                                  f"{exc.strerror}; let the service's account read it") from None
            yield folder, display_name(folder.relative_to(self.root).as_posix()), "folder", (
                f"could not be listed: {exc.strerror}")
            return
        for entry in entries:
            path = Path(entry.path)
            rel = display_name(path.relative_to(self.root).as_posix())
            try:
                if entry.name.startswith("."):
                    yield path, rel, "hidden", ""
                elif entry.is_symlink():
                    yield path, rel, "link", "symbolic links are never followed"
                elif entry.is_dir(follow_symlinks=False):
                    resolved = path.resolve()
                    if resolved == quarantine or resolved.is_relative_to(quarantine):
                        continue  # our own quarantine folder: never read back, not counted
                    if self.options.recursive:
                        yield from self._walk(path, quarantine)
                    elif not quarantine.is_relative_to(resolved):
                        yield path, rel, "folder", "the source is not recursive"
                elif not entry.is_file(follow_symlinks=False):
                    yield path, rel, "special-file", "not a regular file (a pipe, socket or device)"
                elif _is_temporary(entry.name):
                    yield path, rel, "temporary", ""
                elif not any(fnmatch.fnmatch(entry.name.lower(), p.lower()) for p in self.options.patterns):
                    yield path, rel, "unsupported-type", f"not one of {', '.join(self.options.patterns)}"
                else:
                    yield path, rel, None, ""
            except OSError as exc:  # gone or unreadable while we looked
                yield path, rel, "special-file", f"could not be examined: {exc.strerror}"

    def fetch(self, state: dict[str, Any]) -> Iterator[RawRelease | Rejected | Unchanged | Skipped]:
        seen: dict[str, Any] = state.setdefault("files", {})
        unmoved: dict[str, Any] = state.setdefault("unmoved", {})
        self._seen, self._unmoved = seen, unmoved
        now = time.time()
        listed: set[str] = set()
        for path, rel, why, detail in self._entries():
            listed.add(rel)
            if why is not None:
                yield Skipped(self.name, rel, why, detail)
                continue
            try:
                item = self._one(path, rel, now)
            except Exception as exc:  # one file must never stop the folder
                log.exception("unexpected error reading %s", rel)
                item = Rejected(self.name, rel, b"", f"internal error: {type(exc).__name__}: {exc}",
                                _TYPES.get(path.suffix.lower(), "text/plain"))
            if item is not None:
                yield item
        for bucket in (seen, unmoved):
            for rel in list(bucket):
                if rel not in listed:  # gone from the folder: forget it
                    del bucket[rel]

    def _one(self, path: Path, rel: str, now: float) -> RawRelease | Rejected | Unchanged | Skipped | None:
        try:
            stat = path.lstat()
        except FileNotFoundError:
            return None  # removed while we were listing
        if not stat_module.S_ISREG(stat.st_mode):
            return Skipped(self.name, rel, "special-file", "not a regular file (a pipe, socket or device)")
        age = now - stat.st_mtime
        # an mtime far in the future (a wrong clock where the file was made) is not a file being
        # written: waiting for it to settle would wait for years
        if -max(self.options.settle_seconds, 60) < age < self.options.settle_seconds:
            return Skipped(self.name, rel, "still-settling",
                           f"modified {max(age, 0):.0f} s ago; read once it is settle_seconds "
                           f"({self.options.settle_seconds:g}) old")
        self._where[rel] = path
        fingerprint = [stat.st_size, stat.st_mtime_ns]
        self._fingerprints[rel] = fingerprint
        if self._seen.get(rel, {}).get("fp") == fingerprint:
            return Unchanged(self.name, rel)
        if self._unmoved.get(rel, {}).get("fp") == fingerprint:
            return Skipped(self.name, rel, "rejected-unmoved", self._unmoved[rel].get("reason", ""))
        item = self._read(path, rel, stat)
        if isinstance(item, RawRelease):
            self._seen[rel] = {"fp": fingerprint, "sha256": hashlib.sha256(item.raw).hexdigest()}
            self._unmoved.pop(rel, None)
        return item

    def _read(self, path: Path, rel: str, stat: os.stat_result) -> RawRelease | Rejected:
        content_type = _TYPES.get(path.suffix.lower(), "text/plain")
        if stat.st_size > self.max_bytes:
            return Rejected(self.name, rel, b"", self._too_big(stat.st_size), content_type)
        try:
            raw = self._read_bytes(path)
        except ItemRejected as exc:
            return Rejected(self.name, rel, b"", exc.reason, content_type)
        except PermissionError as exc:
            return Rejected(self.name, rel, b"", (
                f"permission denied: the account that runs publisher may not read the file "
                f"({exc.strerror}); make it readable (e.g. chmod a+r) and drop it in again"), content_type)
        except OSError as exc:
            return Rejected(self.name, rel, b"", f"could not read the file: {exc.strerror or exc}", content_type)
        if display_name(path.as_posix()) != path.as_posix():
            return Rejected(self.name, rel, raw, (
                f"the file name {rel!r} is not valid UTF-8; rename it "
                "(e.g. save it again under a name typed on this system) and drop it in again"), content_type)
        try:
            return self._parse(raw, path, rel, content_type, stat)
        except ItemRejected as exc:
            return Rejected(self.name, rel, raw, exc.reason, content_type)

    def _too_big(self, size: int) -> str:
        return (f"file is {size} bytes, over the {self.max_bytes}-byte limit (max_bytes); "
                "split it or raise the limit")

    def _read_bytes(self, path: Path) -> bytes:
        """The file's bytes, no more than max_bytes: not through a link, never waiting on a pipe."""
        flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(path, flags)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise ItemRejected("the file became a symbolic link while it was read; links are never followed") from None
            raise
        try:
            if not stat_module.S_ISREG(os.fstat(fd).st_mode):
                raise ItemRejected("not a regular file (it was replaced while it was read)")
            chunks, total = [], 0
            while True:
                chunk = os.read(fd, min(1 << 20, self.max_bytes + 1 - total))
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)
                total += len(chunk)
                if total > self.max_bytes:
                    raise ItemRejected(self._too_big(total) + " (it grew while it was read)")
        finally:
            os.close(fd)

    def _parse(self, raw: bytes, path: Path, rel: str, content_type: str, stat: os.stat_result) -> RawRelease:
        declared = None
        if content_type == "text/html":
            match = _META_CHARSET.search(raw[:4096])
            declared = match.group(1).decode("ascii", "replace") if match else None
        text, _encoding = decode_bytes(raw, declared)
        if content_type == "text/html":
            extracted = extract_html(text, default_tz=self.context.timezone)
        elif content_type == "text/markdown":
            extracted = extract_markdown(text, default_tz=self.context.timezone)
        else:
            title, paragraphs = split_title(text, self.context.boilerplate)
            extracted = Extracted(title=title, paragraphs=paragraphs)
        mtime = dt.datetime.fromtimestamp(stat.st_mtime, dt.timezone.utc)
        return RawRelease(
            source=self.name,
            ref=rel,
            raw=raw,
            title=extracted.title,
            paragraphs=tuple(extracted.paragraphs),
            guid=rel,
            link=extracted.link,
            published_at=extracted.published_at or mtime,
            dated=extracted.published_at is not None,  # an mtime is no published date for archive
            language=extracted.language or self.options.language,
            content_type=content_type,
            slug=extracted.slug,
            author=extracted.author,
            categories=tuple(extracted.categories),
            embargo_until=extracted.embargo_until,
            expires_at=extracted.expires_at,
            body_html=extracted.body_html,  # issue 9
        )

    # ------------------------------------------------------------------ quarantine
    def quarantine(self, item: Rejected | RawRelease, reason: str) -> str | None:
        """Move the file out of the drop folder so that it is not retried until fixed.

        A file that cannot be moved stays, remembered with its fingerprint and reason (it is
        not read again until it changes); the OSError goes on to ingest, which notes it."""
        source = self._where.get(item.ref, self.root / item.ref)
        if not os.path.lexists(source):
            return None
        if self._seen is not None:
            # forget the fingerprint: the same bytes moved back (after a settings fix) are retried
            self._seen.pop(item.ref, None)
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
        name = _short(display_name(source.name))
        target = self.quarantine_dir / f"{stamp}-{name}"
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            counter = 1
            while os.path.lexists(target):
                target = target.with_name(f"{stamp}-{counter}-{name}")
                counter += 1
            shutil.move(str(source), target)
        except OSError as exc:
            if item.ref in self._fingerprints:
                self._unmoved[item.ref] = {"fp": self._fingerprints[item.ref], "reason": reason}
            raise OSError(exc.errno, f"{exc.strerror or exc} (moving to {self.quarantine_dir})") from exc
        self._unmoved.pop(item.ref, None)
        try:
            target.with_name(target.name + ".reason.txt").write_text(
                f"source: {self.name}\nfile: {printable(item.ref)}\nreason: {reason}\n"
                "fix the file and drop it into the folder again to retry\n",
                encoding="utf-8", errors="backslashreplace",
            )
        except OSError:
            log.exception("could not write the reason beside %s", target)
        return str(target)
