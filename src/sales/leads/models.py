"""Read model of the Leads/CRM domains' lead and its customer. Customer PII is encrypted at rest."""
from __future__ import annotations

from sqlalchemy import Column, Index, SmallInteger, String, Table, Text

from sales.core.tables import metadata
from sales.core.types import JSONType, Money, UTCDateTime, UUIDType

leads = Table(
    "leads", metadata,
    Column("id", UUIDType, primary_key=True),
    # The customer's platform user id (the `sub` of their token; the user_id of Billing/Entitlements/Users events).
    Column("customer_id", UUIDType, nullable=True),
    Column("customer_name", Text, nullable=True, info={"sealed": True}),   # AES-256-GCM (repository)
    Column("customer_phone", Text, nullable=True, info={"sealed": True}),  # AES-256-GCM (repository)
    Column("customer_email", Text, nullable=True, info={"sealed": True}),  # AES-256-GCM (repository)
    Column("city", String(100), nullable=True),
    Column("zone", String(100), nullable=True),
    Column("locality", String(200), nullable=True),
    Column("property_type", String(16), nullable=True),
    Column("segment", String(16), nullable=True),
    Column("expected_deal_value", Money, nullable=True),
    Column("source", String(32), nullable=True),
    Column("intent", JSONType, nullable=True),
    Column("priority", SmallInteger, nullable=True),
    # NEW (known, not routed), ALLOCATED, QUEUED (waiting for capacity, LAR-007), ESCALATED
    Column("allocation_status", String(16), nullable=False),
    Column("queue_reason", Text, nullable=True),
    Column("queued_at", UTCDateTime, nullable=True),
    Column("sla_breaches", SmallInteger, nullable=False, default=0),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_leads_queue", "allocation_status", "priority", "queued_at"),
    Index("ix_leads_city", "city", "created_at"),
    # The customer context finds a customer's leads (and through them their pipelines) by platform user id.
    Index("ix_leads_customer", "customer_id", "created_at"),
)
