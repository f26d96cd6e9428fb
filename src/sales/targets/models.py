"""SalesTarget (PRD §3.2.4) and the CSAT scores it measures (crm.csat.recorded; issue 13)."""
from __future__ import annotations

from sqlalchemy import CheckConstraint, Column, Date, Index, Numeric, String, Table, text

from sales.core.tables import metadata
from sales.core.types import UTCDateTime, UUIDType

LIVE_INDEX = "status <> 'CANCELLED'"

sales_targets = Table(
    "sales_targets", metadata,
    Column("id", UUIDType, primary_key=True),
    Column("target_type", String(16), nullable=False),   # INDIVIDUAL, TEAM, CITY
    Column("assignee_id", UUIDType, nullable=False),     # RM id, team id, or the city's id (rules.city_id)
    Column("period_type", String(16), nullable=False),   # DAILY, WEEKLY, MONTHLY, QUARTERLY
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("metric_type", String(32), nullable=False),
    Column("target_value", Numeric(14, 2), nullable=False),
    Column("achieved_value", Numeric(14, 2), nullable=False),
    Column("achievement_percentage", Numeric(7, 2), nullable=False),
    Column("status", String(16), nullable=False),
    # issue 13 (migration 0019): the assignee's city when the target was set (its time zone bounds the period;
    # a city leaderboard reads it), and when targets-close settled it (a closed target no longer moves).
    Column("city", String(100), nullable=True),
    Column("closed_at", UTCDateTime, nullable=True),
    Column("created_by", UUIDType, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("period_end >= period_start", name="period_ordered"),
    CheckConstraint("target_type IN ('INDIVIDUAL','TEAM','CITY')", name="target_type_enum"),
    CheckConstraint("period_type IN ('DAILY','WEEKLY','MONTHLY','QUARTERLY')", name="period_type_enum"),
    CheckConstraint("metric_type IN ('REVENUE','DEALS_CLOSED','LEADS_CONTACTED','VISITS_SCHEDULED',"
                    "'CONVERSION_RATE','UPSELL_CONVERSIONS','CUSTOMER_SATISFACTION')", name="metric_type_enum"),
    CheckConstraint("status IN ('ACTIVE','ACHIEVED','MISSED','CANCELLED')", name="status_enum"),
    CheckConstraint("target_value > 0", name="target_value_positive"),
    Index("ix_sales_targets_assignee", "assignee_id", "period_start"),
    # One live target per assignee, metric and period (a CANCELLED one may be set again).
    Index("uq_sales_targets_live", "assignee_id", "metric_type", "period_type", "period_start", unique=True,
          postgresql_where=text(LIVE_INDEX), sqlite_where=text(LIVE_INDEX)),
    Index("ix_sales_targets_open_end", "period_end", postgresql_where=text("closed_at IS NULL"),
          sqlite_where=text("closed_at IS NULL")),
)

# One row per consumed crm.csat.recorded event (the inbox already drops redeliveries; the key makes it sure).
target_csat_scores = Table(
    "target_csat_scores", metadata,
    Column("event_id", String(255), primary_key=True),
    Column("rm_id", UUIDType, nullable=False),
    Column("pipeline_id", UUIDType, nullable=True),
    Column("score", Numeric(5, 2), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("received_at", UTCDateTime, nullable=False),
    CheckConstraint("score >= 0 AND score <= 10", name="score_range"),
    Index("ix_target_csat_scores_rm_at", "rm_id", "at"),
)
