"""release search (issue 13, public archive): an FTS5 index on SQLite, GIN expression indexes on PostgreSQL

SQLite: ``release_search`` is an FTS5 table of (kind, release_id, lang, title, body): kind ``r`` is a
release's own text in its own language (rowid = 2 × release id), kind ``t`` a translation's text
(rowid = 2 × translation id + 1). Triggers keep it in step with every insert, update and delete of
``releases`` and ``translations``; which of these texts a reader may see is decided at query time by
the store's "publishable" selection (publisher/store/search.py).

PostgreSQL: stored generated columns ``search_simple`` and ``search_english`` =
``to_tsvector(config, title || ' ' || body)`` on both tables, with GIN indexes: ``english`` for
English, ``simple`` for the languages PostgreSQL has no configuration for (Macedonian,
Albanian). Stored, because the planner underrates to_tsvector and would otherwise recompute
every document on a sequential scan.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 13:30:00
"""
from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

CONFIGS = ("simple", "english")  # publisher/store/search.py: PG_CONFIGS and the fallback

SQLITE_UP = [
    "CREATE VIRTUAL TABLE release_search USING fts5("
    "kind UNINDEXED, release_id UNINDEXED, lang UNINDEXED, title, body, "
    "tokenize = 'porter unicode61 remove_diacritics 2')",
    # releases: own text, under its own language
    "CREATE TRIGGER release_search_ri AFTER INSERT ON releases BEGIN "
    "INSERT INTO release_search(rowid, kind, release_id, lang, title, body) "
    "VALUES (new.id * 2, 'r', new.id, new.language, new.title, new.body); END",
    "CREATE TRIGGER release_search_ru AFTER UPDATE OF title, body, language ON releases BEGIN "
    "DELETE FROM release_search WHERE rowid = old.id * 2; "
    "INSERT INTO release_search(rowid, kind, release_id, lang, title, body) "
    "VALUES (new.id * 2, 'r', new.id, new.language, new.title, new.body); END",
    "CREATE TRIGGER release_search_rd AFTER DELETE ON releases BEGIN "
    "DELETE FROM release_search WHERE rowid = old.id * 2; END",
    # translations: their text, under their language
    "CREATE TRIGGER release_search_ti AFTER INSERT ON translations BEGIN "
    "INSERT INTO release_search(rowid, kind, release_id, lang, title, body) "
    "VALUES (new.id * 2 + 1, 't', new.release_id, new.lang, new.title, new.body); END",
    "CREATE TRIGGER release_search_tu AFTER UPDATE OF title, body, lang, release_id ON translations BEGIN "
    "DELETE FROM release_search WHERE rowid = old.id * 2 + 1; "
    "INSERT INTO release_search(rowid, kind, release_id, lang, title, body) "
    "VALUES (new.id * 2 + 1, 't', new.release_id, new.lang, new.title, new.body); END",
    "CREATE TRIGGER release_search_td AFTER DELETE ON translations BEGIN "
    "DELETE FROM release_search WHERE rowid = old.id * 2 + 1; END",
    # what is there already
    "INSERT INTO release_search(rowid, kind, release_id, lang, title, body) "
    "SELECT id * 2, 'r', id, language, title, body FROM releases",
    "INSERT INTO release_search(rowid, kind, release_id, lang, title, body) "
    "SELECT id * 2 + 1, 't', release_id, lang, title, body FROM translations",
]
SQLITE_DOWN = [*(f"DROP TRIGGER IF EXISTS release_search_{name}" for name in ("ri", "ru", "rd", "ti", "tu", "td")),
               "DROP TABLE IF EXISTS release_search"]


def _pg_up(table: str, config: str) -> list[str]:
    document = "coalesce(title, '') || ' ' || coalesce(body, '')"
    return [f"ALTER TABLE {table} ADD COLUMN search_{config} tsvector GENERATED ALWAYS AS "
            f"(to_tsvector('{config}'::regconfig, {document})) STORED",
            f"CREATE INDEX ix_{table}_fts_{config} ON {table} USING gin (search_{config})"]


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_UP:
            op.execute(statement)
    elif dialect == "postgresql":
        for table in ("releases", "translations"):
            for config in CONFIGS:
                for statement in _pg_up(table, config):
                    op.execute(statement)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for statement in SQLITE_DOWN:
            op.execute(statement)
    elif dialect == "postgresql":
        for table in ("releases", "translations"):
            for config in CONFIGS:
                op.execute(f"DROP INDEX IF EXISTS ix_{table}_fts_{config}")
                op.execute(f"ALTER TABLE {table} DROP COLUMN IF EXISTS search_{config}")
