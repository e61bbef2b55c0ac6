"""customer pseudonyms: mentions carry psn:… customer ids, customers are found by them

Revision ID: 0003s
Revises: 0003v
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0003s'
down_revision = '0003v'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pseudonym', sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True))
        batch_op.create_index(batch_op.f('ix_customers_pseudonym'), ['pseudonym'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('customers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_customers_pseudonym'))
        batch_op.drop_column('pseudonym')
