"""PII copies: consumed event envelopes are kept encrypted (issue 9 item 6)

`inbox_events.envelope` (plaintext JSON with customer phone numbers and emails) becomes
`sealed_envelope`: the same JSON text sealed with the PII cipher (AES-256-GCM, SALES_PII_KEY).
Existing rows are sealed in place, in batches.

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from sales.core.pii import cipher

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("inbox_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sealed_envelope", sa.Text(), nullable=True))
    bind, aead = op.get_bind(), cipher()
    while rows := bind.execute(sa.text(
            "SELECT id, CAST(envelope AS TEXT) FROM inbox_events WHERE sealed_envelope IS NULL LIMIT :n"),
            {"n": BATCH}).all():
        bind.execute(sa.text("UPDATE inbox_events SET sealed_envelope = :sealed WHERE id = :id"),
                     [{"id": event_id, "sealed": aead.encrypt(envelope)} for event_id, envelope in rows])
    with op.batch_alter_table("inbox_events", schema=None) as batch_op:
        batch_op.alter_column("sealed_envelope", existing_type=sa.Text(), nullable=False)
        batch_op.drop_column("envelope")


def downgrade() -> None:
    with op.batch_alter_table("inbox_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("envelope", JSON, nullable=True))
    bind, aead = op.get_bind(), cipher()
    plain = "CAST(:envelope AS JSONB)" if bind.dialect.name == "postgresql" else ":envelope"
    while rows := bind.execute(sa.text(
            "SELECT id, sealed_envelope FROM inbox_events WHERE envelope IS NULL LIMIT :n"), {"n": BATCH}).all():
        bind.execute(sa.text(f"UPDATE inbox_events SET envelope = {plain} WHERE id = :id"),  # noqa: S608
                     [{"id": event_id, "envelope": aead.decrypt(sealed)} for event_id, sealed in rows])
    with op.batch_alter_table("inbox_events", schema=None) as batch_op:
        batch_op.alter_column("envelope", existing_type=JSON, nullable=False)
        batch_op.drop_column("sealed_envelope")
