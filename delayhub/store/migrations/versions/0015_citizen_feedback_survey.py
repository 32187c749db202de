"""citizen feedback survey

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-25

The survey after each service: the question sets (the OPDC's standard one and each agency's own
questions, versioned: an answer pins the versions it answered), invitations (one per event, a
single-use token kept only as a keyed hash, the visit's facts copied so the answer needs nothing
else), answers (anonymous: no invitation, person, booking or request is referenced), and a daily
roll-up per agency, service, channel and counter that the reports read instead of millions of
answers. Queue bookings gain the booker's consent to be asked.
"""

from alembic import op
import sqlalchemy as sa
import delayhub.store.models


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

UTC = delayhub.store.models.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table('survey_question_sets',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('owner', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('questions', sa.JSON(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('created_at', UTC, nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('owner', 'version', name='uq_survey_question_sets_version')
    )
    op.create_table('survey_invitations',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('event', sa.String(length=20), nullable=False),
    sa.Column('event_ref', sa.String(length=80), nullable=False),
    sa.Column('agency', sa.String(length=40), nullable=False),
    sa.Column('service', sa.String(length=80), nullable=False),
    sa.Column('channel', sa.String(length=12), nullable=False),
    sa.Column('counter', sa.String(length=20), nullable=True),
    sa.Column('visit_on', sa.Date(), nullable=False),
    sa.Column('wait_seconds', sa.Integer(), nullable=True),
    sa.Column('days_late', sa.Integer(), nullable=True),
    sa.Column('language', sa.String(length=2), server_default='th', nullable=False),
    sa.Column('created_at', UTC, nullable=False),
    sa.Column('expires_at', UTC, nullable=False),
    sa.Column('answered_at', UTC, nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('token_hash', name='uq_survey_invitations_token'),
    sa.UniqueConstraint('event', 'event_ref', name='uq_survey_invitations_event')
    )
    op.create_index('ix_survey_invitations_agency_visit', 'survey_invitations', ['agency', 'visit_on'])
    op.create_index('ix_survey_invitations_expires_at', 'survey_invitations', ['expires_at'])
    op.create_table('survey_answers',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('agency', sa.String(length=40), nullable=False),
    sa.Column('service', sa.String(length=80), nullable=False),
    sa.Column('channel', sa.String(length=12), nullable=False),
    sa.Column('counter', sa.String(length=20), nullable=True),
    sa.Column('visit_on', sa.Date(), nullable=False),
    sa.Column('standard_set_id', sa.Integer(), nullable=False),
    sa.Column('agency_set_id', sa.Integer(), nullable=True),
    sa.Column('overall', sa.SmallInteger(), nullable=False),
    sa.Column('speed', sa.SmallInteger(), nullable=True),
    sa.Column('courtesy', sa.SmallInteger(), nullable=True),
    sa.Column('clarity', sa.SmallInteger(), nullable=True),
    sa.Column('extra', sa.JSON(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('wait_seconds', sa.Integer(), nullable=True),
    sa.Column('days_late', sa.Integer(), nullable=True),
    sa.CheckConstraint('overall BETWEEN 1 AND 5', name='ck_survey_answers_overall'),
    sa.ForeignKeyConstraint(['standard_set_id'], ['survey_question_sets.id']),
    sa.ForeignKeyConstraint(['agency_set_id'], ['survey_question_sets.id']),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_survey_answers_agency_visit', 'survey_answers', ['agency', 'visit_on'])
    op.create_table('survey_daily',
    sa.Column('agency', sa.String(length=40), nullable=False),
    sa.Column('service', sa.String(length=80), nullable=False),
    sa.Column('channel', sa.String(length=12), nullable=False),
    sa.Column('counter', sa.String(length=20), server_default='', nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('invited', sa.Integer(), server_default='0', nullable=False),
    sa.Column('answers', sa.Integer(), server_default='0', nullable=False),
    sa.Column('overall_1', sa.Integer(), server_default='0', nullable=False),
    sa.Column('overall_2', sa.Integer(), server_default='0', nullable=False),
    sa.Column('overall_3', sa.Integer(), server_default='0', nullable=False),
    sa.Column('overall_4', sa.Integer(), server_default='0', nullable=False),
    sa.Column('overall_5', sa.Integer(), server_default='0', nullable=False),
    sa.Column('wait_seconds_sum', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('wait_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('days_late_sum', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('days_late_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('speed_sum', sa.Integer(), server_default='0', nullable=False),
    sa.Column('speed_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('courtesy_sum', sa.Integer(), server_default='0', nullable=False),
    sa.Column('courtesy_count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('clarity_sum', sa.Integer(), server_default='0', nullable=False),
    sa.Column('clarity_count', sa.Integer(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('agency', 'service', 'channel', 'counter', 'day')
    )
    op.create_index('ix_survey_daily_day', 'survey_daily', ['day'])
    with op.batch_alter_table('queue_bookings') as batch:
        batch.add_column(sa.Column('survey_consent', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('queue_bookings') as batch:
        batch.drop_column('survey_consent')
    op.drop_index('ix_survey_daily_day', table_name='survey_daily')
    op.drop_table('survey_daily')
    op.drop_index('ix_survey_answers_agency_visit', table_name='survey_answers')
    op.drop_table('survey_answers')
    op.drop_index('ix_survey_invitations_expires_at', table_name='survey_invitations')
    op.drop_index('ix_survey_invitations_agency_visit', table_name='survey_invitations')
    op.drop_table('survey_invitations')
    op.drop_table('survey_question_sets')
