"""Merge the events (0002) and console (0004) branches: one head again; new migrations revise 0005.

Revision ID: 0005
Revises: 0002, 0004
Create Date: 2026-11-28 05:20:35.582439
"""

revision = '0005'
down_revision = ('0002', '0004')
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
