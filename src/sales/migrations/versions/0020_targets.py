"""targets (issue 13): enum checks, one live target per assignee/metric/period, city and closed_at, CSAT scores,
indexes for the period aggregates

Revision ID: 0020
Revises: 0019
"""
from alembic import op
import sqlalchemy as sa
import sales.core.types

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_TS = sales.core.types.UTCDateTime(timezone=True)
_LIVE = "status <> 'CANCELLED'"
_OPEN = "closed_at IS NULL"
_NAMED = "pipeline_id IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table('sales_targets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('city', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('closed_at', _TS, nullable=True))
        batch_op.create_check_constraint(op.f('ck_sales_targets_target_type_enum'), "target_type IN ('INDIVIDUAL','TEAM','CITY')")
        batch_op.create_check_constraint(op.f('ck_sales_targets_period_type_enum'),
                                         "period_type IN ('DAILY','WEEKLY','MONTHLY','QUARTERLY')")
        batch_op.create_check_constraint(op.f('ck_sales_targets_metric_type_enum'),
                                         "metric_type IN ('REVENUE','DEALS_CLOSED','LEADS_CONTACTED',"
                                         "'VISITS_SCHEDULED','CONVERSION_RATE','UPSELL_CONVERSIONS',"
                                         "'CUSTOMER_SATISFACTION')")
        batch_op.create_check_constraint(op.f('ck_sales_targets_status_enum'), "status IN ('ACTIVE','ACHIEVED','MISSED','CANCELLED')")
        batch_op.create_check_constraint(op.f('ck_sales_targets_target_value_positive'), "target_value > 0")
    op.create_index('uq_sales_targets_live', 'sales_targets',
                    ['assignee_id', 'metric_type', 'period_type', 'period_start'], unique=True,
                    postgresql_where=sa.text(_LIVE), sqlite_where=sa.text(_LIVE))
    op.create_index('ix_sales_targets_open_end', 'sales_targets', ['period_end'],
                    postgresql_where=sa.text(_OPEN), sqlite_where=sa.text(_OPEN))
    op.create_table('target_csat_scores',
    sa.Column('event_id', sa.String(length=255), nullable=False),
    sa.Column('rm_id', sa.Uuid(), nullable=False),
    sa.Column('pipeline_id', sa.Uuid(), nullable=True),
    sa.Column('score', sa.Numeric(precision=5, scale=2), nullable=False),
    sa.Column('at', _TS, nullable=False),
    sa.Column('received_at', _TS, nullable=False),
    sa.CheckConstraint('score >= 0 AND score <= 10', name=op.f('ck_target_csat_scores_score_range')),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_target_csat_scores'))
    )
    op.create_index('ix_target_csat_scores_rm_at', 'target_csat_scores', ['rm_id', 'at'])
    op.create_index('ix_pipeline_stage_history_to_stage', 'pipeline_stage_history', ['to_stage', 'changed_at'])
    op.create_index('ix_rm_allocations_rm_allocated', 'rm_allocations', ['rm_id', 'allocated_at'])
    op.create_index('ix_rm_allocations_rm_first_action', 'rm_allocations', ['rm_id', 'first_action_at'])
    op.create_index('ix_orders_pipeline', 'orders', ['pipeline_id'], postgresql_where=sa.text(_NAMED),
                    sqlite_where=sa.text(_NAMED))


def downgrade() -> None:
    op.drop_index('ix_orders_pipeline', table_name='orders')
    op.drop_index('ix_rm_allocations_rm_first_action', table_name='rm_allocations')
    op.drop_index('ix_rm_allocations_rm_allocated', table_name='rm_allocations')
    op.drop_index('ix_pipeline_stage_history_to_stage', table_name='pipeline_stage_history')
    op.drop_index('ix_target_csat_scores_rm_at', table_name='target_csat_scores')
    op.drop_table('target_csat_scores')
    op.drop_index('ix_sales_targets_open_end', table_name='sales_targets')
    op.drop_index('uq_sales_targets_live', table_name='sales_targets')
    with op.batch_alter_table('sales_targets', schema=None) as batch_op:
        for name in ('target_value_positive', 'status_enum', 'metric_type_enum', 'period_type_enum',
                     'target_type_enum'):
            batch_op.drop_constraint(op.f(f'ck_sales_targets_{name}'), type_='check')
        batch_op.drop_column('closed_at')
        batch_op.drop_column('city')
