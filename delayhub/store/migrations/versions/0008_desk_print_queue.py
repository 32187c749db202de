"""desk print queue

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25

The officer's desk: reasons added at the desk to back-office requests, the print queue (each letter
to post, until it is recorded as signed and posted), one-time form tokens, and the indexes the
desk's request list and its search-as-you-type read.
"""

from alembic import op
import sqlalchemy as sa
import delayhub.store.models


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('desk_reasons',
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('updated_by', sa.String(length=80), nullable=False),
    sa.Column('updated_at', delayhub.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['request_id'], ['requests.id'], ),
    sa.PrimaryKeyConstraint('request_id')
    )
    op.create_table('print_letters',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('request_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('owed_on', sa.Date(), nullable=False),
    sa.Column('queued_at', delayhub.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.Column('posted_on', sa.Date(), nullable=True),
    sa.Column('registered_no', sa.String(length=13), nullable=True),
    sa.Column('recorded_by', sa.String(length=80), nullable=True),
    sa.Column('recorded_at', delayhub.store.models.UtcDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['request_id'], ['requests.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('request_id', 'kind', 'sequence', name='uq_print_letters_notice')
    )
    op.create_index('ix_print_letters_waiting', 'print_letters', ['owed_on', 'id'], unique=False,
                    postgresql_where=sa.text('posted_on IS NULL'), sqlite_where=sa.text('posted_on IS NULL'))
    # Letters queued before the desk existed wait in the print queue too, until recorded as posted.
    op.execute("INSERT INTO print_letters (request_id, kind, sequence, owed_on, queued_at)"
               " SELECT request_id, kind, sequence, owed_on, created_at FROM outbox"
               " WHERE channel = 'letter' AND kind IN ('delay', 'result')")
    op.create_table('form_submissions',
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=200), nullable=False),
    sa.Column('used_at', delayhub.store.models.UtcDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('token')
    )
    op.create_index('ix_form_submissions_used_at', 'form_submissions', ['used_at'], unique=False)
    op.create_index('ix_requests_division_status_id', 'requests', ['division', 'status', 'id'], unique=False)
    op.create_index('ix_requests_division_id', 'requests', ['division', 'id'], unique=False)
    op.create_index('ix_requests_department_id', 'requests', ['department', 'id'], unique=False)
    if op.get_bind().dialect.name == 'postgresql':  # prefix search and number order under the C collation
        op.create_index('ix_requests_agency_request_no_c', 'requests', ['agency', sa.text('request_no COLLATE "C"')],
                        unique=False)


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_index('ix_requests_agency_request_no_c', table_name='requests')
    op.drop_index('ix_requests_department_id', table_name='requests')
    op.drop_index('ix_requests_division_id', table_name='requests')
    op.drop_index('ix_requests_division_status_id', table_name='requests')
    op.drop_index('ix_form_submissions_used_at', table_name='form_submissions')
    op.drop_table('form_submissions')
    op.drop_index('ix_print_letters_waiting', table_name='print_letters')
    op.drop_table('print_letters')
    op.drop_table('desk_reasons')
