"""Allocation rule configuration: one document per city ("*" = default), versioned in the database."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sales.core.fields import Text

GeoLevel = Literal["LOCALITY", "ZONE", "CITY"]


class SkillRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    property_type: bool = True
    segment: bool = True
    deal_size: bool = True


class PerformanceBoost(BaseModel):
    """LAR-005: for leads at or above `min_priority`, an RM's round-robin weight is multiplied by
    1 + strength * (performance_score - 50) / 50, i.e. from (1 - strength) to (1 + strength)."""

    model_config = ConfigDict(extra="forbid")
    enabled: bool = True
    min_priority: int = Field(default=4, ge=1, le=5)
    strength: float = Field(default=0.5, ge=0, le=0.95)


class AllocationRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    geographic_widening: list[GeoLevel] = Field(default=["LOCALITY", "ZONE", "CITY"], min_length=1)
    skill_match: SkillRules = SkillRules()
    performance_boost: PerformanceBoost = PerformanceBoost()
    capacity_weighted_round_robin: bool = Field(
        default=True, description="LAR-004: an RM's share is proportional to capacity / 25")
    sla_minutes: int = Field(default=120, ge=1, le=7 * 24 * 60)
    max_sla_breaches: int = Field(default=2, ge=1, le=10,
                                  description="LAR-006: the Nth SLA breach on a lead escalates it")
    overflow_to_backup: bool = True
    queue_depth_alert: int = Field(default=10, ge=1, le=1000)
    timezone: Annotated[Text, Field(max_length=64)] = Field(default="UTC", description="for shifts and leave days")

    @field_validator("geographic_widening")
    @classmethod
    def _ordered(cls, levels: list[str]) -> list[str]:
        order = ["LOCALITY", "ZONE", "CITY"]
        if len(set(levels)) != len(levels) or levels != sorted(levels, key=order.index):
            raise ValueError("levels must be distinct and in the order LOCALITY, ZONE, CITY")
        return levels

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


DEFAULT_RULES = AllocationRules()
