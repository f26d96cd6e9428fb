"""allocation step 2 (issue 17): round-robin offset on return, queue-depth alert state, inherited city rules

Revision ID: 0029
Revises: 0028
"""
import json

from alembic import op
import sqlalchemy as sa

import sales.core.types

revision = "0029"
down_revision = "0028"
branch_labels = None
depends_on = None


def _overrides(config: dict, default: dict) -> dict:
    """What a city's stored rules change from the default: top-level values, and single keys of nested objects."""
    out: dict = {}
    for key, value in config.items():
        base = default.get(key)
        if isinstance(value, dict) and isinstance(base, dict):
            changed = {k: v for k, v in value.items() if base.get(k) != v}
            if changed:
                out[key] = changed
        elif key not in default or base != value:
            out[key] = value
    return out


def _load(value):
    return json.loads(value) if isinstance(value, str) else value


def upgrade() -> None:
    with op.batch_alter_table("rms") as batch:
        batch.add_column(sa.Column("rr_offset", sa.Integer(), server_default=sa.text("0"), nullable=False))
        batch.add_column(sa.Column("rr_offset_date", sa.Date(), nullable=True))
    op.create_table(
        "allocation_queue_alerts",
        sa.Column("key", sa.String(length=80), primary_key=True),
        sa.Column("over", sa.Boolean(), nullable=False),
        sa.Column("depth", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("changed_at", sales.core.types.UTCDateTime(timezone=True), nullable=False),
    )
    # Rule sets stored a full copy of the rules; from now on a city's store only what differs from '*', and '*'
    # only what differs from the built-in defaults.
    from sales.allocation.config import AllocationRules  # the built-in defaults at the time of this migration
    from sales.core.types import JSONType, UUIDType
    bind = op.get_bind()
    sets = sa.table("allocation_rule_sets", sa.column("id", UUIDType), sa.column("city", sa.String),
                    sa.column("config", JSONType), sa.column("is_current", sa.Boolean))
    built_in = AllocationRules().model_dump(mode="json")
    default = dict(built_in)
    star = bind.execute(sa.select(sets.c.config).where(sets.c.city == "*", sets.c.is_current == sa.true())).first()
    if star is not None:
        default.update(_load(star.config))
    for row in bind.execute(sa.select(sets.c.id, sets.c.city, sets.c.config)).all():
        base = built_in if row.city == "*" else default
        bind.execute(sa.update(sets).where(sets.c.id == row.id).values(config=_overrides(_load(row.config), base)))


def downgrade() -> None:
    op.drop_table("allocation_queue_alerts")
    with op.batch_alter_table("rms") as batch:
        batch.drop_column("rr_offset_date")
        batch.drop_column("rr_offset")
