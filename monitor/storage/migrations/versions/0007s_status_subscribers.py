"""status page email subscribers (double opt-in)

Revision ID: 0007s
Revises: 0007l
"""
from alembic import op
import sqlalchemy as sa
import monitor.storage.types


revision = '0007s'
down_revision = '0007l'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('status_subscribers',
    sa.Column('customer_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('requested_at', monitor.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', monitor.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('customer_id'),
    )


def downgrade() -> None:
    op.drop_table('status_subscribers')
