"""Store methods for the translation memory (mixed into Store).

Two kinds of entry share one table:
- an engine's accepted output (``engine`` = the engine's name, ``created_by`` empty): reused only for
  that same engine, so switching engines never serves another engine's words as its own;
- a human rendering (``engine`` = ``HUMAN``): a staff edit or an entry imported from a translator's
  tool, with who made it (``created_by``) and when (``created_at``, ``changed_at``). The translation
  service looks these up first, before any engine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import func, select

from .schema import MemoryRow, utcnow

HUMAN = "human"  # the engine name of human entries (staff edits, TMX imports)


def memory_entry(row: MemoryRow) -> dict[str, Any]:
    return {
        "engine": row.engine, "src": row.src, "tgt": row.tgt, "key": row.key, "source": row.source,
        "target": row.target, "created_by": row.created_by, "created_at": row.created_at,
        "changed_at": row.changed_at, "hits": row.hits, "last_used_at": row.last_used_at,
    }


class MemoryStoreMixin:
    def memory_get(self, engine: str, src: str, tgt: str, keys: Sequence[str]) -> dict[str, str]:
        """The stored target per key for this engine and pair; counts a hit on each one found."""
        return {key: entry["target"] for key, entry in self._memory_use(engine, src, tgt, keys).items()}

    def memory_get_human(self, src: str, tgt: str, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The human entries for these keys (``memory_entry`` dicts: target, created_by, created_at,
        changed_at); counts a hit on each one found. The translation service asks this first."""
        return self._memory_use(HUMAN, src, tgt, keys)

    def _memory_use(self, engine: str, src: str, tgt: str, keys: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The entries of this engine and pair for these keys, each counted as used once."""
        if not keys:
            return {}
        found: dict[str, dict[str, Any]] = {}
        with self.session() as session:
            for start in range(0, len(keys), 500):
                chunk = list(keys[start : start + 500])
                rows = session.scalars(
                    select(MemoryRow).where(MemoryRow.engine == engine, MemoryRow.src == src,
                                            MemoryRow.tgt == tgt, MemoryRow.key.in_(chunk))
                ).all()
                now = utcnow()
                for row in rows:
                    row.hits += 1
                    row.last_used_at = now
                    found[row.key] = memory_entry(row)
        return found

    def memory_put(self, engine: str, src: str, tgt: str, items: Iterable[tuple[str, str, str]]) -> int:
        """An engine's output; items: (key, source, target). Existing keys are left as they are."""
        items = list(items)
        if not items:
            return 0
        with self.session() as session:
            existing = set(session.scalars(
                select(MemoryRow.key).where(MemoryRow.engine == engine, MemoryRow.src == src,
                                            MemoryRow.tgt == tgt, MemoryRow.key.in_([k for k, _, _ in items]))
            ))
            added = 0
            for key, source, target in items:
                if key in existing:
                    continue
                existing.add(key)
                session.add(MemoryRow(engine=engine, src=src, tgt=tgt, key=key, source=source, target=target,
                                      hits=0, created_at=utcnow(), last_used_at=utcnow()))
                added += 1
            return added

    def memory_put_human(self, src: str, tgt: str, items: Iterable[tuple[str, str, str]], by: str,
                         created_at: dt.datetime | None = None, changed_at: dt.datetime | None = None,
                         replace: bool = True) -> tuple[int, int]:
        """Human renderings; items: (key, source, target). A later edit of the same source segment
        replaces the earlier one (``replace``) and keeps when it was first made. Returns (added, changed)."""
        items = list(items)
        if not items:
            return 0, 0
        now = utcnow()
        added = changed = 0
        with self.session() as session:
            rows = {r.key: r for r in session.scalars(
                select(MemoryRow).where(MemoryRow.engine == HUMAN, MemoryRow.src == src, MemoryRow.tgt == tgt,
                                        MemoryRow.key.in_([k for k, _, _ in items]))
            )}
            for key, source, target in items:
                row = rows.get(key)
                if row is None:
                    row = MemoryRow(engine=HUMAN, src=src, tgt=tgt, key=key, source=source, target=target,
                                    hits=0, created_by=by, created_at=created_at or now,
                                    changed_at=changed_at, last_used_at=now)
                    session.add(row)
                    rows[key] = row
                    added += 1
                elif replace and row.target != target:
                    row.source, row.target, row.created_by = source, target, by
                    row.changed_at = changed_at or now
                    changed += 1
        return added, changed

    def memory_entries(self, engine: str | None = None, src: str | None = None,
                       tgt: str | None = None) -> Iterator[dict[str, Any]]:
        """Every entry (for export), oldest first, streamed in pages."""
        query = select(MemoryRow).order_by(MemoryRow.id)
        if engine is not None:
            query = query.where(MemoryRow.engine == engine)
        if src is not None:
            query = query.where(MemoryRow.src == src)
        if tgt is not None:
            query = query.where(MemoryRow.tgt == tgt)
        last = 0
        while True:
            with self.session() as session:
                rows = session.scalars(query.where(MemoryRow.id > last).limit(500)).all()
                page = [memory_entry(r) for r in rows]
            if not page:
                return
            last = rows[-1].id
            yield from page

    def memory_stats(self) -> list[dict[str, Any]]:
        query = select(MemoryRow.engine, MemoryRow.src, MemoryRow.tgt, func.count(), func.sum(MemoryRow.hits)).group_by(
            MemoryRow.engine, MemoryRow.src, MemoryRow.tgt
        )
        with self.session() as session:
            return [
                {"engine": e, "pair": f"{s}-{t}", "segments": n, "hits": int(h or 0)}
                for e, s, t, n, h in session.execute(query)
            ]

    def memory_import(self, entries: Iterable[dict[str, Any]], keep_existing: bool = False,
                      dry_run: bool = False) -> dict[str, int]:
        """Entries from an exchange file (TMX), in one transaction: every one is stored or none.

        Each entry: engine (``HUMAN`` or an engine's name), src, tgt, key, source, target,
        created_by, created_at, changed_at (None: the import time). Per (engine, pair, key): not
        stored yet → ``added``; the same target → ``unchanged``; another target → ``changed`` when
        the entry is newer (its changed_at, else created_at) than the stored one and not
        ``keep_existing``, else ``kept``. A changed entry keeps when it was first made. Within the
        entries, a later one for the same key wins over an older one (``duplicates``).
        ``dry_run``: the counts only, nothing written."""
        now = utcnow()

        def when(item: dict[str, Any]) -> dt.datetime:
            return item.get("changed_at") or item.get("created_at") or now

        wanted: dict[tuple[str, str, str, str], dict[str, Any]] = {}
        counts = {"added": 0, "changed": 0, "unchanged": 0, "kept": 0, "duplicates": 0}
        for item in entries:
            ident = (item["engine"], item["src"], item["tgt"], item["key"])
            earlier = wanted.get(ident)
            if earlier is not None:
                counts["duplicates"] += 1
                if when(item) < when(earlier):
                    continue
            wanted[ident] = item
        groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for (engine, src, tgt, _key), item in wanted.items():
            groups.setdefault((engine, src, tgt), []).append(item)
        with self.session() as session:
            for (engine, src, tgt), items in groups.items():
                for start in range(0, len(items), 500):
                    chunk = items[start : start + 500]
                    rows = {r.key: r for r in session.scalars(
                        select(MemoryRow).where(MemoryRow.engine == engine, MemoryRow.src == src,
                                                MemoryRow.tgt == tgt, MemoryRow.key.in_([i["key"] for i in chunk]))
                    )}
                    for item in chunk:
                        row = rows.get(item["key"])
                        human = engine == HUMAN
                        if row is None:
                            counts["added"] += 1
                            if not dry_run:
                                session.add(MemoryRow(
                                    engine=engine, src=src, tgt=tgt, key=item["key"], source=item["source"],
                                    target=item["target"], hits=0,
                                    created_by=(item.get("created_by") or None) if human else None,
                                    created_at=item.get("created_at") or now, changed_at=item.get("changed_at"),
                                    last_used_at=now,
                                ))
                        elif row.target == item["target"]:
                            counts["unchanged"] += 1
                        elif keep_existing or when(item) <= (row.changed_at or row.created_at):
                            counts["kept"] += 1
                        else:
                            counts["changed"] += 1
                            if not dry_run:
                                row.source, row.target = item["source"], item["target"]
                                row.created_by = (item.get("created_by") or None) if human else None
                                row.changed_at = when(item)
        return counts
