"""term bursts: baselines per series and top terms on anomalies

Revision ID: 0003t
Revises: 0002p
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import monitor.storage.types


revision = '0003t'
down_revision = '0002p'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('term_baselines',
    sa.Column('series', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('through_window', monitor.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('state', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('series')
    )
    with op.batch_alter_table('anomalies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('top_terms', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('anomalies', schema=None) as batch_op:
        batch_op.drop_column('top_terms')

    op.drop_table('term_baselines')
