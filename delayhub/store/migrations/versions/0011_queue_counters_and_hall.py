"""queue counters and hall

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25

The counter side of the central queue: who was called to which counter and when, how many calls,
the measured waiting and service times, the messages already sent for a booking (reminder the day
before, "your turn is near"), and the hall's call log that every web process reads to show calls
live (queue number → counter).
"""

from alembic import op
import sqlalchemy as sa
import delayhub.store.models


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

UTC = delayhub.store.models.UtcDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('queue_bookings') as batch:
        batch.add_column(sa.Column('counter', sa.String(length=20), nullable=True))
        batch.add_column(sa.Column('calls', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('first_called_at', UTC, nullable=True))
        batch.add_column(sa.Column('called_at', UTC, nullable=True))
        batch.add_column(sa.Column('wait_seconds', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('service_seconds', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('reminded_at', UTC, nullable=True))
        batch.add_column(sa.Column('near_alerted_at', UTC, nullable=True))
    op.create_index('ix_queue_bookings_agency_day_status', 'queue_bookings', ['agency', 'day', 'status'])
    op.create_table('queue_hall_calls',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('agency', sa.String(length=40), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('booking_id', sa.Integer(), nullable=False),
    sa.Column('queue_no', sa.String(length=10), nullable=False),
    sa.Column('counter', sa.String(length=20), nullable=False),
    sa.Column('service', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=8), nullable=False),
    sa.Column('at', UTC, nullable=False),
    sa.ForeignKeyConstraint(['booking_id'], ['queue_bookings.id']),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_queue_hall_calls_agency_id', 'queue_hall_calls', ['agency', 'id'])


def downgrade() -> None:
    op.drop_index('ix_queue_hall_calls_agency_id', table_name='queue_hall_calls')
    op.drop_table('queue_hall_calls')
    op.drop_index('ix_queue_bookings_agency_day_status', table_name='queue_bookings')
    with op.batch_alter_table('queue_bookings') as batch:
        for column in ('near_alerted_at', 'reminded_at', 'service_seconds', 'wait_seconds', 'called_at',
                       'first_called_at', 'calls', 'counter'):
            batch.drop_column(column)
