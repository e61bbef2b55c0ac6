"""dead letters replayed by an admin, with who and when

Revision ID: 0007d
Revises: 0007s
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import monitor.storage.types


revision = '0007d'
down_revision = '0007s'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('dead_letter_replays',
    sa.Column('dead_letter_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('replayed_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('replayed_at', monitor.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('mention_ids', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('dead_letter_id'),
    )


def downgrade() -> None:
    op.drop_table('dead_letter_replays')
