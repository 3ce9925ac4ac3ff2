"""`directory` source: a drop folder of .txt, .md and .html files.

- .txt: the first non-empty line is the title, blank-line separated paragraphs follow.
- .md: optional YAML front matter (title, date, lang, slug, author, tags); Markdown body.
- .html/.htm: the main text extracted by trafilatura.

Files still being written (modified less than ``settle_seconds`` ago), hidden files and
editor temporaries are left for the next run. A file whose size and mtime are unchanged since
the last run is reported unchanged without being read. Rejected files are moved to the
quarantine folder with a ``.reason.txt`` beside them; good files stay where they are.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import hashlib
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ..cleaning import split_title
from ..errors import ItemRejected, SourceError
from ..models import RawRelease, Rejected, Unchanged
from ..settings import DirectorySourceOptions
from . import SourceContext
from .base import SourceBase
from .decode import decode_bytes
from .extract import Extracted, extract_html, extract_markdown

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_TEMP = ("~", ".tmp", ".part", ".swp", ".crdownload")
_TYPES = {".txt": "text/plain", ".md": "text/markdown", ".markdown": "text/markdown",
          ".html": "text/html", ".htm": "text/html"}


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

    # ------------------------------------------------------------------ listing
    def _candidates(self) -> Iterator[Path]:
        if not self.root.is_dir():
            raise SourceError(
                f"source {self.name!r}: folder {self.root} does not exist; create it or fix "
                "the source's path in the settings"
            )
        walker = self.root.rglob("*") if self.options.recursive else self.root.iterdir()
        quarantine = self.quarantine_dir.resolve()
        for path in sorted(walker):
            rel = path.relative_to(self.root)
            if any(part.startswith(".") for part in rel.parts) or path.name.endswith(_TEMP):
                continue
            if path.resolve().is_relative_to(quarantine):
                continue  # a quarantine folder inside the drop folder: never read it back
            if not path.is_file() or path.is_symlink():
                continue
            if any(fnmatch.fnmatch(path.name.lower(), pattern.lower()) for pattern in self.options.patterns):
                yield path

    def fetch(self, state: dict[str, Any]) -> Iterator[RawRelease | Rejected | Unchanged]:
        seen: dict[str, Any] = state.setdefault("files", {})
        self._seen = seen
        now = time.time()
        present: set[str] = set()
        for path in self._candidates():
            rel = path.relative_to(self.root).as_posix()
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue  # removed while we were listing
            if now - stat.st_mtime < self.options.settle_seconds:
                continue  # still being written; next run
            present.add(rel)
            fingerprint = [stat.st_size, stat.st_mtime_ns]
            if seen.get(rel, {}).get("fp") == fingerprint:
                yield Unchanged(self.name, rel)
                continue
            item = self._read(path, rel, stat)
            if isinstance(item, RawRelease):
                seen[rel] = {"fp": fingerprint, "sha256": hashlib.sha256(item.raw).hexdigest()}
            yield item
        for rel in list(seen):
            if rel not in present and not (self.root / rel).exists():
                del seen[rel]

    def _read(self, path: Path, rel: str, stat: os.stat_result) -> RawRelease | Rejected:
        content_type = _TYPES.get(path.suffix.lower(), "text/plain")
        if stat.st_size > self.max_bytes:
            return Rejected(self.name, rel, b"", f"file is {stat.st_size} bytes, over the "
                            f"{self.max_bytes}-byte limit (max_bytes); split it or raise the limit",
                            content_type)
        raw = path.read_bytes()
        try:
            return self._parse(raw, path, rel, content_type, stat)
        except ItemRejected as exc:
            return Rejected(self.name, rel, raw, exc.reason, content_type)

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
            language=extracted.language or self.options.language,
            content_type=content_type,
            slug=extracted.slug,
            author=extracted.author,
            categories=tuple(extracted.categories),
            embargo_until=extracted.embargo_until,
            expires_at=extracted.expires_at,
        )

    # ------------------------------------------------------------------ quarantine
    def quarantine(self, item: Rejected | RawRelease, reason: str) -> str | None:
        """Move the file out of the drop folder so that it is not retried until fixed."""
        source = self.root / item.ref
        if not source.exists():
            return None
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
        target = self.quarantine_dir / f"{stamp}-{Path(item.ref).name}"
        target.parent.mkdir(parents=True, exist_ok=True)
        counter = 1
        while target.exists():
            target = target.with_name(f"{stamp}-{counter}-{Path(item.ref).name}")
            counter += 1
        shutil.move(str(source), target)
        if self._seen is not None:
            # forget the fingerprint: the same bytes moved back (after a settings fix) are retried
            self._seen.pop(item.ref, None)
        target.with_name(target.name + ".reason.txt").write_text(
            f"source: {self.name}\nfile: {item.ref}\nreason: {reason}\n"
            "fix the file and drop it into the folder again to retry\n",
            encoding="utf-8",
        )
        return str(target)
