"""RM directory: teams, RMs (read model of UserManagement), their localities and leaves."""
from __future__ import annotations

from sqlalchemy import (Boolean, CheckConstraint, Column, Date, ForeignKey, Index, Integer, SmallInteger,
                        String, Table, Text, func, text)

from sales.core.tables import metadata
from sales.core.types import JSONType, Money, UTCDateTime, UUIDType

teams = Table(
    "teams", metadata,
    Column("id", UUIDType, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("city", String(100), nullable=False),
    Column("supervisor_id", UUIDType, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Index("ix_teams_city", "city"),
)

rms = Table(
    "rms", metadata,
    Column("id", UUIDType, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("email", String(320), nullable=False),
    Column("phone", String(32), nullable=True),
    Column("team_id", UUIDType, ForeignKey("teams.id"), nullable=True),
    Column("city", String(100), nullable=False),
    Column("zone", String(100), nullable=True),
    Column("localities", JSONType, nullable=False),
    Column("property_types", JSONType, nullable=False),
    Column("segments", JSONType, nullable=False),
    Column("max_deal_value", Money, nullable=True),
    Column("capacity", Integer, nullable=False, server_default=text("25")),
    Column("base_salary", Money, nullable=False),
    Column("performance_score", SmallInteger, nullable=False, server_default=text("50")),
    Column("is_backup", Boolean, nullable=False, server_default=text("false")),
    Column("status", String(16), nullable=False),
    Column("availability", String(16), nullable=False),
    Column("shifts", JSONType, nullable=False),
    # Live load, maintained by the allocation engine with conditional updates (LAR-002).
    Column("active_leads", Integer, nullable=False, server_default=text("0")),
    # Live leads a supervisor placed beyond capacity with an explicit override.
    Column("override_leads", Integer, nullable=False, server_default=text("0")),
    # Round-robin bookkeeping (LAR-004): leads received in the window starting at `window_date`.
    Column("window_date", Date, nullable=True),
    Column("window_received", Integer, nullable=False, server_default=text("0")),
    Column("last_allocated_at", UTCDateTime, nullable=True),
    # Caps (issue 17): at most this many leads a day / a week (NULL: the rule set's team or city default), and the
    # week's counter, both counted in the city's time zone (the week starts on Monday).
    Column("max_leads_per_day", Integer, nullable=True),
    Column("max_leads_per_week", Integer, nullable=True),
    Column("week_start", Date, nullable=True),
    Column("week_received", Integer, nullable=False, server_default=text("0")),
    # Return without a burst (issue 17): leads counted as received for round robin on `rr_offset_date` only, set
    # when the RM comes back so that their deficit did not accumulate while away (not counted by the caps).
    Column("rr_offset", Integer, nullable=False, server_default=text("0")),
    Column("rr_offset_date", Date, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    CheckConstraint("active_leads >= 0 AND active_leads <= capacity + override_leads", name="within_capacity"),
    CheckConstraint("capacity >= 0", name="capacity_non_negative"),
    CheckConstraint("max_leads_per_day IS NULL OR max_leads_per_day >= 1", name="daily_cap_positive"),
    CheckConstraint("max_leads_per_week IS NULL OR max_leads_per_week >= 1", name="weekly_cap_positive"),
    CheckConstraint("performance_score BETWEEN 0 AND 100", name="performance_score_range"),
    CheckConstraint("status IN ('ACTIVE','INACTIVE')", name="status_enum"),
    CheckConstraint("availability IN ('ONLINE','OFFLINE')", name="availability_enum"),
    Index("ix_rms_team_id", "team_id"),
    Index("ix_rms_city_zone", "city", "zone"),
)
# A city's RMs as the allocation engine's city stage, the rebalance and the round-robin rejoin look them up.
Index("ix_rms_lower_city", func.lower(rms.c.city))

# Normalised copy of rms.localities for indexed geographic lookup (LAR-001).
rm_localities = Table(
    "rm_localities", metadata,
    Column("rm_id", UUIDType, ForeignKey("rms.id", ondelete="CASCADE"), primary_key=True),
    Column("city", String(100), primary_key=True),
    Column("locality", String(200), primary_key=True),
    Index("ix_rm_localities_city_locality", "city", "locality"),
)

rm_leaves = Table(
    "rm_leaves", metadata,
    Column("id", UUIDType, primary_key=True),
    Column("rm_id", UUIDType, ForeignKey("rms.id", ondelete="CASCADE"), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date, nullable=False),
    Column("reason", Text, nullable=True),
    Column("created_by", UUIDType, nullable=True),
    Column("created_at", UTCDateTime, nullable=False),
    CheckConstraint("end_date >= start_date", name="dates_ordered"),
    Index("ix_rm_leaves_rm_dates", "rm_id", "start_date", "end_date"),
)
