"""refund workflow (issue 12): timeline (refund_events), policy exceptions, resolution time, plan guarantees,
claim evidence

Revision ID: 0018
Revises: 0017
"""
from alembic import op
import sqlalchemy as sa
import sales.core.types
from sqlalchemy.dialects import postgresql

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_TS = sales.core.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('policy_exception', sa.Boolean(), server_default=sa.text('false'),
                                      nullable=False))
        batch_op.add_column(sa.Column('resolved_at', _TS, nullable=True))
    op.create_table('refund_events',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('refund_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('at', _TS, nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('actor_role', sa.String(length=32), nullable=False),
    sa.Column('note', sa.String(length=1000), nullable=True),
    sa.Column('data', _JSON, nullable=True),
    sa.ForeignKeyConstraint(['refund_id'], ['refunds.id'], name=op.f('fk_refund_events_refund_id_refunds'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_refund_events'))
    )
    with op.batch_alter_table('refund_events', schema=None) as batch_op:
        batch_op.create_index('ix_refund_events_refund', ['refund_id', 'seq'], unique=False)
    op.create_table('plan_guarantees',
    sa.Column('plan_id', sa.Uuid(), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=False),
    sa.Column('window_days', sa.Integer(), nullable=False),
    sa.Column('condition', _JSON, nullable=False),
    sa.Column('refund_percentage', sa.Integer(), nullable=False),
    sa.Column('evidence_required', _JSON, nullable=False),
    sa.Column('updated_by', sa.Uuid(), nullable=False),
    sa.Column('created_at', _TS, nullable=False),
    sa.Column('updated_at', _TS, nullable=False),
    sa.CheckConstraint('window_days > 0', name=op.f('ck_plan_guarantees_window_positive')),
    sa.CheckConstraint('refund_percentage > 0 AND refund_percentage <= 100',
                       name=op.f('ck_plan_guarantees_percentage_valid')),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], name=op.f('fk_plan_guarantees_plan_id_plans'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('plan_id', name=op.f('pk_plan_guarantees'))
    )
    op.create_table('refund_evidence',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('refund_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=True),
    sa.Column('note', sa.String(length=1000), nullable=True),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_path', sa.String(length=500), nullable=False),
    sa.Column('uploaded_by', sa.Uuid(), nullable=False),
    sa.Column('uploaded_at', _TS, nullable=False),
    sa.CheckConstraint("content_type IN ('image/jpeg','image/png','application/pdf')",
                       name=op.f('ck_refund_evidence_content_type_enum')),
    sa.ForeignKeyConstraint(['refund_id'], ['refunds.id'], name=op.f('fk_refund_evidence_refund_id_refunds'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_refund_evidence')),
    sa.UniqueConstraint('id', name=op.f('uq_refund_evidence_id'))
    )
    with op.batch_alter_table('refund_evidence', schema=None) as batch_op:
        batch_op.create_index('ix_refund_evidence_refund', ['refund_id', 'seq'], unique=False)
    # The timeline of requests recorded before it existed, from their columns.
    op.execute("UPDATE refunds SET resolved_at = decided_at WHERE status = 'REJECTED'")
    op.execute("INSERT INTO refund_events (refund_id, kind, status, at, actor_id, actor_role, note) "
               "SELECT id, 'REQUESTED', 'REQUESTED', requested_at, requested_by, 'REQUESTER', reason FROM refunds")
    op.execute("INSERT INTO refund_events (refund_id, kind, status, at, actor_id, actor_role, note) "
               "SELECT id, CASE WHEN status = 'REJECTED' THEN 'REJECTED' ELSE 'AUTO_APPROVED' END, "
               "CASE WHEN status = 'REJECTED' THEN 'REJECTED' ELSE 'AUTO_APPROVED' END, decided_at, NULL, "
               "'SYSTEM', decision_reason FROM refunds WHERE decided_at IS NOT NULL")
    op.execute("INSERT INTO refund_events (refund_id, kind, status, at, actor_id, actor_role, note) "
               "SELECT id, 'SENT_TO_BILLING', 'PROCESSING', decided_at, NULL, 'SYSTEM', NULL FROM refunds "
               "WHERE status = 'PROCESSING' AND decided_at IS NOT NULL")


def downgrade() -> None:
    with op.batch_alter_table('refund_evidence', schema=None) as batch_op:
        batch_op.drop_index('ix_refund_evidence_refund')
    op.drop_table('refund_evidence')
    op.drop_table('plan_guarantees')
    with op.batch_alter_table('refund_events', schema=None) as batch_op:
        batch_op.drop_index('ix_refund_events_refund')
    op.drop_table('refund_events')
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_column('resolved_at')
        batch_op.drop_column('policy_exception')
