"""PRD §3.2.4 SalesTarget enumerations."""
from enum import StrEnum


class TargetType(StrEnum):
    INDIVIDUAL = "INDIVIDUAL"
    TEAM = "TEAM"
    CITY = "CITY"


class PeriodType(StrEnum):
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"
    QUARTERLY = "QUARTERLY"


class MetricType(StrEnum):
    REVENUE = "REVENUE"
    DEALS_CLOSED = "DEALS_CLOSED"
    LEADS_CONTACTED = "LEADS_CONTACTED"
    VISITS_SCHEDULED = "VISITS_SCHEDULED"
    CONVERSION_RATE = "CONVERSION_RATE"
    UPSELL_CONVERSIONS = "UPSELL_CONVERSIONS"
    CUSTOMER_SATISFACTION = "CUSTOMER_SATISFACTION"


class TargetStatus(StrEnum):
    ACTIVE = "ACTIVE"
    ACHIEVED = "ACHIEVED"
    MISSED = "MISSED"
    CANCELLED = "CANCELLED"


class LeaderboardScope(StrEnum):
    team = "team"
    city = "city"
