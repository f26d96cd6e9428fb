"""refund requests (issue 12): one open request per order (partial unique index)

Revision ID: 0017
Revises: 0016
"""
from alembic import op
import sqlalchemy as sa
import sales.core.types
from sqlalchemy.dialects import postgresql

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_TS = sales.core.types.UTCDateTime(timezone=True)
_MONEY = sales.core.types.MoneyType(precision=14, scale=2)
_OPEN = ("status IN ('REQUESTED','AUTO_APPROVED','PENDING_APPROVAL','PENDING_MANAGER_APPROVAL',"
         "'UNDER_INVESTIGATION','APPROVED','PROCESSING')")


def upgrade() -> None:
    op.create_table('refunds',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('order_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('type', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('flagged', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('reason', sa.String(length=1000), nullable=False),
    sa.Column('requested_amount', _MONEY, nullable=False),
    sa.Column('refundable_amount', _MONEY, nullable=False),
    sa.Column('amount', _MONEY, nullable=True),
    sa.Column('approval', sa.String(length=16), nullable=False),
    sa.Column('rules', _JSON, nullable=False),
    sa.Column('requested_by', sa.Uuid(), nullable=False),
    sa.Column('requested_at', _TS, nullable=False),
    sa.Column('decided_at', _TS, nullable=True),
    sa.Column('decided_by', sa.Uuid(), nullable=True),
    sa.Column('decision_reason', sa.String(length=1000), nullable=True),
    sa.Column('expected_resolution_by', _TS, nullable=False),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_at', _TS, nullable=False),
    sa.Column('updated_at', _TS, nullable=False),
    sa.CheckConstraint("type IN ('REFUND','GUARANTEE_CLAIM')", name=op.f('ck_refunds_type_enum')),
    sa.CheckConstraint("status IN ('REQUESTED','AUTO_APPROVED','PENDING_APPROVAL','PENDING_MANAGER_APPROVAL',"
                       "'UNDER_INVESTIGATION','APPROVED','PROCESSING','COMPLETED','FAILED','REJECTED')",
                       name=op.f('ck_refunds_status_enum')),
    sa.CheckConstraint("approval IN ('AUTO','SUPPORT_AGENT','MANAGER')", name=op.f('ck_refunds_approval_enum')),
    sa.CheckConstraint("requested_amount >= 0 AND refundable_amount >= 0 AND (amount IS NULL OR amount > 0)",
                       name=op.f('ck_refunds_amounts_valid')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.order_id'], name=op.f('fk_refunds_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds'))
    )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index('ix_refunds_user_requested', ['user_id', 'requested_at', 'id'], unique=False)
        batch_op.create_index('ix_refunds_status_requested', ['status', 'requested_at', 'id'], unique=False)
        batch_op.create_index('ix_refunds_order', ['order_id', 'requested_at'], unique=False)
    op.create_index('uq_refunds_open_order', 'refunds', ['order_id'], unique=True,
                    postgresql_where=sa.text(_OPEN), sqlite_where=sa.text(_OPEN))


def downgrade() -> None:
    op.drop_index('uq_refunds_open_order', table_name='refunds')
    op.drop_table('refunds')
