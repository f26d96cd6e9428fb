"""Allocation rule configuration: one document per city ("*" = default), versioned in the database."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sales.core.fields import Boolean, Text, bounded_integer, bounded_number

GeoLevel = Literal["LOCALITY", "ZONE", "CITY"]


class SkillRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    property_type: Boolean = True
    segment: Boolean = True
    deal_size: Boolean = True


class PerformanceBoost(BaseModel):
    """LAR-005: for leads at or above `min_priority`, an RM's round-robin weight is multiplied by
    1 + strength * (performance_score - 50) / 50, i.e. from (1 - strength) to (1 + strength)."""

    model_config = ConfigDict(extra="forbid")
    enabled: Boolean = True
    min_priority: bounded_integer(ge=1, le=5) = 4
    strength: bounded_number(ge=0, le=0.95) = 0.5


class AllocationRules(BaseModel):
    model_config = ConfigDict(extra="forbid")
    geographic_widening: list[GeoLevel] = Field(default=["LOCALITY", "ZONE", "CITY"], min_length=1)
    skill_match: SkillRules = SkillRules()
    performance_boost: PerformanceBoost = PerformanceBoost()
    capacity_weighted_round_robin: Boolean = Field(
        default=True, description="LAR-004: an RM's share is proportional to capacity / 25")
    sla_minutes: bounded_integer(ge=1, le=7 * 24 * 60) = 120
    max_sla_breaches: bounded_integer(ge=1, le=10) = Field(
        default=2, description="LAR-006: the Nth SLA breach on a lead escalates it")
    overflow_to_backup: Boolean = True
    queue_depth_alert: bounded_integer(ge=1, le=1000) = 10
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
