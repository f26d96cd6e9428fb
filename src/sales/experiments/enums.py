from enum import StrEnum


class ExperimentStatus(StrEnum):
    """DRAFT -> RUNNING -> STOPPED | CONCLUDED (issue 16)."""

    DRAFT = "DRAFT"
    RUNNING = "RUNNING"
    STOPPED = "STOPPED"
    CONCLUDED = "CONCLUDED"


class PrimaryMetric(StrEnum):
    conversion = "conversion"  # converted / exposed (PRESENTED) users


class Guardrail(StrEnum):
    dismissal_rate = "dismissal_rate"  # exposed users who dismissed / exposed users
    opt_out_rate = "opt_out_rate"  # exposed users who opted out of marketing after the upsell / exposed users


class RolloutStatus(StrEnum):
    ROLLING_OUT = "ROLLING_OUT"
    COMPLETED = "COMPLETED"
    ROLLED_BACK = "ROLLED_BACK"
