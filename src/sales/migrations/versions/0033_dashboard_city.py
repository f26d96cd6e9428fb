"""dashboard city page (issue 18): the open pipelines of a team's or a city's RMs counted per stage from an index
alone (`ix_sales_pipelines_rm_open`, partial: open pipelines; the pipeline-health table and the workload), and
their pipelines moved since a period started (`ix_sales_pipelines_rm_changed`: the funnel and the wins)

Revision ID: 0033
Revises: 0032
"""
from alembic import op
import sqlalchemy as sa

revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

OPEN = "outcome = 'PENDING'"


def upgrade() -> None:
    op.create_index("ix_sales_pipelines_rm_open", "sales_pipelines", ["rm_id", "stage", "stage_changed_at"],
                    postgresql_where=sa.text(OPEN), postgresql_include=["expected_close_date"],
                    sqlite_where=sa.text(OPEN))
    op.create_index("ix_sales_pipelines_rm_changed", "sales_pipelines", ["rm_id", "stage_changed_at"],
                    postgresql_include=["id", "stage", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_sales_pipelines_rm_changed", table_name="sales_pipelines")
    op.drop_index("ix_sales_pipelines_rm_open", table_name="sales_pipelines")
