"""Allocation API contract (PRD §3.2.3, §7.2)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from sales.allocation.config import AllocationRules
from sales.allocation.enums import AllocationStatus, AllocationType, DecidedBy
from sales.allocation.rules import TRACE_ALL_UP_TO, TRACE_TOP
from sales.core.fields import Boolean, City, Date, JSONObject, Locality, Text, Zone
from sales.core.money import DecimalNumber, Money
from sales.core.openapi import request_schema_of
from sales.directory.enums import PropertyType, Segment
from sales.pipelines.enums import Source

Reason = Annotated[Text, Field(min_length=1, max_length=1000)]
RuleSource = Literal["CITY", "DEFAULT", "BUILT_IN"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Customer(_Strict):
    id: UUID | None = Field(default=None, description="the customer's platform user id (their token's `sub`; the "
                                                      "user_id of orders, usage, preferences and activity): joins "
                                                      "the lead's pipelines to the customer context")
    name: Annotated[Text, Field(max_length=200)] | None = None
    phone: Annotated[Text, Field(max_length=32)] | None = None
    email: EmailStr | None = None


class LeadAllocationRequest(_Strict):
    lead_id: UUID
    customer: Customer | None = None
    city: City
    zone: Zone | None = None
    locality: Locality
    property_type: PropertyType
    segment: Segment
    expected_deal_value: Money | None = None
    source: Source
    intent: JSONObject | None = None
    rm_id: UUID | None = Field(default=None, description="manual allocation (SUPERVISOR, SALES_ADMIN)")
    override_capacity: Boolean = False
    reason: Reason | None = Field(default=None, description="why; required with override_capacity")

    @model_validator(mode="after")
    def _override_needs_reason(self) -> "LeadAllocationRequest":
        if self.override_capacity and (self.rm_id is None or not self.reason):
            raise ValueError("override_capacity needs rm_id and a reason")
        return self


DECISION = ("the engine's decision trace: outcome, reason, rules version, the lead's facts and `candidates`, each RM "
            "considered with its fate (eligible with its counters, weight, score and rank, or the rule that excluded "
            f"it and why). For a pool (the locality, or the city) of more than {TRACE_ALL_UP_TO} RMs on PostgreSQL, "
            f"`candidates` lists the {TRACE_TOP} best-ranked eligible RMs and `pool` summarizes all of them: "
            "`candidates` (how many), `eligible`, `listed`, `excluded` (count per rule) and `weights` (every eligible "
            "RM's round-robin weight)")


class AllocationRead(BaseModel):
    id: UUID
    lead_id: UUID
    rm_id: UUID
    allocation_type: AllocationType
    allocation_reason: str | None
    decided_by: DecidedBy | None = Field(
        default=None, description="which PRD allocation type settled an engine decision (null when a person chose)")
    priority: int
    status: AllocationStatus
    allocated_at: datetime
    accepted_at: datetime | None
    first_action_at: datetime | None
    sla_deadline: datetime
    is_reassignment: bool
    previous_rm_id: UUID | None
    reassignment_reason: str | None
    created_at: datetime
    updated_at: datetime
    pipeline_id: UUID | None
    team_id: UUID | None
    city: str | None
    over_capacity: bool
    decision: dict[str, Any] | None = Field(default=None, description=DECISION)


class QueuedLead(BaseModel):
    lead_id: UUID
    status: Literal["QUEUED"] = "QUEUED"
    reason: str
    priority: int | None = None
    queued_at: datetime | None = None
    city: str | None = None
    locality: str | None = None
    decision: dict[str, Any] | None = Field(default=None, description=DECISION)


class RejectRequest(_Strict):
    reason: Reason


class ReassignRequest(_Strict):
    to_rm_id: UUID | None = None
    reason: Reason
    reset_sla: Boolean = Field(default=True, description="start a fresh SLA window for the new RM")
    override_capacity: Boolean = False


class BulkReassignRequest(_Strict):
    allocation_ids: list[UUID] = Field(min_length=1, max_length=500)
    to_rm_id: UUID | None = None
    reason: Reason
    reset_sla: Boolean = True


class Reallocation(BaseModel):
    """What happened to a lead taken from an RM: a new allocation, or a place in the queue."""
    previous: AllocationRead
    allocation: AllocationRead | None
    queued: QueuedLead | None


class RejectResult(AllocationRead):
    """The rejected allocation (now REASSIGNED) and where its lead went: a new allocation, or the queue."""
    next_allocation: AllocationRead | None
    queued: QueuedLead | None


class ReassignResult(AllocationRead):
    """The lead's new allocation; `previous` is the one it replaced (now REASSIGNED)."""
    previous: AllocationRead


class QueuedReassignment(QueuedLead):
    """Nobody could take the lead (202): it waits in the queue; `previous` is the ended allocation."""
    previous: AllocationRead


class BulkItemResult(BaseModel):
    allocation_id: UUID
    ok: bool
    new_allocation_id: UUID | None = None
    rm_id: UUID | None = None
    status: str | None = None
    error: str | None = None
    code: str | None = None


class BulkReassignResult(BaseModel):
    results: list[BulkItemResult]


