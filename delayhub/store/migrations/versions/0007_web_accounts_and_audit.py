"""web accounts and audit

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from alembic import op
import sqlalchemy as sa
import delayhub.store.models


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('users',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=20), nullable=False),
    sa.Column('agency', sa.String(length=40), nullable=True),
    sa.Column('password_hash', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', delayhub.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('password_changed_at', delayhub.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', delayhub.store.models.UtcDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("role IN ('officer', 'agency_admin', 'opdc')", name='ck_users_role'),
    sa.CheckConstraint("(role = 'opdc' AND agency IS NULL) OR (role <> 'opdc' AND agency IS NOT NULL)",
                       name='ck_users_agency_scope'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('username', name='uq_users_username')
    )
    op.create_table('web_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', delayhub.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', delayhub.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', delayhub.store.models.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_web_sessions_user_id', 'web_sessions', ['user_id'], unique=False)
    op.create_index('ix_web_sessions_expires_at', 'web_sessions', ['expires_at'], unique=False)
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('at', delayhub.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('username', sa.String(length=80), nullable=True),
    sa.Column('action', sa.String(length=60), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_audit_log_subject_at', 'audit_log', ['subject', 'at'], unique=False)
    op.create_index('ix_audit_log_user_id', 'audit_log', ['user_id'], unique=False)
    # The lateness report: requests finished after a day, notices owed in a period.
    op.create_index('ix_requests_completed_on', 'requests', ['completed_on'], unique=False)
    op.create_index('ix_outbox_owed_on', 'outbox', ['owed_on'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_outbox_owed_on', table_name='outbox')
    op.drop_index('ix_requests_completed_on', table_name='requests')
    op.drop_index('ix_audit_log_user_id', table_name='audit_log')
    op.drop_index('ix_audit_log_subject_at', table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_index('ix_web_sessions_expires_at', table_name='web_sessions')
    op.drop_index('ix_web_sessions_user_id', table_name='web_sessions')
    op.drop_table('web_sessions')
    op.drop_table('users')
