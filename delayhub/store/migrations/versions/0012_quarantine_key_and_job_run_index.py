"""quarantine unique per connector record field; job runs index

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25
"""

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # keep the first of any duplicates a race left behind, then let the key prevent more
    op.execute("DELETE FROM quarantine WHERE id NOT IN (SELECT min(id) FROM quarantine "
               "GROUP BY connector_id, checksum, field)")
    with op.batch_alter_table('quarantine') as batch:
        batch.create_unique_constraint('uq_quarantine_record_field', ['connector_id', 'checksum', 'field'])
    op.create_index('ix_job_runs_job_subject_started', 'job_runs', ['job', 'subject', 'started_at'])


def downgrade() -> None:
    op.drop_index('ix_job_runs_job_subject_started', table_name='job_runs')
    with op.batch_alter_table('quarantine') as batch:
        batch.drop_constraint('uq_quarantine_record_field', type_='unique')
