"""forecast learning (issue 18): one row per closed pipeline and stage it entered, kept when a pipeline closes,
backfilled here from the stage history

Revision ID: 0031
Revises: 0030
"""
from alembic import op
import sqlalchemy as sa
import sales.core.types

revision = "0031"
down_revision = "0030"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("forecast_learning",
                    sa.Column("pipeline_id", sales.core.types.UUIDType, nullable=False),
                    sa.Column("stage", sa.String(length=32), nullable=False),
                    sa.Column("rm_id", sales.core.types.UUIDType, nullable=False),
                    sa.Column("entered_at", sales.core.types.UTCDateTime(timezone=True), nullable=False),
                    sa.Column("closed_at", sales.core.types.UTCDateTime(timezone=True), nullable=False),
                    sa.Column("won", sa.Boolean(), nullable=False),
                    sa.PrimaryKeyConstraint("pipeline_id", "stage", name=op.f("pk_forecast_learning")))
    op.create_index("ix_forecast_learning_closed", "forecast_learning", ["closed_at"])
    from sales.dashboards.models import forecast_learning  # the backfill: every pipeline closed so far
    from sales.dashboards.repository import LEARNING_COLUMNS, learning_rows
    op.get_bind().execute(forecast_learning.insert().from_select(LEARNING_COLUMNS, learning_rows()))


def downgrade() -> None:
    op.drop_index("ix_forecast_learning_closed", table_name="forecast_learning")
    op.drop_table("forecast_learning")
