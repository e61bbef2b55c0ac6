"""seasonal baselines: each series' hour-of-week volume profile survives a restart

Revision ID: 0003v
Revises: 0003b
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import monitor.storage.types


revision = '0003v'
down_revision = '0003b'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('seasonal_baselines',
    sa.Column('series', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('through_window', monitor.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('series')
    )


def downgrade() -> None:
    op.drop_table('seasonal_baselines')
