"""tracking and rate limits

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25

The citizen's tracking page: a store-backed attempt limiter (``rate_limits``) and an index to find a
request by its number alone. The tracking code itself is derived from the request, not stored.
"""

from alembic import op
import sqlalchemy as sa
import delayhub.store.models


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('rate_limits',
    sa.Column('bucket', sa.String(length=100), nullable=False),
    sa.Column('window_no', sa.Integer(), nullable=False),
    sa.Column('hits', sa.Integer(), nullable=False),
    sa.Column('prev_hits', sa.Integer(), nullable=False),
    sa.Column('expires_at', delayhub.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('bucket')
    )
    op.create_index('ix_rate_limits_expires_at', 'rate_limits', ['expires_at'], unique=False)
    op.create_index('ix_requests_request_no', 'requests', ['request_no'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_requests_request_no', table_name='requests')
    op.drop_index('ix_rate_limits_expires_at', table_name='rate_limits')
    op.drop_table('rate_limits')
