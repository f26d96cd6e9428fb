"""Deal closure (issue 15): a pipeline's checklist and its uploaded documents."""
from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Column, ForeignKey, Index, Integer, String, Table

from sales.core.sealed import SealedText
from sales.core.tables import metadata
from sales.core.types import JSONType, UTCDateTime, UUIDType

deal_checklists = Table(
    "deal_checklists", metadata,
    Column("pipeline_id", UUIDType, ForeignKey("sales_pipelines.id", ondelete="CASCADE"), primary_key=True),
    Column("deal_type", String(8), nullable=False),
    Column("items", JSONType, nullable=False),  # {key: {"done_at": iso, "done_by": uuid}} for the ticked ones
    Column("version", Integer, nullable=False),
    Column("updated_by", UUIDType, nullable=True),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("deal_type IN ('RENT','SALE')", name="deal_type_enum"),
)

deal_documents = Table(
    "deal_documents", metadata,
    Column("id", UUIDType, primary_key=True),
    Column("pipeline_id", UUIDType, ForeignKey("sales_pipelines.id", ondelete="CASCADE"), nullable=False),
    Column("kind", String(24), nullable=False),
    Column("filename", SealedText, nullable=False),  # the customer's own file name ("Aadhaar Rahul.pdf"): sealed
    Column("content_type", String(32), nullable=False),
    Column("size_bytes", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("storage_key", String(300), nullable=False),
    Column("uploaded_by", UUIDType, nullable=False),
    Column("uploaded_at", UTCDateTime, nullable=False),
    CheckConstraint("kind IN ('AGREEMENT','ID_PROOF','PAYMENT_PROOF','TITLE_DEED','OTHER')", name="kind_enum"),
    CheckConstraint("content_type IN ('application/pdf','image/jpeg','image/png')", name="content_type_enum"),
    Index("ix_deal_documents_pipeline", "pipeline_id", "uploaded_at", "id"),
)
