"""commerce read models: plans, orders, refunds received, plan usage (issue 10 §2)

Revision ID: 0010
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa
import sales.core.types
from sqlalchemy.dialects import postgresql


revision = "0010"
down_revision = "0005"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table('plans',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('user_type', sa.String(length=16), nullable=False),
    sa.Column('tier', sa.SmallInteger(), nullable=False),
    sa.Column('price', sales.core.types.MoneyType(precision=14, scale=2), nullable=False),
    sa.Column('duration_days', sa.Integer(), nullable=False),
    sa.Column('features', _JSON, nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('created_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("user_type IN ('TENANT','OWNER','BUYER')", name=op.f('ck_plans_user_type_enum')),
    sa.CheckConstraint('duration_days > 0', name=op.f('ck_plans_duration_positive')),
    sa.CheckConstraint('price >= 0', name=op.f('ck_plans_price_non_negative')),
    sa.CheckConstraint('tier >= 0', name=op.f('ck_plans_tier_non_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plans')),
    sa.UniqueConstraint('code', name=op.f('uq_plans_code'))
    )
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.create_index('ix_plans_user_type_tier', ['user_type', 'tier', 'code'], unique=False)

    op.create_table('orders',
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('payment_id', sa.Uuid(), nullable=True),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('user_type', sa.String(length=16), nullable=False),
    sa.Column('plan_id', sa.Uuid(), nullable=False),
    sa.Column('amount', sales.core.types.MoneyType(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('paid_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('starts_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('refunded_amount', sales.core.types.MoneyType(precision=14, scale=2), server_default=sa.text('0'), nullable=False),
    sa.Column('transaction_type', sa.String(length=32), nullable=False),
    sa.Column('rm_id', sa.Uuid(), nullable=True),
    sa.Column('pipeline_id', sa.Uuid(), nullable=True),
    sa.Column('upsell_id', sa.Uuid(), nullable=True),
    sa.Column('expired_at', sales.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('ACTIVE','EXPIRED','REFUNDED','PARTIALLY_REFUNDED','CANCELLED')", name=op.f('ck_orders_status_enum')),
    sa.CheckConstraint("transaction_type IN ('SUBSCRIPTION_NEW','SUBSCRIPTION_RENEWAL','SUBSCRIPTION_UPGRADE','SERVICE_BOOKING','AGREEMENT_EXECUTION','PROPERTY_MANAGEMENT')", name=op.f('ck_orders_transaction_type_enum')),
    sa.CheckConstraint("user_type IN ('TENANT','OWNER','BUYER')", name=op.f('ck_orders_user_type_enum')),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_orders_amount_non_negative')),
    sa.CheckConstraint('ends_at >= starts_at', name=op.f('ck_orders_period_ordered')),
    sa.CheckConstraint('refunded_amount >= 0 AND refunded_amount <= amount', name=op.f('ck_orders_refund_within_amount')),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_orders_plan_id_plans')),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_orders'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_paid', ['paid_at', 'order_id'], unique=False)
        batch_op.create_index('ix_orders_rm_paid', ['rm_id', 'paid_at'], unique=False)
        batch_op.create_index('ix_orders_user_paid', ['user_id', 'paid_at', 'order_id'], unique=False)

    op.create_table('plan_usage',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('plan_id', sa.Uuid(), nullable=False),
    sa.Column('quota_name', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.Uuid(), nullable=True),
    sa.Column('quota', sa.BigInteger(), nullable=True),
    sa.Column('used', sa.BigInteger(), nullable=False),
    sa.Column('at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('quota IS NULL OR quota >= 0', name=op.f('ck_plan_usage_quota_non_negative')),
    sa.CheckConstraint('used >= 0', name=op.f('ck_plan_usage_used_non_negative')),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_plan_usage_plan_id_plans')),
    sa.PrimaryKeyConstraint('user_id', 'plan_id', 'quota_name', name=op.f('pk_plan_usage'))
    )
    op.create_table('order_refunds',
    sa.Column('refund_id', sa.Uuid(), nullable=False),
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('amount', sales.core.types.MoneyType(precision=14, scale=2), nullable=False),
    sa.Column('completed_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('received_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_order_refunds_amount_positive')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.order_id'], name=op.f('fk_order_refunds_order_id_orders'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('refund_id', name=op.f('pk_order_refunds'))
    )
    with op.batch_alter_table('order_refunds', schema=None) as batch_op:
        batch_op.create_index('ix_order_refunds_order', ['order_id', 'completed_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('order_refunds', schema=None) as batch_op:
        batch_op.drop_index('ix_order_refunds_order')

    op.drop_table('order_refunds')
    op.drop_table('plan_usage')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_user_paid')
        batch_op.drop_index('ix_orders_rm_paid')
        batch_op.drop_index('ix_orders_paid')

    op.drop_table('orders')
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_index('ix_plans_user_type_tier')

    op.drop_table('plans')
