"""applicant language and letter archive

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Requests stored before this revision get Thai, the language every notice had until now.
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('applicant_language', sa.String(length=2), server_default='th',
                                      nullable=False))
    # Letters numbered before this revision have no archived PDF: the first later render archives it.
    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sha256', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('template_digest', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('sha256_en', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('template_digest_en', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('letters', schema=None) as batch_op:
        batch_op.drop_column('template_digest_en')
        batch_op.drop_column('sha256_en')
        batch_op.drop_column('template_digest')
        batch_op.drop_column('sha256')
    with op.batch_alter_table('requests', schema=None) as batch_op:
        batch_op.drop_column('applicant_language')
