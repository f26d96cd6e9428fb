"""Allocation rule configuration: one document per city ("*" = default), versioned in the database."""
from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

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


class LeadCaps(BaseModel):
    """At most this many leads received a day / a week (Monday to Sunday) in the city's time zone; null: no cap."""

    model_config = ConfigDict(extra="forbid")
    max_leads_per_day: bounded_integer(ge=1, le=1000) | None = None
    max_leads_per_week: bounded_integer(ge=1, le=10000) | None = None


class TeamCaps(LeadCaps):
    """A team's default caps for its RMs who have none of their own."""

    team_id: UUID


class RebalanceRules(BaseModel):
    """Issue 17, PRD §11.3: the `rebalance` job moves PENDING leads from the most to the least loaded comparable
    RMs of a team while the coefficient of variation of their active leads exceeds `max_cv` (PRD §9.3: 15%)."""

    model_config = ConfigDict(extra="forbid")
    enabled: Boolean = False
    max_cv: bounded_number(ge=0.01, le=5) = 0.15
    min_sla_minutes_left: bounded_integer(ge=0, le=7 * 24 * 60) = Field(
        default=30, description="a lead with less time than this before its SLA deadline is never moved")


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
    max_leads_per_day: bounded_integer(ge=1, le=1000) | None = Field(
        default=None, description="the city's default daily cap for RMs without their own or their team's")
    max_leads_per_week: bounded_integer(ge=1, le=10000) | None = Field(
        default=None, description="the city's default weekly cap (week from Monday, in `timezone`)")
    team_caps: list[TeamCaps] = Field(
        default=[], max_length=1000,
        description="per team: default caps of the team's RMs (an RM's own caps come first); the list is "
                    "replaced as a whole")
    rebalance: RebalanceRules = RebalanceRules()
    team_queue_depth_alert: bounded_integer(ge=1, le=100000) | None = Field(
        default=None, description="§2.2.5: alert the supervisor when a team's PENDING leads exceed this (null: "
                                  "RMs' queues only)")
    timezone: Annotated[Text, Field(max_length=64)] = Field(default="UTC", description="for shifts and leave days")

    @field_validator("geographic_widening")
    @classmethod
    def _ordered(cls, levels: list[str]) -> list[str]:
        order = ["LOCALITY", "ZONE", "CITY"]
        if len(set(levels)) != len(levels) or levels != sorted(levels, key=order.index):
            raise ValueError("levels must be distinct and in the order LOCALITY, ZONE, CITY")
        return levels

    @field_validator("team_caps")
    @classmethod
    def _one_entry_per_team(cls, entries: list[TeamCaps]) -> list[TeamCaps]:
        if len({e.team_id for e in entries}) != len(entries):
            raise ValueError("one entry per team_id")
        return entries

    def caps_of_team(self, team_id: UUID | None) -> LeadCaps | None:
        return next((e for e in self.team_caps if e.team_id == team_id), None) if team_id else None

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
