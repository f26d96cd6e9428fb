"""The archive's manifests: one row per table and `archive` run, committed with the deletion of its rows."""
from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table

from sales.core.tables import metadata
from sales.core.types import UTCDateTime, UUIDType

archive_manifests = Table(
    "archive_manifests", metadata,
    Column("id", UUIDType, primary_key=True),
    Column("run_id", UUIDType, nullable=False),
    Column("table_name", String(64), nullable=False),
    Column("path", String(512), nullable=False),  # relative to SALES_ARCHIVE_DIR: RUN_DIR/TABLE.jsonl.gz
    Column("rows_selected", Integer, nullable=False),
    Column("rows_written", Integer, nullable=False),
    Column("rows_deleted", Integer, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("cutoff", UTCDateTime, nullable=False),  # rows older than this (by the schedule's column) expired
    Column("created_at", UTCDateTime, nullable=False),
    Index("uq_archive_manifests_run_table", "run_id", "table_name", unique=True),
    Index("ix_archive_manifests_table", "table_name", "created_at"),
)
