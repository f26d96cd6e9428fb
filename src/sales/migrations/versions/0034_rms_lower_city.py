"""a city's RMs by lower(city) (issue 19): the allocation engine's city stage judges every RM of the lead's city in
one statement; at x10 (10,000 RMs) a sequential scan of `rms` was half of PostgreSQL's time for it

Revision ID: 0034
Revises: 0033
"""
from alembic import op
import sqlalchemy as sa

revision = "0034"
down_revision = "0033"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_rms_lower_city", "rms", [sa.text("lower(city)")])


def downgrade() -> None:
    op.drop_index("ix_rms_lower_city", table_name="rms")
