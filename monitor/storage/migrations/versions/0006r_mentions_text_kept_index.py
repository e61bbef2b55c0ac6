"""the mentions whose text retention has still to look at, by ingest time

Revision ID: 0006r
Revises: 0005c

This index was first added to 0005c after 0005c had been committed, so a database that ran the
first 0005c never got it and one that ran the edited 0005c already has it: IF NOT EXISTS makes
both end up with it (SQLite and PostgreSQL both accept it for a partial index).
"""
from alembic import op
import sqlalchemy as sa


revision = '0006r'
down_revision = '0005c'
branch_labels = None
depends_on = None

KEPT = sa.text("text <> '[EXPIRED]' AND text <> '[ERASED]'")


def upgrade() -> None:
    op.create_index(
        'ix_mentions_text_kept', 'mentions', ['ingest_time', 'mention_id'], unique=False,
        sqlite_where=KEPT, postgresql_where=KEPT, if_not_exists=True,
    )


def downgrade() -> None:
    op.drop_index('ix_mentions_text_kept', table_name='mentions', if_exists=True)
