"""rate limits unlogged on PostgreSQL

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-25

The tracking page's attempt counters are written on every look-up. They need no durability: after a
crash PostgreSQL empties an UNLOGGED table and the limits start afresh, which is safe. In exchange a
look-up commits without waiting for the WAL to reach the disk. SQLite has no such table kind.
"""

from alembic import op


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE rate_limits SET UNLOGGED")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE rate_limits SET LOGGED")
