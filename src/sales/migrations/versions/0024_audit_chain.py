"""tamper-evident audit (issue 20): each audit row in a per-partition hash chain, with the chains' heads

Rows written before this migration are chained here, in seq order, each into its entity's partition.

Revision ID: 0024
Revises: 0023
"""
from alembic import op
import sqlalchemy as sa
import sales.core.types

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

_BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("audit_log") as batch:
        batch.add_column(sa.Column("partition", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("chain_pos", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("prev_hash", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("hash", sa.String(length=64), nullable=True))
        batch.create_index("uq_audit_log_chain", ["partition", "chain_pos"], unique=True)
    op.create_table("audit_chain",
                    sa.Column("partition", sa.Integer(), autoincrement=False, nullable=False),
                    sa.Column("length", sa.BigInteger(), nullable=False),
                    sa.Column("head_hash", sa.String(length=64), nullable=False),
                    sa.PrimaryKeyConstraint("partition"))
    _chain_existing_rows()


def _chain_existing_rows() -> None:
    from sales.core.audit_chain import GENESIS, partition_of, row_hash
    from sales.core.db import JSON_CODEC

    bind = op.get_bind()
    log = sa.table("audit_log", sa.column("seq", sa.BigInteger()), sa.column("id", sa.Uuid()),
                   sa.column("at", sales.core.types.UTCDateTime(timezone=True)), sa.column("actor_id", sa.Uuid()),
                   sa.column("actor_roles", sa.Text()), sa.column("action", sa.String()),
                   sa.column("entity_type", sa.String()), sa.column("entity_id", sa.String()),
                   sa.column("before", sa.Text()), sa.column("after", sa.Text()), sa.column("request_id", sa.String()),
                   sa.column("partition", sa.Integer()), sa.column("chain_pos", sa.BigInteger()),
                   sa.column("prev_hash", sa.String()), sa.column("hash", sa.String()))
    decode = JSON_CODEC["json_deserializer"]
    json_text = (sa.cast(log.c.actor_roles, sa.Text), sa.cast(log.c.before, sa.Text), sa.cast(log.c.after, sa.Text))
    heads: dict[int, tuple[int, str]] = {}
    last = 0
    while True:
        rows = bind.execute(sa.select(log.c.seq, log.c.id, log.c.at, log.c.actor_id, log.c.action, log.c.entity_type,
                                      log.c.entity_id, log.c.request_id, *json_text)
                            .where(log.c.seq > last).order_by(log.c.seq).limit(_BATCH)).all()
        if not rows:
            break
        for row in rows:
            values = {"id": row.id, "at": row.at, "actor_id": row.actor_id, "action": row.action,
                      "entity_type": row.entity_type, "entity_id": row.entity_id, "request_id": row.request_id,
                      "actor_roles": decode(row[8]), "before": None if row[9] is None else decode(row[9]),
                      "after": None if row[10] is None else decode(row[10])}
            partition = partition_of(row.entity_type, row.entity_id)
            length, previous = heads.get(partition, (0, GENESIS))
            digest = row_hash(values, partition=partition, position=length + 1, previous=previous)
            bind.execute(log.update().where(log.c.seq == row.seq).values(
                partition=partition, chain_pos=length + 1, prev_hash=previous, hash=digest))
            heads[partition] = (length + 1, digest)
        last = rows[-1].seq
    chain = sa.table("audit_chain", sa.column("partition", sa.Integer()), sa.column("length", sa.BigInteger()),
                     sa.column("head_hash", sa.String()))
    if heads:
        bind.execute(chain.insert(), [{"partition": p, "length": n, "head_hash": h} for p, (n, h) in heads.items()])


def downgrade() -> None:
    op.drop_table("audit_chain")
    with op.batch_alter_table("audit_log") as batch:
        batch.drop_index("uq_audit_log_chain")
        batch.drop_column("hash")
        batch.drop_column("prev_hash")
        batch.drop_column("chain_pos")
        batch.drop_column("partition")
