"""visit plans, owner availability, follow-up tasks, deal checklists and documents, handoffs (issue 15)

Revision ID: 0023
Revises: 0022
"""
from alembic import op
import sqlalchemy as sa
import sales.core.types
from sqlalchemy.dialects import postgresql

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    
    op.create_table('owner_availability',
    sa.Column('listing_id', sa.Uuid(), nullable=False),
    sa.Column('windows', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('reported_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('listing_id', name=op.f('pk_owner_availability'))
    )
    op.create_table('sales_tasks',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('type', sa.String(length=24), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('pipeline_id', sa.Uuid(), nullable=True),
    sa.Column('rm_id', sa.Uuid(), nullable=False),
    sa.Column('due_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('source', sa.String(length=24), nullable=False),
    sa.Column('source_key', sa.String(length=200), nullable=True),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', sales.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('OPEN','DONE','CANCELLED')", name=op.f('ck_sales_tasks_status_enum')),
    sa.CheckConstraint("type IN ('CALL','VISIT_FOLLOW_UP','DOCUMENTS','CUSTOM')", name=op.f('ck_sales_tasks_type_enum')),
    sa.ForeignKeyConstraint(['pipeline_id'], ['sales_pipelines.id'], name=op.f('fk_sales_tasks_pipeline_id_sales_pipelines'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['rm_id'], ['rms.id'], name=op.f('fk_sales_tasks_rm_id_rms')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_tasks'))
    )
    with op.batch_alter_table('sales_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_sales_tasks_due', ['due_at', 'id'], unique=False)
        batch_op.create_index('ix_sales_tasks_pipeline', ['pipeline_id'], unique=False)
        batch_op.create_index('ix_sales_tasks_rm_due', ['rm_id', 'due_at', 'id'], unique=False)
        batch_op.create_index('uq_sales_tasks_source_key', ['source_key'], unique=True, postgresql_where=sa.text('source_key IS NOT NULL'), sqlite_where=sa.text('source_key IS NOT NULL'))

    op.create_table('visit_plans',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('pipeline_id', sa.Uuid(), nullable=False),
    sa.Column('plan_date', sa.Date(), nullable=False),
    sa.Column('window_start', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('window_end', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('start_lat', sa.Numeric(precision=9, scale=6), nullable=False),
    sa.Column('start_lon', sa.Numeric(precision=9, scale=6), nullable=False),
    sa.Column('visit_minutes', sa.SmallInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('total_minutes', sa.Integer(), nullable=False),
    sa.Column('travel_minutes', sa.Integer(), nullable=False),
    sa.Column('wait_minutes', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=False),
    sa.Column('created_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('ACTIVE','COMPLETED')", name=op.f('ck_visit_plans_status_enum')),
    sa.CheckConstraint('window_end > window_start', name=op.f('ck_visit_plans_window_ordered')),
    sa.ForeignKeyConstraint(['pipeline_id'], ['sales_pipelines.id'], name=op.f('fk_visit_plans_pipeline_id_sales_pipelines'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_plans'))
    )
    with op.batch_alter_table('visit_plans', schema=None) as batch_op:
        batch_op.create_index('ix_visit_plans_pipeline', ['pipeline_id', 'created_at'], unique=False)

    op.create_table('visit_stops',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('plan_id', sa.Uuid(), nullable=False),
    sa.Column('listing_id', sa.Uuid(), nullable=False),
    sa.Column('request_index', sa.SmallInteger(), nullable=False),
    sa.Column('position', sa.SmallInteger(), nullable=True),
    sa.Column('lat', sa.Numeric(precision=9, scale=6), nullable=False),
    sa.Column('lon', sa.Numeric(precision=9, scale=6), nullable=False),
    sa.Column('owner_windows', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('window_source', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('arrival_at', sales.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('start_at', sales.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('end_at', sales.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('travel_minutes', sa.Integer(), nullable=True),
    sa.Column('wait_minutes', sa.Integer(), nullable=True),
    sa.Column('visit_id', sa.Uuid(), nullable=True),
    sa.Column('decline_reason', sa.Text(), nullable=True),
    sa.Column('interested', sa.Boolean(), nullable=True),
    sa.Column('rating', sa.SmallInteger(), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('outcome', sa.String(length=64), nullable=True),
    sa.Column('completed_at', sales.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reminded_24h_at', sales.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reminded_1h_at', sales.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('REQUESTED','CONFIRMED','DECLINED','UNSCHEDULED','COMPLETED')", name=op.f('ck_visit_stops_status_enum')),
    sa.CheckConstraint('rating IS NULL OR rating BETWEEN 1 AND 5', name=op.f('ck_visit_stops_rating_range')),
    sa.ForeignKeyConstraint(['plan_id'], ['visit_plans.id'], name=op.f('fk_visit_stops_plan_id_visit_plans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_visit_stops')),
    sa.UniqueConstraint('plan_id', 'listing_id', name='uq_visit_stops_plan_listing')
    )
    with op.batch_alter_table('visit_stops', schema=None) as batch_op:
        batch_op.create_index('ix_visit_stops_plan', ['plan_id', 'request_index'], unique=False)
        batch_op.create_index('ix_visit_stops_status_start', ['status', 'start_at'], unique=False)
    op.create_table('deal_checklists',
    sa.Column('pipeline_id', sa.Uuid(), nullable=False),
    sa.Column('deal_type', sa.String(length=8), nullable=False),
    sa.Column('items', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.Uuid(), nullable=True),
    sa.Column('updated_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("deal_type IN ('RENT','SALE')", name=op.f('ck_deal_checklists_deal_type_enum')),
    sa.ForeignKeyConstraint(['pipeline_id'], ['sales_pipelines.id'], name=op.f('fk_deal_checklists_pipeline_id_sales_pipelines'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('pipeline_id', name=op.f('pk_deal_checklists'))
    )
    op.create_table('deal_documents',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('pipeline_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=32), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('storage_key', sa.String(length=300), nullable=False),
    sa.Column('uploaded_by', sa.Uuid(), nullable=False),
    sa.Column('uploaded_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("content_type IN ('application/pdf','image/jpeg','image/png')", name=op.f('ck_deal_documents_content_type_enum')),
    sa.CheckConstraint("kind IN ('AGREEMENT','ID_PROOF','PAYMENT_PROOF','TITLE_DEED','OTHER')", name=op.f('ck_deal_documents_kind_enum')),
    sa.ForeignKeyConstraint(['pipeline_id'], ['sales_pipelines.id'], name=op.f('fk_deal_documents_pipeline_id_sales_pipelines'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deal_documents'))
    )
    with op.batch_alter_table('deal_documents', schema=None) as batch_op:
        batch_op.create_index('ix_deal_documents_pipeline', ['pipeline_id', 'uploaded_at', 'id'], unique=False)
    op.create_table('sales_handoff_users',
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('touched_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_sales_handoff_users'))
    )
    op.create_table('sales_handoffs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('direction', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('context', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('lead_id', sa.Uuid(), nullable=True),
    sa.Column('allocation_id', sa.Uuid(), nullable=True),
    sa.Column('rm_id', sa.Uuid(), nullable=True),
    sa.Column('pipeline_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=False),
    sa.Column('created_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("direction IN ('TO_ASSISTED','TO_SELF_SERVICE')", name=op.f('ck_sales_handoffs_direction_enum')),
    sa.CheckConstraint("outcome IN ('ALLOCATED','QUEUED','CLOSED')", name=op.f('ck_sales_handoffs_outcome_enum')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sales_handoffs'))
    )
    with op.batch_alter_table('sales_handoffs', schema=None) as batch_op:
        batch_op.create_index('ix_sales_handoffs_user', ['user_id', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('sales_handoffs', schema=None) as batch_op:
        batch_op.drop_index('ix_sales_handoffs_user')

    op.drop_table('sales_handoffs')
    op.drop_table('sales_handoff_users')
    with op.batch_alter_table('deal_documents', schema=None) as batch_op:
        batch_op.drop_index('ix_deal_documents_pipeline')

    op.drop_table('deal_documents')
    op.drop_table('deal_checklists')
    
    with op.batch_alter_table('visit_stops', schema=None) as batch_op:
        batch_op.drop_index('ix_visit_stops_status_start')
        batch_op.drop_index('ix_visit_stops_plan')

    op.drop_table('visit_stops')
    with op.batch_alter_table('visit_plans', schema=None) as batch_op:
        batch_op.drop_index('ix_visit_plans_pipeline')

    op.drop_table('visit_plans')
    with op.batch_alter_table('sales_tasks', schema=None) as batch_op:
        batch_op.drop_index('uq_sales_tasks_source_key', postgresql_where=sa.text('source_key IS NOT NULL'), sqlite_where=sa.text('source_key IS NOT NULL'))
        batch_op.drop_index('ix_sales_tasks_rm_due')
        batch_op.drop_index('ix_sales_tasks_pipeline')
        batch_op.drop_index('ix_sales_tasks_due')

    op.drop_table('sales_tasks')
    op.drop_table('owner_availability')