class LeadSummary(BaseModel):
    customer_name: str | None
    locality: str | None
    city: str | None
    property_type: str | None
    segment: str | None
    expected_deal_value: DecimalNumber | None


class QueueItem(AllocationRead):
    time_left_seconds: int
    lead: LeadSummary


class RMWorkload(BaseModel):
    rm_id: UUID
    name: str
    team_id: UUID | None
    city: str
    is_backup: bool
    status: str
    availability: str
    active: int
    capacity: int
    utilization: DecimalNumber
    queue_depth: int
    sla_breaches_today: int
    leads_received_today: int
    leads_received_this_week: int = Field(description="since Monday 00:00 in the city's time zone")
    max_leads_per_day: int | None = Field(description="the RM's effective daily cap (own, team or city default)")
    max_leads_per_week: int | None = Field(description="the RM's effective weekly cap (own, team or city default)")
    cap_reached: Literal["DAILY_CAP", "WEEKLY_CAP"] | None = Field(
        description="the cap that keeps the RM out of allocation until the city's midnight / next Monday")
    over_threshold: bool


class GroupWorkload(BaseModel):
    key: str
    rms: int
    active: int
    capacity: int
    utilization: DecimalNumber
    queue_depth: int
    sla_breaches_today: int
    leads_received_today: int
    coefficient_of_variation: DecimalNumber | None
    over_threshold: bool = Field(default=False, description="a team whose PENDING queue exceeds its city's "
                                                            "team_queue_depth_alert (issue 17)")


class WorkloadRead(BaseModel):
    date: date
    queue_depth_threshold: int
    rms: list[RMWorkload]
    teams: list[GroupWorkload]
    cities: list[GroupWorkload]
    total: GroupWorkload
    queued_leads: int


class RuleSetRead(BaseModel):
    city: str
    version: int
    inherited: bool = Field(description="true when the city has no rules of its own and uses the default ('*')")
    rules: AllocationRules = Field(description="the effective rules: the city's overrides over the default '*'")
    overrides: dict[str, Any] = Field(description="what this rule set stores: for a city, only what differs from "
                                                  "'*'; for '*', what differs from the built-in defaults")
    sources: dict[str, RuleSource] = Field(description="where each effective value comes from, per field (`field` "
                                                       "or `object.key`): CITY, DEFAULT ('*') or BUILT_IN")
    created_by: UUID | None
    created_at: datetime | None


class RuleSetChange(_Strict):
    city: City = "*"
    rules: JSONObject = Field(description="full or partial rules; omitted keys keep their current value",
                              json_schema_extra=request_schema_of(AllocationRules))


class SimulationRequest(_Strict):
    leads: list[LeadAllocationRequest] | None = Field(default=None, max_length=50000)
    from_: Date | None = Field(default=None, alias="from")
    to: Date | None = None
    rules: JSONObject | None = Field(default=None, description="proposed rules for every city; current when absent",
                                     json_schema_extra=request_schema_of(AllocationRules))

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _one_source(self) -> "SimulationRequest":
        if (self.leads is None) == (self.from_ is None and self.to is None):
            raise ValueError("give either leads or a from/to date range")
        if self.from_ and self.to and self.to < self.from_:
            raise ValueError("to must not be before from")
        return self


class SimulatedAllocation(BaseModel):
    lead_id: UUID
    outcome: str
    rm_id: UUID | None
    rm_name: str | None
    geo_level: str | None
    priority: int
    reason: str


class SimulatedRM(BaseModel):
    rm_id: UUID
    name: str
    city: str
    received: int
    active_after: int
    capacity: int


class SimulationResult(BaseModel):
    leads: int
    allocated: int
    overflow: int
    queued: int
    allocations: list[SimulatedAllocation]
    distribution: list[SimulatedRM]
    coefficient_of_variation: DecimalNumber | None
    variance: DecimalNumber | None


class FairnessRM(BaseModel):
    """One RM's line of the fairness ledger (issue 17)."""
    rm_id: UUID
    name: str
    team_id: UUID | None
    city: str
    is_backup: bool
    status: str
    comparable: bool = Field(description="a regular ACTIVE RM: counted in the coefficient of variation")
    leads_received: int = Field(description="allocations made to the RM in the period (engine and manual)")
    manual_received: int = Field(description="of which MANUAL (a supervisor's choice)")
    expected_share: DecimalNumber = Field(description="the sum, over the period's engine decisions, of the RM's "
                                                      "weight / the weights of the RMs eligible at that moment "
                                                      "(availability, shifts, capacity and caps), plus their "
                                                      "manual allocations")
    deficit: DecimalNumber = Field(description="expected_share - leads_received: positive = behind their share")


class FairnessGroup(BaseModel):
    city: str
    team_id: UUID | None
    rms: int
    leads_received: int
    coefficient_of_variation: DecimalNumber | None = Field(
        description="standard deviation / mean of leads received among the group's comparable RMs")


class FairnessRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: datetime = Field(alias="from")
    to: datetime
    team_id: UUID | None
    city: str | None
    rms: list[FairnessRM]
    coefficient_of_variation: DecimalNumber | None = Field(
        description="standard deviation / mean of leads received among the comparable RMs shown")
    groups: list[FairnessGroup] = Field(description="per city and team")
