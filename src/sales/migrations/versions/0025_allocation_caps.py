"""allocation step 2 (issue 17): daily and weekly caps per RM with the week's counter; decided_by on allocations

Revision ID: 0025
Revises: 0024
"""
from alembic import op
import sqlalchemy as sa

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rms") as batch:
        batch.add_column(sa.Column("max_leads_per_day", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("max_leads_per_week", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("week_start", sa.Date(), nullable=True))
        batch.add_column(sa.Column("week_received", sa.Integer(), server_default=sa.text("0"), nullable=False))
        batch.create_check_constraint(op.f("ck_rms_daily_cap_positive"),
                                      "max_leads_per_day IS NULL OR max_leads_per_day >= 1")
        batch.create_check_constraint(op.f("ck_rms_weekly_cap_positive"),
                                      "max_leads_per_week IS NULL OR max_leads_per_week >= 1")
    with op.batch_alter_table("rm_allocations") as batch:
        batch.add_column(sa.Column("decided_by", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("rm_allocations") as batch:
        batch.drop_column("decided_by")
    with op.batch_alter_table("rms") as batch:
        batch.drop_constraint(op.f("ck_rms_weekly_cap_positive"), type_="check")
        batch.drop_constraint(op.f("ck_rms_daily_cap_positive"), type_="check")
        batch.drop_column("week_received")
        batch.drop_column("week_start")
        batch.drop_column("max_leads_per_week")
        batch.drop_column("max_leads_per_day")
