"""The public archive (issue 13): the releases published in one language, newest first, a page
at a time, optionally filtered by a full-text search (mixed into Store).

What may be shown is the store's one "publishable" selection (``_publishable_query`` in
translations.py): the same releases the feeds and the ``/{lang}/`` list show. The text searched
is what a reader sees in that language: a release's own title and body in its own language, its
publishable translation's in the others.

- SQLite: the FTS5 table ``release_search`` (migration 0013), kept in step by triggers on
  ``releases`` and ``translations``; unicode61 tokens, case and diacritics folded.
- PostgreSQL: ``to_tsvector(config, title || ' ' || body)`` with the language's own text search
  configuration (``english``); ``simple`` (no stemming, no stop words) for the languages
  PostgreSQL has none for (Macedonian, Albanian): stored generated columns ``search_{config}``
  on both tables, with GIN indexes (0013).

A visitor's query is never handed to the search syntax: it is cut into words (letters and
digits), each quoted as a literal term; all must match, the last one as a prefix. A query with
no word in it (only punctuation) finds nothing."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import and_, column, func, literal, literal_column, or_, select, table

from ..models import StoredRelease, StoredTranslation
from .rows import _release
from .schema import ReleaseRow, TranslationRow, utcnow
from .translations import _translation

MAX_TERMS = 12  # a longer query is cut: every word is one more condition
MAX_TERM_CHARS = 64
PG_CONFIGS = {"en": "english"}  # others: "simple" (migration 0013 indexes both)
FALLBACK_CONFIG = "simple"
_WORD = re.compile(r"[^\W_]+")
_FTS = table("release_search", column("release_id"), column("lang"), column("kind"))


def search_terms(query: str | None) -> list[str]:
    """The words of a visitor's query (letters and digits only, lower-cased), at most MAX_TERMS."""
    if not query:
        return []
    return [word[:MAX_TERM_CHARS].lower() for word in _WORD.findall(query)][:MAX_TERMS]


def fts5_match(terms: list[str]) -> str:
    """An FTS5 query of literal terms: ``"a" "b" "c"*`` (every term, the last as a prefix)."""
    quoted = ['"' + term.replace('"', '""') + '"' for term in terms]
    quoted[-1] += "*"
    return " ".join(quoted)


def pg_tsquery(terms: list[str]) -> str:
    """A to_tsquery text of literal terms: ``'a' & 'b' & 'c':*``."""
    quoted = ["'" + term.replace("'", "''").replace("\\", "\\\\") + "'" for term in terms]
    quoted[-1] += ":*"
    return " & ".join(quoted)


def pg_config(lang: str) -> str:
    return PG_CONFIGS.get(lang, FALLBACK_CONFIG)


def is_search_object(name: str | None, type_: str, parent_names: Any = None) -> bool:
    """Whether a database object is the search index of 0013 (the FTS5 table and its shadow
    tables; the tsvector columns and their GIN indexes), which the SQLAlchemy models do not
    describe. Alembic's ``include_name`` hook takes the negation."""
    if not name:
        return False
    return (type_ == "table" and name.startswith("release_search")) or (
        type_ == "index" and name.startswith(("ix_releases_fts_", "ix_translations_fts_"))) or (
        type_ == "column" and name.startswith("search_"))


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    return not is_search_object(name, type_, parent_names)


class SearchStoreMixin:
    """Needs ``self.session()`` from Store and ``_publishable_query`` from TranslationStoreMixin."""

    def session(self) -> Any: ...  # provided by Store

    def _publishable_query(self, columns: tuple[Any, ...], lang: str, policy: str, limit: int | None,
                           now: dt.datetime | None) -> Any: ...  # provided by TranslationStoreMixin

    def archive(
        self, lang: str, policy: str = "machine", query: str | None = None, offset: int = 0, limit: int = 20,
        now: dt.datetime | None = None,
    ) -> tuple[int, list[tuple[StoredRelease, StoredTranslation | None]]]:
        """(how many match in all, one page of them newest first) of the releases published in
        ``lang``, each with its ``lang`` variant (None for an original), as ``publishable``.
        ``query``: a visitor's search words (see the module text); None or blank: every release;
        words in it but no letter or digit: nothing."""
        searching = query is not None and query.strip() != ""
        terms = search_terms(query) if searching else []
        if searching and not terms:
            return 0, []
        now = now or utcnow()  # one moment for the count and the page
        with self.session() as session:
            condition = self._match_condition(session, lang, terms) if terms else None
            ids = self._publishable_query((ReleaseRow.id,), lang, policy, None, now).order_by(None)
            if condition is not None:
                ids = ids.where(condition)
            total = session.scalar(select(func.count()).select_from(ids.subquery())) or 0
            rows = self._publishable_query((ReleaseRow, TranslationRow), lang, policy, limit, now).offset(offset)
            if condition is not None:
                rows = rows.where(condition)
            page = [(_release(r), _translation(t) if t is not None and r.language != lang else None)
                    for r, t in session.execute(rows)]
        return total, page

    def _match_condition(self, session: Any, lang: str, terms: list[str]) -> Any:
        """The SQL condition "the text shown in ``lang`` matches every term" on the publishable query
        (ReleaseRow outer-joined with its publishable ``lang`` TranslationRow)."""
        own, translated = ReleaseRow.language == lang, ReleaseRow.language != lang
        if session.get_bind().dialect.name == "postgresql":
            config = pg_config(lang)
            tsquery = func.to_tsquery(literal_column(f"'{config}'::regconfig"), literal(pg_tsquery(terms)))
            # the stored tsvector columns of 0013, each table on its own (an OR across the join
            # would keep the planner from the GIN indexes)
            originals = table("releases", column("id"), column("language"), column(f"search_{config}")).alias()
            variants = table("translations", column("release_id"), column("lang"),
                             column(f"search_{config}")).alias()
            own_hits = select(originals.c.id).where(originals.c.language == lang,
                                                    originals.c[f"search_{config}"].op("@@")(tsquery))
            variant_hits = select(variants.c.release_id).where(variants.c.lang == lang,
                                                               variants.c[f"search_{config}"].op("@@")(tsquery))
            return or_(and_(own, ReleaseRow.id.in_(own_hits)), and_(translated, ReleaseRow.id.in_(variant_hits)))
        match = literal_column("release_search").op("MATCH")(literal(fts5_match(terms)))

        def hits(kind: str) -> Any:
            return select(_FTS.c.release_id).where(match, _FTS.c.lang == lang, _FTS.c.kind == kind)

        return or_(and_(own, ReleaseRow.id.in_(hits("r"))), and_(translated, ReleaseRow.id.in_(hits("t"))))
