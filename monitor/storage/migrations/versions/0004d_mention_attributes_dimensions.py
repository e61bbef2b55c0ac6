"""dimensions: mentions keep their attributes; values admitted to dimension series

Revision ID: 0004d
Revises: 0003r
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import monitor.storage.types


revision = '0004d'
down_revision = '0003r'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('attributes', sa.Text(), nullable=True))
    op.create_table('dimension_values',
    sa.Column('dimension', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
    sa.Column('slot', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('value', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('admitted_at', monitor.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('dimension', 'slot'),
    sa.UniqueConstraint('dimension', 'value')
    )


def downgrade() -> None:
    op.drop_table('dimension_values')
    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.drop_column('attributes')
