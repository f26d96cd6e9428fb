"""retention (issue 20): the archive's manifests; each audit chain's archived anchor

Revision ID: 0026
Revises: 0025
"""
from alembic import op
import sqlalchemy as sa
import sales.core.types

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table("archive_manifests",
                    sa.Column("id", sa.Uuid(), nullable=False),
                    sa.Column("run_id", sa.Uuid(), nullable=False),
                    sa.Column("table_name", sa.String(length=64), nullable=False),
                    sa.Column("path", sa.String(length=512), nullable=False),
                    sa.Column("rows_selected", sa.Integer(), nullable=False),
                    sa.Column("rows_written", sa.Integer(), nullable=False),
                    sa.Column("rows_deleted", sa.Integer(), nullable=False),
                    sa.Column("bytes", sa.BigInteger(), nullable=False),
                    sa.Column("sha256", sa.String(length=64), nullable=False),
                    sa.Column("cutoff", sales.core.types.UTCDateTime(timezone=True), nullable=False),
                    sa.Column("created_at", sales.core.types.UTCDateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_manifests")))
    op.create_index("uq_archive_manifests_run_table", "archive_manifests", ["run_id", "table_name"], unique=True)
    op.create_index("ix_archive_manifests_table", "archive_manifests", ["table_name", "created_at"])
    with op.batch_alter_table("audit_chain") as batch:
        batch.add_column(sa.Column("archived_length", sa.BigInteger(), server_default=sa.text("0"), nullable=False))
        batch.add_column(sa.Column("archived_hash", sa.String(length=64), server_default=sa.text(f"'{GENESIS}'"),
                                   nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("audit_chain") as batch:
        batch.drop_column("archived_hash")
        batch.drop_column("archived_length")
    op.drop_index("ix_archive_manifests_table", table_name="archive_manifests")
    op.drop_index("uq_archive_manifests_run_table", table_name="archive_manifests")
    op.drop_table("archive_manifests")
