"""draft manuals: a manual without its processing time yet

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-25

A manual registered before its processing time is settled (empty processing_days in
data/registry/manuals.csv) is kept with NULL: the desk shows "ไม่พบข้อมูล" and saves nothing on it,
a record naming it is quarantined, and the sweep computes no due date from it.
"""

from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('manuals') as batch:
        batch.alter_column('processing_days', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    # a draft has no processing time to go back to: it leaves the table (the registry brings it back)
    op.execute("DELETE FROM manuals WHERE processing_days IS NULL")
    with op.batch_alter_table('manuals') as batch:
        batch.alter_column('processing_days', existing_type=sa.Integer(), nullable=False)
