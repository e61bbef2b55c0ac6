"""the sentiment labelling queue: each mention offered to staff for a label, and the answer

Revision ID: 0007q
Revises: 0006r
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import monitor.storage.types


revision = '0007q'
down_revision = '0006r'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sentiment_label_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mention_id', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('reason', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('surface', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('offered_at', monitor.storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('slack_ref', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('label', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
    sa.Column('answered_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
    sa.Column('answered_at', monitor.storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('correction_id', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('mention_id'),
    )
    with op.batch_alter_table('sentiment_label_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sentiment_label_requests_offered_at'), ['offered_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sentiment_label_requests', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sentiment_label_requests_offered_at'))
    op.drop_table('sentiment_label_requests')
