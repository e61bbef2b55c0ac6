"""full-text search over mentions: SQLite FTS5 (external content, triggers), PostgreSQL GIN

Revision ID: 0007f
Revises: 0007d

SQLite: ``mentions_fts`` is an FTS5 table over ``mentions.text`` that stores no text of its
own (content='mentions', by rowid); triggers keep it in step on insert, delete and an update
of the text. Texts replaced by retention or erasure ([EXPIRED], [ERASED]) are never indexed,
so they never match. PostgreSQL: a GIN index on to_tsvector('simple', text), which
``streams.search`` queries with the same expression.
"""
from alembic import op


revision = '0007f'
down_revision = '0007d'
branch_labels = None
depends_on = None

KEPT_NEW = "new.text NOT IN ('[EXPIRED]', '[ERASED]')"
KEPT_OLD = "old.text NOT IN ('[EXPIRED]', '[ERASED]')"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX IF NOT EXISTS ix_mentions_text_search ON mentions "
            "USING gin (to_tsvector('simple', text))"
        )
        return
    op.execute(
        "CREATE VIRTUAL TABLE mentions_fts USING fts5("
        "text, content='mentions', content_rowid='rowid', tokenize='unicode61')"
    )
    op.execute(
        f"CREATE TRIGGER mentions_fts_insert AFTER INSERT ON mentions WHEN {KEPT_NEW} BEGIN "
        "INSERT INTO mentions_fts(rowid, text) VALUES (new.rowid, new.text); END"
    )
    op.execute(
        f"CREATE TRIGGER mentions_fts_delete AFTER DELETE ON mentions WHEN {KEPT_OLD} BEGIN "
        "INSERT INTO mentions_fts(mentions_fts, rowid, text) "
        "VALUES ('delete', old.rowid, old.text); END"
    )
    # One trigger, so the old text leaves the index before the new one enters.
    op.execute(
        "CREATE TRIGGER mentions_fts_update AFTER UPDATE OF text ON mentions BEGIN "
        "INSERT INTO mentions_fts(mentions_fts, rowid, text) "
        f"SELECT 'delete', old.rowid, old.text WHERE {KEPT_OLD}; "
        "INSERT INTO mentions_fts(rowid, text) "
        f"SELECT new.rowid, new.text WHERE {KEPT_NEW}; END"
    )
    # The mentions stored before this migration, but not the replaced texts ('rebuild'
    # would index every row of the content table).
    op.execute(
        "INSERT INTO mentions_fts(rowid, text) SELECT rowid, text FROM mentions "
        "WHERE text NOT IN ('[EXPIRED]', '[ERASED]')"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_mentions_text_search")
        return
    for trigger in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER IF EXISTS mentions_fts_{trigger}")
    op.execute("DROP TABLE IF EXISTS mentions_fts")
