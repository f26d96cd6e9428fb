"""Tables of the event backbone beyond the kernel's outbox/inbox: the worker's job schedule."""
from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, Text, text

from sales.core.tables import metadata
from sales.core.types import JSONType, UTCDateTime

# One row per periodic job. A worker runs a job only after claiming its due slot with a conditional
# UPDATE (next_run_at <= now), so N workers run each slot once (PostgreSQL and SQLite alike).
worker_jobs = Table(
    "worker_jobs", metadata,
    Column("name", String(64), primary_key=True),
    Column("next_run_at", UTCDateTime, nullable=False),
    Column("last_started_at", UTCDateTime, nullable=True),
    Column("last_finished_at", UTCDateTime, nullable=True),
    Column("last_status", String(16), nullable=True),  # OK | FAILED
    Column("last_result", JSONType, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("last_worker", String(128), nullable=True),
    Column("runs", Integer, nullable=False, server_default=text("0")),
    Column("failures", Integer, nullable=False, server_default=text("0")),
)
