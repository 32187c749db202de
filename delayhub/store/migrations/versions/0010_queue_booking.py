"""queue booking

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-25

The central queue's booking part: slots with their places, queue-number counters, bookings (one
active booking per person, agency and day by a partial unique index) and one-time SMS codes. Queue
messages go through the one outbox, which so far held only Section 10 notices: its request is now
optional, and a booking's confirmation names its booking.
"""

from contextlib import contextmanager

from alembic import op
import sqlalchemy as sa
import delayhub.store.models


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('queue_slots',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('agency', sa.String(length=40), nullable=False),
    sa.Column('service', sa.String(length=40), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('starts_at', delayhub.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', delayhub.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('booked', sa.Integer(), server_default='0', nullable=False),
    sa.Column('handed_over', sa.Integer(), server_default='0', nullable=False),
    sa.CheckConstraint('booked >= 0 AND booked <= capacity', name='ck_queue_slots_capacity'),
    sa.CheckConstraint("channel IN ('walk_in', 'web', 'mobile')", name='ck_queue_slots_channel'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('agency', 'service', 'day', 'channel', 'starts_at', name='uq_queue_slots_key')
    )
    op.create_index('ix_queue_slots_agency_day', 'queue_slots', ['agency', 'day', 'channel'], unique=False)
    op.create_table('queue_counters',
    sa.Column('agency', sa.String(length=40), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('last_no', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('agency', 'day', 'channel')
    )
    op.create_table('queue_bookings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('ref', sa.String(length=24), nullable=False),
    sa.Column('slot_id', sa.Integer(), nullable=False),
    sa.Column('agency', sa.String(length=40), nullable=False),
    sa.Column('service', sa.String(length=40), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('channel', sa.String(length=8), nullable=False),
    sa.Column('starts_at', delayhub.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('queue_no', sa.String(length=10), nullable=False),
    sa.Column('person_key', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('nid_masked', sa.String(length=20), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('language', sa.String(length=2), server_default='th', nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', delayhub.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('checked_in_at', delayhub.store.models.UtcDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', delayhub.store.models.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['slot_id'], ['queue_slots.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('agency', 'day', 'channel', 'number', name='uq_queue_bookings_number'),
    sa.UniqueConstraint('ref', name='uq_queue_bookings_ref')
    )
    op.create_index('ix_queue_bookings_slot', 'queue_bookings', ['slot_id'], unique=False)
    op.create_index('ix_queue_bookings_status_starts', 'queue_bookings', ['status', 'starts_at'], unique=False)
    op.create_index('uq_queue_bookings_person_day', 'queue_bookings', ['agency', 'day', 'person_key'], unique=True,
                    postgresql_where=sa.text('active'), sqlite_where=sa.text('active'))
    op.create_table('queue_otps',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', delayhub.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', delayhub.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('verified_at', delayhub.store.models.UtcDateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_queue_otps_expires_at', 'queue_otps', ['expires_at'], unique=False)
    with _outbox_rebuild(), op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.alter_column('request_id', existing_type=sa.Integer(), nullable=True)
        batch_op.add_column(sa.Column('queue_booking_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key('fk_outbox_queue_booking_id', 'queue_bookings', ['queue_booking_id'], ['id'])
        batch_op.create_index('ix_outbox_queue_booking_id', ['queue_booking_id'], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM delivery_attempts WHERE outbox_id IN (SELECT id FROM outbox WHERE request_id IS NULL)")
    op.execute("DELETE FROM outbox WHERE request_id IS NULL")
    with _outbox_rebuild(), op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_queue_booking_id')
        batch_op.drop_constraint('fk_outbox_queue_booking_id', type_='foreignkey')
        batch_op.drop_column('queue_booking_id')
        batch_op.alter_column('request_id', existing_type=sa.Integer(), nullable=False)
    op.drop_index('ix_queue_otps_expires_at', table_name='queue_otps')
    op.drop_table('queue_otps')
    op.drop_index('uq_queue_bookings_person_day', table_name='queue_bookings')
    op.drop_index('ix_queue_bookings_status_starts', table_name='queue_bookings')
    op.drop_index('ix_queue_bookings_slot', table_name='queue_bookings')
    op.drop_table('queue_bookings')
    op.drop_table('queue_counters')
    op.drop_index('ix_queue_slots_agency_day', table_name='queue_slots')
    op.drop_table('queue_slots')


@contextmanager
def _outbox_rebuild():
    """SQLite changes a column's NOT NULL only by rebuilding the table (copy, drop, rename). Dropping
    the old outbox would orphan the delivery log and letter postings that point at it, and a deferred
    check does not see the rebuilt table give them their rows back; so, as SQLite's own procedure for
    schema changes says, foreign keys are off for the rebuild (only outside a transaction can that be
    set: the work so far is committed first), checked with foreign_key_check after, and on again."""
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        yield
        return
    raw = bind.connection.dbapi_connection
    if raw.in_transaction:
        raw.commit()
    raw.execute('PRAGMA foreign_keys = OFF')
    try:
        yield
        if raw.in_transaction:
            raw.commit()
        broken = raw.execute('PRAGMA foreign_key_check').fetchall()
        if broken:
            raise RuntimeError(f'rebuilding the outbox broke foreign keys: {broken[:5]}')
    finally:
        raw.execute('PRAGMA foreign_keys = ON')
