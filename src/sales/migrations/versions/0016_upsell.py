"""upsell engine: response times and expiry on upsells, gating decisions, per-user gate, trigger fires (issue 11)

Revision ID: 0016
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa
import sales.core.types
from sqlalchemy.dialects import postgresql

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_TS = sales.core.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('upsells', schema=None) as batch_op:
        batch_op.add_column(sa.Column('clicked_at', _TS, nullable=True))
        batch_op.add_column(sa.Column('dismissed_at', _TS, nullable=True))
        batch_op.add_column(sa.Column('expires_at', _TS, nullable=True))
        batch_op.add_column(sa.Column('updated_at', _TS, nullable=True))
        batch_op.add_column(sa.Column('payment_request_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('checkout_amount', sales.core.types.MoneyType(precision=14, scale=2),
                                      nullable=True))
        batch_op.add_column(sa.Column('checkout_at', _TS, nullable=True))
        batch_op.create_index('ix_upsells_created', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_upsells_status_expires', ['status', 'expires_at'], unique=False)

    op.create_table('upsell_decisions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('user_type', sa.String(length=16), nullable=False),
    sa.Column('trigger_event', sa.String(length=128), nullable=False),
    sa.Column('target_plan_id', sa.Uuid(), nullable=True),
    sa.Column('requested_channel', sa.String(length=32), nullable=False),
    sa.Column('channel', sa.String(length=32), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('rules', _JSON, nullable=False),
    sa.Column('upsell_id', sa.Uuid(), nullable=True),
    sa.Column('source', sa.String(length=160), nullable=False),
    sa.Column('decided_at', _TS, nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_upsell_decisions'))
    )
    with op.batch_alter_table('upsell_decisions', schema=None) as batch_op:
        batch_op.create_index('ix_upsell_decisions_user', ['user_id', 'decided_at', 'id'], unique=False)

    op.create_table('upsell_user_gates',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('touched_at', _TS, nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_upsell_user_gates'))
    )
    op.create_table('upsell_trigger_fires',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('cause', sa.String(length=200), nullable=False),
    sa.Column('upsell_id', sa.Uuid(), nullable=False),
    sa.Column('fired_at', _TS, nullable=False),
    sa.PrimaryKeyConstraint('user_id', 'cause', name=op.f('pk_upsell_trigger_fires'))
    )
    op.create_table('upsell_trigger_configs',
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('config', _JSON, nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', _TS, nullable=False),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_upsell_trigger_configs'))
    )


def downgrade() -> None:
    op.drop_table('upsell_trigger_configs')
    op.drop_table('upsell_trigger_fires')
    op.drop_table('upsell_user_gates')
    with op.batch_alter_table('upsell_decisions', schema=None) as batch_op:
        batch_op.drop_index('ix_upsell_decisions_user')
    op.drop_table('upsell_decisions')
    with op.batch_alter_table('upsells', schema=None) as batch_op:
        batch_op.drop_index('ix_upsells_status_expires')
        batch_op.drop_index('ix_upsells_created')
        batch_op.drop_column('checkout_at')
        batch_op.drop_column('checkout_amount')
        batch_op.drop_column('payment_request_id')
        batch_op.drop_column('updated_at')
        batch_op.drop_column('expires_at')
        batch_op.drop_column('dismissed_at')
        batch_op.drop_column('clicked_at')
