"""customer context: find a customer's leads by platform user id (issue 10 §3)

Revision ID: 0015
Revises: 0014
"""
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_leads_customer", "leads", ["customer_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_leads_customer", table_name="leads")
