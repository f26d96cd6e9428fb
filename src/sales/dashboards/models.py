"""The dashboard pages' snapshots (issue 18): a team's, a city's dashboard or a forecast, computed once and served
to the console until refreshed (the API always measures live)."""
from __future__ import annotations

from sqlalchemy import Boolean, Column, Date, Index, PrimaryKeyConstraint, String, Table

from sales.core.tables import metadata
from sales.core.types import JSONType, UTCDateTime, UUIDType

dashboard_snapshots = Table(
    "dashboard_snapshots", metadata,
    Column("kind", String(16), nullable=False),  # rm | team | city | forecast
    Column("scope_key", String(160), nullable=False),  # RM id, team id, city (lower-case), "team:<id>" / "city:<name>"
    Column("period_type", String(16), nullable=False),
    Column("period_start", Date, nullable=False),
    Column("payload", JSONType, nullable=False),  # the API's read model of it, as JSON
    Column("computed_at", UTCDateTime, nullable=False),
    Column("read_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("kind", "scope_key", "period_type", "period_start"),
    Index("ix_dashboard_snapshots_read", "read_at"),
)

# The forecast's learning (issue 18): one row per closed pipeline and stage it entered, written when the pipeline
# closes (`pipeline.stage_changed` hook, same transaction; closed is final) and backfilled by migration 0031, so the
# forecast counts these rows instead of grouping every closed pipeline's stage history.
forecast_learning = Table(
    "forecast_learning", metadata,
    Column("pipeline_id", UUIDType, nullable=False),
    Column("stage", String(32), nullable=False),  # NEW (entered at creation) or a stage it moved into
    Column("rm_id", UUIDType, nullable=False),  # its RM (the city is the RM's, read when counting)
    Column("entered_at", UTCDateTime, nullable=False),  # first entered the stage
    Column("closed_at", UTCDateTime, nullable=False),  # its first closing move
    Column("won", Boolean, nullable=False),  # that move was CLOSED_WON
    PrimaryKeyConstraint("pipeline_id", "stage"),
    Index("ix_forecast_learning_closed", "closed_at"),
)

# What `repository.learned` counted for a cut made in the past (issue 18): per (cut instant, horizon) every (city,
# stage) cell, so that the back-test's learning is counted once, not on every cold page. Database triggers
# (migration 0032) delete the cuts a change can alter: a `forecast_learning` row written or deleted with its close
# before the cut, and any RM added, removed or moved to another city (the city is the RM's current one).
forecast_learning_counts = Table(
    "forecast_learning_counts", metadata,
    Column("cut_before", UTCDateTime, nullable=False),  # the pipelines closed before this instant
    Column("horizon_seconds", String(48), nullable=False),  # the horizon, the Decimal as text (exact)
    Column("cells", JSONType, nullable=False),  # [[city lower-case, stage, reached, won, won in the horizon], ...]
    Column("computed_at", UTCDateTime, nullable=False),
    PrimaryKeyConstraint("cut_before", "horizon_seconds"),
)
