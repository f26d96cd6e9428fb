"""commissions (issue 13): PARTIAL_CLAWBACK lines, the proportional CMR-002 clawback of a partial refund

Revision ID: 0027
Revises: 0026
"""
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

_KINDS = "'SALE','TIER_ADJUSTMENT','CLAWBACK_REVERSAL','TEAM_BONUS','DISPUTE_ADJUSTMENT'"


def upgrade() -> None:
    with op.batch_alter_table("commissions") as batch:
        batch.drop_constraint(op.f("ck_commissions_kind_enum"), type_="check")
        batch.create_check_constraint(op.f("ck_commissions_kind_enum"), f"kind IN ({_KINDS},'PARTIAL_CLAWBACK')")


def downgrade() -> None:
    with op.batch_alter_table("commissions") as batch:
        batch.drop_constraint(op.f("ck_commissions_kind_enum"), type_="check")
        batch.create_check_constraint(op.f("ck_commissions_kind_enum"), f"kind IN ({_KINDS})")
