"""commission plans, the append-only commission ledger and payouts (issue 13; CMR-001..006)

No code wrote `commissions` before this revision, so the table is replaced by the ledger's shape (the
unique (transaction_id, rm_id) index gives way to `dedupe_key`: one transaction has several lines).

Revision ID: 0021
Revises: 0020
"""
from alembic import op
import sqlalchemy as sa
import sales.core.types
from sqlalchemy.dialects import postgresql

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_TS = sales.core.types.UTCDateTime(timezone=True)
_MONEY = sales.core.types.MoneyType(precision=14, scale=2)


def upgrade() -> None:
    _drop_old_commissions()
    op.create_table('commission_payouts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('reference', sa.String(length=128), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.Column('total', _MONEY, nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=False),
    sa.Column('created_at', _TS, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commission_payouts'))
    )
    with op.batch_alter_table('commission_payouts', schema=None) as batch_op:
        batch_op.create_index('uq_commission_payouts_reference', ['reference'], unique=True)

    op.create_table('commission_plans',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('plan_key', sa.String(length=32), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('commission_type', sa.String(length=16), nullable=False),
    sa.Column('amount', _MONEY, nullable=True),
    sa.Column('rate', sa.Numeric(precision=8, scale=4), nullable=True),
    sa.Column('tiers', _JSON, nullable=True),
    sa.Column('exception_above', _MONEY, nullable=False),
    sa.Column('effective_from', _TS, nullable=False),
    sa.Column('notes', sa.String(length=1000), nullable=True),
    sa.Column('created_by', sa.Uuid(), nullable=False),
    sa.Column('created_at', _TS, nullable=False),
    sa.CheckConstraint("commission_type IN ('FIXED','PERCENTAGE','TIERED','BONUS')", name=op.f('ck_commission_plans_commission_type_enum')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commission_plans'))
    )
    with op.batch_alter_table('commission_plans', schema=None) as batch_op:
        batch_op.create_index('uq_commission_plans_key_version', ['plan_key', 'version'], unique=True)

    op.create_table('commissions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('rm_id', sa.Uuid(), nullable=False),
    sa.Column('transaction_id', sa.Uuid(), nullable=False),
    sa.Column('transaction_type', sa.String(length=32), nullable=False),
    sa.Column('commission_type', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('base_amount', _MONEY, nullable=False),
    sa.Column('commission_rate', sa.Numeric(precision=8, scale=4), nullable=False),
    sa.Column('commission_amount', _MONEY, nullable=False),
    sa.Column('adjustments', _MONEY, nullable=True),
    sa.Column('final_amount', _MONEY, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('sale_at', _TS, nullable=False),
    sa.Column('earned_at', _TS, nullable=False),
    sa.Column('plan_id', sa.Uuid(), nullable=True),
    sa.Column('plan_version', sa.Integer(), nullable=True),
    sa.Column('rule', sa.String(length=200), nullable=False),
    sa.Column('explanation', _JSON, nullable=False),
    sa.Column('corrects_id', sa.Uuid(), nullable=True),
    sa.Column('reason', sa.String(length=1000), nullable=True),
    sa.Column('customer_id', sa.Uuid(), nullable=True),
    sa.Column('exception', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('exception_reasons', _JSON, nullable=False),
    sa.Column('approved_by', sa.Uuid(), nullable=True),
    sa.Column('approved_at', _TS, nullable=True),
    sa.Column('second_approved_by', sa.Uuid(), nullable=True),
    sa.Column('second_approved_at', _TS, nullable=True),
    sa.Column('paid_at', _TS, nullable=True),
    sa.Column('payout_reference', sa.String(length=128), nullable=True),
    sa.Column('payout_period', sa.String(length=7), nullable=True),
    sa.Column('clawback_reason', sa.Text(), nullable=True),
    sa.Column('disputed_at', _TS, nullable=True),
    sa.Column('dispute_reason', sa.String(length=1000), nullable=True),
    sa.Column('status_before_dispute', sa.String(length=16), nullable=True),
    sa.Column('dispute_outcome', sa.String(length=16), nullable=True),
    sa.Column('dispute_resolution', sa.String(length=1000), nullable=True),
    sa.Column('dispute_resolved_by', sa.Uuid(), nullable=True),
    sa.Column('dispute_resolved_at', _TS, nullable=True),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', _TS, nullable=False),
    sa.Column('updated_at', _TS, nullable=False),
    sa.CheckConstraint("status IN ('PENDING','EARNED','APPROVED','PAID','CLAWED_BACK','DISPUTED')",
                       name=op.f('ck_commissions_status_enum')),
    sa.CheckConstraint("kind IN ('SALE','TIER_ADJUSTMENT','CLAWBACK_REVERSAL','TEAM_BONUS','DISPUTE_ADJUSTMENT')",
                       name=op.f('ck_commissions_kind_enum')),
    sa.ForeignKeyConstraint(['rm_id'], ['rms.id'], name=op.f('fk_commissions_rm_id_rms')),
    sa.ForeignKeyConstraint(['plan_id'], ['commission_plans.id'], name=op.f('fk_commissions_plan_id_commission_plans')),
    sa.ForeignKeyConstraint(['corrects_id'], ['commissions.id'], name=op.f('fk_commissions_corrects_id_commissions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commissions'))
    )
    with op.batch_alter_table('commissions', schema=None) as batch_op:
        batch_op.create_index('ix_commissions_rm_period', ['rm_id', 'period', 'created_at'], unique=False)
        batch_op.create_index('ix_commissions_transaction', ['transaction_id'], unique=False)
        batch_op.create_index('ix_commissions_corrects', ['corrects_id'], unique=False)
        batch_op.create_index('ix_commissions_status_period', ['status', 'period'], unique=False)
        batch_op.create_index('ix_commissions_created', ['created_at', 'id'], unique=False)
        batch_op.create_index('uq_commissions_dedupe', ['dedupe_key'], unique=True)


def _drop_old_commissions() -> None:
    with op.batch_alter_table('commissions', schema=None) as batch_op:
        batch_op.drop_index('uq_commissions_transaction_rm')
        batch_op.drop_index('ix_commissions_rm')
    op.drop_table('commissions')


def _create_old_commissions() -> None:
    op.create_table('commissions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('rm_id', sa.Uuid(), nullable=False),
    sa.Column('transaction_id', sa.Uuid(), nullable=False),
    sa.Column('transaction_type', sa.String(length=32), nullable=False),
    sa.Column('commission_type', sa.String(length=16), nullable=False),
    sa.Column('base_amount', _MONEY, nullable=False),
    sa.Column('commission_rate', sa.Numeric(precision=8, scale=4), nullable=False),
    sa.Column('commission_amount', _MONEY, nullable=False),
    sa.Column('adjustments', _MONEY, nullable=True),
    sa.Column('final_amount', _MONEY, nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('earned_at', _TS, nullable=False),
    sa.Column('approved_by', sa.Uuid(), nullable=True),
    sa.Column('approved_at', _TS, nullable=True),
    sa.Column('paid_at', _TS, nullable=True),
    sa.Column('payout_reference', sa.String(length=128), nullable=True),
    sa.Column('clawback_reason', sa.Text(), nullable=True),
    sa.Column('created_at', _TS, nullable=False),
    sa.ForeignKeyConstraint(['rm_id'], ['rms.id'], name=op.f('fk_commissions_rm_id_rms')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_commissions'))
    )
    with op.batch_alter_table('commissions', schema=None) as batch_op:
        batch_op.create_index('ix_commissions_rm', ['rm_id', 'earned_at'], unique=False)
        batch_op.create_index('uq_commissions_transaction_rm', ['transaction_id', 'rm_id'], unique=True)


def downgrade() -> None:
    with op.batch_alter_table('commissions', schema=None) as batch_op:
        for name in ('uq_commissions_dedupe', 'ix_commissions_created', 'ix_commissions_status_period',
                     'ix_commissions_transaction', 'ix_commissions_corrects', 'ix_commissions_rm_period'):
            batch_op.drop_index(name)
    op.drop_table('commissions')
    _create_old_commissions()
    with op.batch_alter_table('commission_plans', schema=None) as batch_op:
        batch_op.drop_index('uq_commission_plans_key_version')
    op.drop_table('commission_plans')
    with op.batch_alter_table('commission_payouts', schema=None) as batch_op:
        batch_op.drop_index('uq_commission_payouts_reference')
    op.drop_table('commission_payouts')
