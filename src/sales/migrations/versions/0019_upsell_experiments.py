"""upsell experiments (issue 16): experiments, one active per trigger; the upsell keeps its experiment, message
and timing

Revision ID: 0019
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa
import sales.core.types
from sqlalchemy.dialects import postgresql

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_TS = sales.core.types.UTCDateTime(timezone=True)
_ACTIVE = "status = 'RUNNING' OR rollout_status = 'ROLLING_OUT'"


def upgrade() -> None:
    op.create_table('upsell_experiments',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('hypothesis', sa.String(length=2000), nullable=True),
    sa.Column('trigger', sa.String(length=128), nullable=False),
    sa.Column('seed', sa.String(length=128), nullable=False),
    sa.Column('variants', _JSON, nullable=False),
    sa.Column('coverage', sa.Float(), nullable=False),
    sa.Column('primary_metric', sa.String(length=32), nullable=False),
    sa.Column('guardrails', _JSON, nullable=False),
    sa.Column('baseline_rate', sa.Float(), nullable=False),
    sa.Column('minimum_detectable_effect', sa.Float(), nullable=False),
    sa.Column('minimum_sample_per_variant', sa.Integer(), nullable=False),
    sa.Column('rollout_stage_hours', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('winner', sa.String(length=64), nullable=True),
    sa.Column('conclusion_reason', sa.String(length=1000), nullable=True),
    sa.Column('conclusion_overridden', sa.Boolean(), nullable=True),
    sa.Column('rollout_status', sa.String(length=16), nullable=True),
    sa.Column('rollout_percent', sa.Integer(), server_default=sa.text('0'), nullable=False),
    sa.Column('rollout_stage_started_at', _TS, nullable=True),
    sa.Column('version', sa.Integer(), server_default=sa.text('1'), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=False),
    sa.Column('created_at', _TS, nullable=False),
    sa.Column('updated_at', _TS, nullable=False),
    sa.Column('started_at', _TS, nullable=True),
    sa.Column('ended_at', _TS, nullable=True),
    sa.CheckConstraint("status IN ('DRAFT','RUNNING','STOPPED','CONCLUDED')",
                       name=op.f('ck_upsell_experiments_status_enum')),
    sa.CheckConstraint("rollout_status IS NULL OR rollout_status IN ('ROLLING_OUT','COMPLETED','ROLLED_BACK')",
                       name=op.f('ck_upsell_experiments_rollout_status_enum')),
    sa.CheckConstraint("coverage >= 0 AND coverage <= 1", name=op.f('ck_upsell_experiments_coverage_share')),
    sa.CheckConstraint("rollout_percent >= 0 AND rollout_percent <= 100",
                       name=op.f('ck_upsell_experiments_rollout_percent_share')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_upsell_experiments'))
    )
    op.create_index('ix_upsell_experiments_created', 'upsell_experiments', ['created_at', 'id'], unique=False)
    op.create_index('uq_upsell_experiments_active_trigger', 'upsell_experiments', ['trigger'], unique=True,
                    postgresql_where=sa.text(_ACTIVE), sqlite_where=sa.text(_ACTIVE))
    with op.batch_alter_table('upsells', schema=None) as batch_op:
        batch_op.add_column(sa.Column('experiment_id', sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column('message', sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column('present_after', _TS, nullable=True))
        batch_op.create_index('ix_upsells_experiment', ['experiment_id', 'experiment_variant'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('upsells', schema=None) as batch_op:
        batch_op.drop_index('ix_upsells_experiment')
        batch_op.drop_column('present_after')
        batch_op.drop_column('message')
        batch_op.drop_column('experiment_id')
    op.drop_index('uq_upsell_experiments_active_trigger', table_name='upsell_experiments')
    op.drop_index('ix_upsell_experiments_created', table_name='upsell_experiments')
    op.drop_table('upsell_experiments')
