"""dashboard snapshots (issue 18): the console's team, city and forecast pages served from a snapshot refreshed by
the dashboards-refresh job

Revision ID: 0030
Revises: 0029
"""
from alembic import op
import sqlalchemy as sa
import sales.core.types

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("dashboard_snapshots",
                    sa.Column("kind", sa.String(length=16), nullable=False),
                    sa.Column("scope_key", sa.String(length=160), nullable=False),
                    sa.Column("period_type", sa.String(length=16), nullable=False),
                    sa.Column("period_start", sa.Date(), nullable=False),
                    sa.Column("payload", sales.core.types.JSONType, nullable=False),
                    sa.Column("computed_at", sales.core.types.UTCDateTime(timezone=True), nullable=False),
                    sa.Column("read_at", sales.core.types.UTCDateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint("kind", "scope_key", "period_type", "period_start",
                                            name=op.f("pk_dashboard_snapshots")))
    op.create_index("ix_dashboard_snapshots_read", "dashboard_snapshots", ["read_at"])


def downgrade() -> None:
    op.drop_index("ix_dashboard_snapshots_read", table_name="dashboard_snapshots")
    op.drop_table("dashboard_snapshots")
