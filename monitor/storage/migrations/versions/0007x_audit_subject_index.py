"""the audit log by subject: what the incident page and the approvals queue read

Revision ID: 0007x
Revises: 0007f

The log gains a row for every message sent, so reading one incident's or one draft's entries
must not scan all of it (the approvals queue reads it once per draft awaiting a decision).
"""
from alembic import op

revision = '0007x'
down_revision = '0007f'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_audit_log_subject', 'audit_log', ['subject', 'id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_audit_log_subject', table_name='audit_log')
