"""RM-assisted journey (issue 14): requirements versions, shortlists and their frozen versions, share links
(token hashes) and customer feedback

Revision ID: 0022
Revises: 0021
"""
from alembic import op
import sqlalchemy as sa
import sales.core.types
from sqlalchemy.dialects import postgresql

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

_AVAILABLE = "status = 'AVAILABLE'"
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table('journey_requirements',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('pipeline_id', sa.Uuid(), nullable=False),
    sa.Column('customer_id', sa.Uuid(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('data', _JSON, nullable=False),
    sa.Column('author_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['pipeline_id'], ['sales_pipelines.id'], name=op.f('fk_journey_requirements_pipeline_id_sales_pipelines'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_requirements'))
    )
    with op.batch_alter_table('journey_requirements', schema=None) as batch_op:
        batch_op.create_index('ix_journey_requirements_customer', ['customer_id', 'created_at'], unique=False)
        batch_op.create_index('uq_journey_requirements_version', ['pipeline_id', 'version'], unique=True)

    op.create_table('journey_shortlists',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('pipeline_id', sa.Uuid(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('items', _JSON, nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('shared_version', sa.Integer(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=False),
    sa.Column('created_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('version >= 1', name=op.f('ck_journey_shortlists_version_positive')),
    sa.ForeignKeyConstraint(['pipeline_id'], ['sales_pipelines.id'], name=op.f('fk_journey_shortlists_pipeline_id_sales_pipelines'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_shortlists'))
    )
    with op.batch_alter_table('journey_shortlists', schema=None) as batch_op:
        batch_op.create_index('ix_journey_shortlists_pipeline', ['pipeline_id', 'created_at'], unique=False)

    op.create_table('journey_shares',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('shortlist_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('notification_id', sa.Uuid(), nullable=True),
    sa.Column('created_by', sa.Uuid(), nullable=False),
    sa.Column('created_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("channel IN ('WHATSAPP','EMAIL','IN_APP')", name=op.f('ck_journey_shares_channel_enum')),
    sa.ForeignKeyConstraint(['shortlist_id'], ['journey_shortlists.id'], name=op.f('fk_journey_shares_shortlist_id_journey_shortlists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_journey_shares')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_journey_shares_token_hash'))
    )
    with op.batch_alter_table('journey_shares', schema=None) as batch_op:
        batch_op.create_index('ix_journey_shares_shortlist', ['shortlist_id', 'created_at'], unique=False)

    op.create_table('journey_shortlist_versions',
    sa.Column('shortlist_id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('items', _JSON, nullable=False),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('diff', _JSON, nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=False),
    sa.Column('created_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['shortlist_id'], ['journey_shortlists.id'], name=op.f('fk_journey_shortlist_versions_shortlist_id_journey_shortlists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('shortlist_id', 'version', name=op.f('pk_journey_shortlist_versions'))
    )
    op.create_table('journey_feedback',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('shortlist_id', sa.Uuid(), nullable=False),
    sa.Column('pipeline_id', sa.Uuid(), nullable=False),
    sa.Column('share_id', sa.Uuid(), nullable=False),
    sa.Column('listing_id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('reaction', sa.String(length=16), nullable=False),
    sa.Column('comment', sa.String(length=1000), nullable=True),
    sa.Column('created_at', sales.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("reaction IN ('LIKE','DISLIKE','WANT_TO_VISIT')", name=op.f('ck_journey_feedback_reaction_enum')),
    sa.ForeignKeyConstraint(['share_id'], ['journey_shares.id'], name=op.f('fk_journey_feedback_share_id_journey_shares'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['shortlist_id'], ['journey_shortlists.id'], name=op.f('fk_journey_feedback_shortlist_id_journey_shortlists'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_journey_feedback')),
    sa.UniqueConstraint('id', name=op.f('uq_journey_feedback_id'))
    )
    with op.batch_alter_table('journey_feedback', schema=None) as batch_op:
        batch_op.create_index('ix_journey_feedback_pipeline', ['pipeline_id', 'created_at'], unique=False)
        batch_op.create_index('ix_journey_feedback_shortlist', ['shortlist_id', 'created_at'], unique=False)

    op.create_index('ix_inventory_listings_match_price', 'inventory_listings', ['deal_type', 'price'],
                    postgresql_where=sa.text(_AVAILABLE), sqlite_where=sa.text(_AVAILABLE))
    op.create_index('ix_inventory_listings_match_geo', 'inventory_listings', ['deal_type', 'lat', 'lon'],
                    postgresql_where=sa.text(_AVAILABLE), sqlite_where=sa.text(_AVAILABLE))
    op.create_index('ix_inventory_listings_locality', 'inventory_listings', [sa.text('lower(locality)')])


def downgrade() -> None:
    op.drop_index('ix_inventory_listings_locality', table_name='inventory_listings')
    op.drop_index('ix_inventory_listings_match_geo', table_name='inventory_listings')
    op.drop_index('ix_inventory_listings_match_price', table_name='inventory_listings')
    with op.batch_alter_table('journey_feedback', schema=None) as batch_op:
        batch_op.drop_index('ix_journey_feedback_shortlist')
        batch_op.drop_index('ix_journey_feedback_pipeline')

    op.drop_table('journey_feedback')
    op.drop_table('journey_shortlist_versions')
    with op.batch_alter_table('journey_shares', schema=None) as batch_op:
        batch_op.drop_index('ix_journey_shares_shortlist')

    op.drop_table('journey_shares')
    with op.batch_alter_table('journey_shortlists', schema=None) as batch_op:
        batch_op.drop_index('ix_journey_shortlists_pipeline')

    op.drop_table('journey_shortlists')
    with op.batch_alter_table('journey_requirements', schema=None) as batch_op:
        batch_op.drop_index('uq_journey_requirements_version')
        batch_op.drop_index('ix_journey_requirements_customer')

    op.drop_table('journey_requirements')
