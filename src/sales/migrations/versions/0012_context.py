"""customer context read models (preferences, property views), listings, notifications (issue 10)

Revision ID: 0012
Revises: 0011
"""
from alembic import op
import sqlalchemy as sa
import sales.core.types
from sqlalchemy.dialects import postgresql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
_TS = sales.core.types.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "customer_preferences",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("marketing_opt_out", sa.Boolean(), nullable=False),
        sa.Column("channels_opted_out", _JSON, nullable=False),
        sa.Column("preferred_channel", sa.String(length=32), nullable=True),
        sa.Column("language", sa.String(length=35), nullable=True),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("source", sa.String(length=160), nullable=False),
        sa.Column("received_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_customer_preferences")),
    )
    op.create_table(
        "customer_property_views",
        sa.Column("id", sa.String(length=160), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("property_id", sa.Uuid(), nullable=False),
        sa.Column("viewed_at", _TS, nullable=False),
        sa.Column("contacted", sa.Boolean(), nullable=False),
        sa.Column("received_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_property_views")),
    )
    op.create_index("ix_customer_property_views_user", "customer_property_views", ["user_id", "viewed_at"])
    op.create_table(
        "inventory_listings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("locality", sa.String(length=200), nullable=False),
        sa.Column("lat", sa.Numeric(precision=9, scale=6), nullable=False),
        sa.Column("lon", sa.Numeric(precision=9, scale=6), nullable=False),
        sa.Column("property_type", sa.String(length=32), nullable=False),
        sa.Column("deal_type", sa.String(length=8), nullable=False),
        sa.Column("bhk", sa.SmallInteger(), nullable=True),
        sa.Column("area_sqft", sa.Integer(), nullable=True),
        sa.Column("price", sales.core.types.MoneyType(), nullable=False),
        sa.Column("furnishing", sa.String(length=16), nullable=True),
        sa.Column("amenities", _JSON, nullable=False),
        sa.Column("available_from", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("listed_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.Column("views_7d", sa.Integer(), nullable=True),
        sa.Column("views_at", _TS, nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.CheckConstraint("deal_type IN ('RENT','SALE')", name=op.f("ck_inventory_listings_deal_type_enum")),
        sa.CheckConstraint("status IN ('AVAILABLE','LET_OUT','SOLD','INACTIVE')",
                           name=op.f("ck_inventory_listings_status_enum")),
        sa.CheckConstraint("views_7d IS NULL OR views_7d >= 0", name=op.f("ck_inventory_listings_views_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inventory_listings")),
    )
    op.create_index("ix_inventory_listings_listed", "inventory_listings", ["listed_at", "id"])
    op.create_index("ix_inventory_listings_owner", "inventory_listings", ["owner_id"])
    op.create_index("ix_inventory_listings_city", "inventory_listings", [sa.text("lower(city)"), "status"])
    op.create_table(
        "notifications",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("recipient_type", sa.String(length=16), nullable=False),
        sa.Column("recipient_id", sa.Uuid(), nullable=True),
        sa.Column("team_id", sa.Uuid(), nullable=True),
        sa.Column("channel", sa.String(length=32), nullable=True),
        sa.Column("template", sa.String(length=100), nullable=False),
        sa.Column("transactional", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=64), nullable=False),
        sa.Column("data", _JSON, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.CheckConstraint("status IN ('REQUESTED','SUPPRESSED')", name=op.f("ck_notifications_status_enum")),
        sa.CheckConstraint("recipient_type IN ('RM','CUSTOMER','SUPERVISOR')",
                           name=op.f("ck_notifications_recipient_type_enum")),
        sa.CheckConstraint("recipient_id IS NOT NULL OR (recipient_type = 'SUPERVISOR' AND team_id IS NOT NULL)",
                           name=op.f("ck_notifications_has_recipient")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_notifications_dedupe_key")),
    )
    op.create_index("ix_notifications_recipient", "notifications", ["recipient_type", "recipient_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_notifications_recipient", table_name="notifications")
    op.drop_table("notifications")
    op.drop_index("ix_inventory_listings_city", table_name="inventory_listings")
    op.drop_index("ix_inventory_listings_owner", table_name="inventory_listings")
    op.drop_index("ix_inventory_listings_listed", table_name="inventory_listings")
    op.drop_table("inventory_listings")
    op.drop_index("ix_customer_property_views_user", table_name="customer_property_views")
    op.drop_table("customer_property_views")
    op.drop_table("customer_preferences")
