"""event backbone: commit-ordered outbox position, inbox retry schedule, worker job schedule

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import sales.core.types

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pos", sa.BigInteger(), nullable=True))
        batch_op.create_index("uq_outbox_events_pos", ["pos"], unique=True)
        batch_op.create_index("ix_outbox_events_unsequenced", ["seq"], unique=False,
                              postgresql_where=sa.text("pos IS NULL"), sqlite_where=sa.text("pos IS NULL"))
    with op.batch_alter_table("inbox_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("next_attempt_at", sales.core.types.UTCDateTime(timezone=True),
                                      nullable=True))
    op.create_table(
        "worker_jobs",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("next_run_at", sales.core.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_started_at", sales.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_finished_at", sales.core.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.String(length=16), nullable=True),
        sa.Column("last_result", JSON, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_worker", sa.String(length=128), nullable=True),
        sa.Column("runs", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("failures", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_worker_jobs")),
    )


def downgrade() -> None:
    op.drop_table("worker_jobs")
    with op.batch_alter_table("inbox_events", schema=None) as batch_op:
        batch_op.drop_column("next_attempt_at")
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_events_unsequenced", postgresql_where=sa.text("pos IS NULL"),
                            sqlite_where=sa.text("pos IS NULL"))
        batch_op.drop_index("uq_outbox_events_pos")
        batch_op.drop_column("pos")
