"""Upsell experiment API contract (issue 16)."""
from __future__ import annotations

import math
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sales.core.fields import Boolean, bounded_integer, bounded_number, bounded_text
from sales.core.money import DecimalNumber
from sales.experiments.enums import ExperimentStatus, Guardrail, PrimaryMetric, RolloutStatus
from sales.upsell.enums import UpsellChannel

VariantKey = bounded_text(64, min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
Name = bounded_text(200, min_length=1)
Hypothesis = bounded_text(2000)
TriggerEvent = bounded_text(128, min_length=1)
Seed = bounded_text(128, min_length=1)
Message = bounded_text(1000, min_length=1)
Reason = bounded_text(1000, min_length=1)
Share = bounded_number(ge=0, le=1)
WEIGHT_TOLERANCE = 1e-9


class VariantWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: VariantKey  # type: ignore[valid-type]
    weight: Share  # type: ignore[valid-type]
    message: Message  # type: ignore[valid-type]
    channel: UpsellChannel | None = None
    delay_minutes: bounded_integer(ge=0, le=43200) | None = None  # type: ignore[valid-type]
    control: Boolean = False


def check_variants(variants: list[VariantWrite]) -> list[VariantWrite]:
    """At least two variants, distinct keys, weights summing to 1, exactly one control."""
    if len(variants) < 2:
        raise ValueError("an experiment needs at least two variants")
    if len({v.key for v in variants}) != len(variants):
        raise ValueError("variant keys must be distinct")
    if not math.isclose(math.fsum(v.weight for v in variants), 1.0, abs_tol=WEIGHT_TOLERANCE):
        raise ValueError(f"the weights must sum to 1 (they sum to {math.fsum(v.weight for v in variants):g})")
    if sum(1 for v in variants if v.control) != 1:
        raise ValueError("exactly one variant must be the control (control: true)")
    return variants


def check_baseline(value: float | None) -> float | None:
    if value is not None and not 0 < value < 1:
        raise ValueError("the baseline conversion rate must be between 0 and 1 (exclusive)")
    return value


class ExperimentFields(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @field_validator("variants", check_fields=False)
    @classmethod
    def _variants(cls, value: list[VariantWrite] | None) -> list[VariantWrite] | None:
        return value if value is None else check_variants(value)

    @field_validator("baseline_rate", check_fields=False)
    @classmethod
    def _baseline(cls, value: float | None) -> float | None:
        return check_baseline(value)


Variants = Annotated[list[VariantWrite], Field(min_length=2, max_length=20)]
Guardrails = Annotated[list[Guardrail], Field(max_length=len(Guardrail))]
Effect = bounded_number(ge=0.001, le=10)
StageHours = bounded_integer(ge=1, le=24 * 90)


class ExperimentCreate(ExperimentFields):
    """POST /upsells/experiments: a DRAFT experiment; the seed defaults to the experiment id."""

    name: Name  # type: ignore[valid-type]
    hypothesis: Hypothesis | None = None  # type: ignore[valid-type]
    trigger: TriggerEvent  # type: ignore[valid-type]
    seed: Seed | None = None  # type: ignore[valid-type]
    variants: Variants
    coverage: Share = 1.0  # type: ignore[valid-type]
    primary_metric: PrimaryMetric = PrimaryMetric.conversion
    guardrails: Guardrails = Field(default_factory=lambda: [Guardrail.dismissal_rate, Guardrail.opt_out_rate])
    baseline_rate: Share  # type: ignore[valid-type]
    minimum_detectable_effect: Effect  # type: ignore[valid-type]
    rollout_stage_hours: StageHours = 24  # type: ignore[valid-type]


class ExperimentUpdate(ExperimentFields):
    """PUT /upsells/experiments/{id}: the fields given change (the rest stay). `status` RUNNING starts a DRAFT,
    STOPPED stops a RUNNING one; trigger, seed, variants and coverage change only in DRAFT. With `version`, only
    if that is still the experiment's version."""

    name: Name | None = None  # type: ignore[valid-type]
    hypothesis: Hypothesis | None = None  # type: ignore[valid-type]
    trigger: TriggerEvent | None = None  # type: ignore[valid-type]
    seed: Seed | None = None  # type: ignore[valid-type]
    variants: Variants | None = None
    coverage: Share | None = None  # type: ignore[valid-type]
    primary_metric: PrimaryMetric | None = None
    guardrails: Guardrails | None = None
    baseline_rate: Share | None = None  # type: ignore[valid-type]
    minimum_detectable_effect: Effect | None = None  # type: ignore[valid-type]
    rollout_stage_hours: StageHours | None = None  # type: ignore[valid-type]
    status: ExperimentStatus | None = None
    version: bounded_integer(ge=1, le=2**31 - 1) | None = None  # type: ignore[valid-type]


class ConcludeRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    winner: VariantKey  # type: ignore[valid-type]
    reason: Reason | None = None  # type: ignore[valid-type]


class VariantRead(BaseModel):
    key: str
    weight: float
    message: str
    channel: UpsellChannel | None
    delay_minutes: int | None
    control: bool


class RolloutRead(BaseModel):
    status: RolloutStatus
    percent: int = Field(description="share of the trigger's users served the winner (10 -> 50 -> 100)")
    stage_started_at: datetime | None
    next_stage_at: datetime | None


class ExperimentRead(BaseModel):
    id: UUID
    name: str
    hypothesis: str | None
    trigger: str
    seed: str
    variants: list[VariantRead]
    coverage: float
    primary_metric: PrimaryMetric
    guardrails: list[Guardrail]
    baseline_rate: float
    minimum_detectable_effect: float = Field(description="relative lift to detect (0.1 = +10%)")
    minimum_sample_per_variant: int = Field(description="exposed users per variant for alpha 0.05, power 0.8")
    rollout_stage_hours: int
    status: ExperimentStatus
    winner: str | None
    conclusion_reason: str | None
    conclusion_overridden: bool | None
    rollout: RolloutRead | None
    version: int
    created_by: UUID
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    ended_at: datetime | None


class AssignmentRead(BaseModel):
    experiment_id: UUID
    user_id: UUID
    in_experiment: bool
    variant: str | None = Field(description="the variant key (null: outside the experiment's coverage)")
    hash: float = Field(description="GrowthBook hash v2 of seed + user id, in [0, 1)")
    served: str | None = Field(description="what a new upsell of the trigger gets now (the variant while RUNNING; "
                                           "the winner or the control during a rollout; null when none)")


class ArmRead(BaseModel):
    key: str
    control: bool
    weight: float
    users: int = Field(description="exposed users (an upsell of the experiment PRESENTED)")
    conversions: int
    conversion_rate: float | None
    revenue: DecimalNumber
    # A treatment's headline figures against the control, as in `comparisons` (null for the control).
    relative_lift: float | None = None
    confidence_interval: list[float] | None = None
    p_value: float | None = None
    chance_to_win: float | None = None
    credible_interval: list[float] | None = None
    sequential_p_value: float | None = None


class ComparisonRead(BaseModel):
    variant: str
    relative_lift: float | None
    confidence_interval: list[float] | None = Field(description="95% CI of the relative lift (frequentist)")
    p_value: float | None
    significant: bool
    sequential_p_value: float | None = Field(description="always-valid p-value (safe to look at daily)")
    sequential_interval: list[float] | None
    chance_to_win: float | None
    credible_interval: list[float] | None = Field(description="95% credible interval of the relative lift")
    enough_data: bool
    reason: str | None = Field(description="why figures are null, or why they are not yet conclusive")


class GuardrailRead(BaseModel):
    metric: Guardrail
    variant: str
    control_rate: float | None
    variant_rate: float | None
    p_value: float | None = Field(description="one-sided: the variant's rate is higher than the control's")
    state: str = Field(description="OK | WORSE | NOT_ENOUGH_DATA")


class PointRead(BaseModel):
    date: str
    variant: str
    users: int
    conversions: int
    conversion_rate: float | None


class ResultsRead(BaseModel):
    experiment_id: UUID
    status: ExperimentStatus
    primary_metric: PrimaryMetric
    minimum_sample_per_variant: int
    enough_data: bool
    srm_p_value: float
    sample_ratio_mismatch: bool
    variants: list[ArmRead]
    comparisons: list[ComparisonRead]
    guardrails: list[GuardrailRead]
    timeline: list[PointRead] = Field(description="cumulative users and conversions per variant and day")
    computed_at: datetime


def variant_dicts(variants: list[VariantWrite]) -> list[dict[str, Any]]:
    return [v.model_dump(mode="json") for v in variants]
