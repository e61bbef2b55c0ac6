"""record baselines: each series' busiest totals per span survive a restart

Revision ID: 0003r
Revises: 0003s
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import monitor.storage.types


revision = '0003r'
down_revision = '0003s'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('record_baselines',
    sa.Column('series', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('through_window', monitor.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('series')
    )


def downgrade() -> None:
    op.drop_table('record_baselines')
