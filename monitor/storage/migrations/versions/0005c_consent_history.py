"""consent history: every change of consent, who made it, how, and for which channel

Revision ID: 0005c
Revises: 0004d
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import monitor.storage.types


revision = '0005c'
down_revision = '0004d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('consent_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.Integer(), nullable=False),
    sa.Column('channel', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('change', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('how', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('who', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('effective_at', monitor.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('method', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('recorded_at', monitor.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('consent_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_consent_changes_customer_id'), ['customer_id'], unique=False)
    # Consents given before the history existed: their grant (and withdrawal) as the first
    # entries, so every consent in force has the change that allowed it.
    op.execute(
        "INSERT INTO consent_changes (customer_id, channel, change, how, who, effective_at,"
        " method, recorded_at) SELECT customer_id, channel, 'granted', 'import',"
        " 'before consent history', granted_at, method, granted_at FROM customer_consents"
    )
    op.execute(
        "INSERT INTO consent_changes (customer_id, channel, change, how, who, effective_at,"
        " method, recorded_at) SELECT customer_id, channel, 'withdrawn', 'import',"
        " 'before consent history', revoked_at, NULL, revoked_at FROM customer_consents"
        " WHERE revoked_at IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table('consent_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_consent_changes_customer_id'))
    op.drop_table('consent_changes')
