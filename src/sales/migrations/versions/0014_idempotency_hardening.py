"""Idempotency records: claimed before the request runs, bound to the caller's roles, encrypted, expiring.

Existing records are deleted: they hold responses (customer PII among them) in plaintext, and they are
only retry caches.

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa
import sales.core.types

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_TS = sales.core.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.execute("DELETE FROM idempotency_keys")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("principal_hash", sa.String(length=64), nullable=False))
        batch_op.add_column(sa.Column("content_type", sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column("expires_at", _TS, nullable=False))
        batch_op.alter_column("status_code", existing_type=sa.SmallInteger(), nullable=True)
        batch_op.alter_column("response_body", existing_type=sa.Text(), nullable=True)
        batch_op.create_index("ix_idempotency_keys_expires_at", ["expires_at"], unique=False)


def downgrade() -> None:
    op.execute("DELETE FROM idempotency_keys")
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_idempotency_keys_expires_at")
        batch_op.alter_column("response_body", existing_type=sa.Text(), nullable=False)
        batch_op.alter_column("status_code", existing_type=sa.SmallInteger(), nullable=False)
        batch_op.drop_column("expires_at")
        batch_op.drop_column("content_type")
        batch_op.drop_column("principal_hash")
