"""web accounts: users, API tokens, sign-in sessions and failed sign-ins

Revision ID: 0007a
Revises: 0007q
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
import monitor.storage.types


revision = '0007a'
down_revision = '0007q'
branch_labels = None
depends_on = None

String = sqlmodel.sql.sqltypes.AutoString
When = monitor.storage.types.UTCDateTime


def upgrade() -> None:
    op.create_table('web_users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', String(length=64), nullable=False),
    sa.Column('role', String(length=16), nullable=False),
    sa.Column('password_hash', String(length=255), nullable=False),
    sa.Column('created_at', When(timezone=True), nullable=False),
    sa.Column('password_changed_at', When(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name'),
    )
    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', String(length=64), nullable=False),
    sa.Column('role', String(length=16), nullable=False),
    sa.Column('token_hash', String(length=64), nullable=False),
    sa.Column('created_at', When(timezone=True), nullable=False),
    sa.Column('created_by', String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('name'),
    sa.UniqueConstraint('token_hash'),
    )
    op.create_table('web_sessions',
    sa.Column('id_hash', String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('csrf_token', String(length=64), nullable=False),
    sa.Column('created_at', When(timezone=True), nullable=False),
    sa.Column('expires_at', When(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['web_users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id_hash'),
    )
    op.create_index('ix_web_sessions_user_id', 'web_sessions', ['user_id'], unique=False)
    op.create_index('ix_web_sessions_expires_at', 'web_sessions', ['expires_at'], unique=False)
    op.create_table('login_failures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account', String(length=64), nullable=False),
    sa.Column('client', String(length=64), nullable=False),
    sa.Column('at', When(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_login_failures_account', 'login_failures', ['account'], unique=False)
    op.create_index('ix_login_failures_client', 'login_failures', ['client'], unique=False)
    op.create_index('ix_login_failures_at', 'login_failures', ['at'], unique=False)


def downgrade() -> None:
    op.drop_table('login_failures')
    op.drop_table('web_sessions')
    op.drop_table('api_tokens')
    op.drop_table('web_users')
