from enum import StrEnum


class ForecastPeriod(StrEnum):
    """The forecast back-test's period (issue 18)."""

    MONTHLY = "MONTHLY"
    QUARTERLY = "QUARTERLY"
