"""Rule configuration per city (versioned, audited) and the what-if simulation."""
from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime, time, timezone
from decimal import Decimal
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.allocation import inheritance, repository, rules
from sales.allocation.config import AllocationRules
from sales.allocation.schemas import (LeadAllocationRequest, RuleSetChange, RuleSetRead, SimulatedAllocation,
                                      SimulatedRM, SimulationRequest, SimulationResult)
from sales.allocation.service import forget_rules, lead_cities_in_scope, rules_for
from sales.core import audit
from sales.core.auth import Principal
from sales.core.errors import InvalidInput, SalesError
from sales.directory import repository as directory_repository


class InvalidRules(SalesError):
    status_code, code, title = 422, "invalid_rules", "Invalid allocation rules"


def _city_key(city: str) -> str:
    return "*" if city.strip() == "*" else rules.norm(city)


def _read(key: str, own: Any, star: Any) -> RuleSetRead:
    """The effective rules of a city with where each value comes from (issue 17)."""
    row = own if key != "*" else star
    shown = own if own is not None else star
    star_config = star.config if star is not None else None
    own_config = own.config if own is not None and key != "*" else None
    return RuleSetRead(
        city=key, version=shown.version if shown is not None else 0, inherited=key != "*" and own is None,
        rules=inheritance.effective(star_config, own_config), overrides=(row.config if row is not None else {}),
        sources=inheritance.sources(star_config, own_config),
        created_by=shown.created_by if shown is not None else None,
        created_at=shown.created_at if shown is not None else None)


async def get_rules(conn: AsyncConnection, *, city: str) -> RuleSetRead:
    key = _city_key(city)
    own, star = await repository.rule_sets_of(conn, key)
    return _read(key, own, star)


async def list_rules(conn: AsyncConnection) -> list[RuleSetRead]:
    rows = await repository.current_rule_sets(conn)
    star = next((r for r in rows if r.city == "*"), None)
    return [_read(r.city, r, star) for r in rows]


def _merged(current: AllocationRules, change: dict[str, Any]) -> AllocationRules:
    try:
        return AllocationRules.model_validate(inheritance.overlay(current.model_dump(mode="json"), change))
    except ValidationError as exc:
        raise InvalidRules("the proposed rules are invalid", extra={"errors": [
            {"loc": ["body", "rules", *[str(p) for p in e["loc"]]], "msg": e["msg"]} for e in exc.errors()]}) from None


async def put_rules(conn: AsyncConnection, principal: Principal, *, change: RuleSetChange,
                    now: datetime) -> RuleSetRead:
    """Save a new version of a city's rules: the change merges over the current effective rules, and what is
    stored is only what then differs from the default '*' rules (for '*': from the built-in defaults), so a
    later change to the default reaches every city that did not override that field (issue 17). Setting a
    city's field to the default's value drops the override: the city follows the default again."""
    key = _city_key(change.city)
    if not key:
        raise InvalidInput(("city",), "city must not be blank")
    await repository.lock_rules_of_city(conn, key)
    before = await get_rules(conn, city=key)
    proposed = _merged(before.rules, change.rules).model_dump(mode="json")
    if key == "*":
        stored = inheritance.overrides(proposed, AllocationRules().model_dump(mode="json"))
    else:
        _, star = await repository.rule_sets_of(conn, key)
        stored = inheritance.overrides(proposed, inheritance.default_config(star.config if star else None))
    version = await repository.next_rule_version(conn, key)
    await repository.insert_rule_set(conn, {"id": uuid.uuid4(), "city": key, "version": version, "config": stored,
                                            "created_by": principal.sub, "created_at": now})
    forget_rules()
    after = await get_rules(conn, city=key)
    await audit.record(conn, principal, action="allocation_rules.changed", entity_type="allocation_rules",
                       entity_id=key, at=now, before=before.model_dump(mode="json"),
                       after=after.model_dump(mode="json"))
    return after


def _sim_lead(request: LeadAllocationRequest) -> rules.Lead:
    priority, _ = rules.score_lead(expected_deal_value=request.expected_deal_value, segment=request.segment.value,
                                   source=request.source.value, intent=request.intent)
    return rules.Lead(lead_id=request.lead_id, city=request.city, zone=request.zone, locality=request.locality,
                      property_type=request.property_type.value, segment=request.segment.value,
                      expected_deal_value=request.expected_deal_value, priority=priority)


async def simulate(conn: AsyncConnection, principal: Principal, *, request: SimulationRequest,
                   now: datetime) -> SimulationResult:
    """Replay leads through the engine against today's RM loads without writing anything. Only what the
    caller may see takes part: a date range replays the leads of their cities, and the RMs are theirs."""
    if request.leads is not None:
        leads = [_sim_lead(item) for item in request.leads]
    else:
        start = datetime.combine(request.from_ or request.to, time.min, tzinfo=timezone.utc)  # type: ignore[arg-type]
        end = datetime.combine(request.to or request.from_, time.max, tzinfo=timezone.utc)  # type: ignore[arg-type]
        rows = await repository.leads_allocated_between(conn, start, end,
                                                        cities=await lead_cities_in_scope(conn, principal))
        leads = [rules.Lead(lead_id=r.id, city=r.city, zone=r.zone, locality=r.locality,
                            property_type=r.property_type, segment=r.segment,
                            expected_deal_value=r.expected_deal_value, priority=r.priority or 1) for r in rows]
    cities = sorted({rules.norm(lead.city) for lead in leads})
    configs: dict[str, AllocationRules] = {}
    for city in cities:
        current, _, _ = await rules_for(conn, city)
        configs[city] = _merged(current, request.rules) if request.rules else current
    today = now.date()
    pools = await repository.candidates_in_cities(conn, cities=cities, today=today,
                                                  scope=directory_repository.readable_rms(principal))
    results, state = rules.simulate(leads, pools, lambda city: configs[rules.norm(city)], now)
    received = Counter(d.rm_id for _, d in results if d.rm_id is not None)
    names = {rm_id: rm.name for rm_id, rm in state.items()}
    regular = [received.get(rm.id, 0) for rm in state.values() if not rm.is_backup and rm.status == "ACTIVE"]
    cv = rules.coefficient_of_variation(regular)
    mean = sum(regular) / len(regular) if regular else 0
    variance = sum((x - mean) ** 2 for x in regular) / len(regular) if regular else None
    return SimulationResult(
        leads=len(results),
        allocated=sum(d.outcome == "ALLOCATED" for _, d in results),
        overflow=sum(d.outcome == "OVERFLOW" for _, d in results),
        queued=sum(d.outcome == "QUEUED" for _, d in results),
        allocations=[SimulatedAllocation(lead_id=lead.lead_id, outcome=d.outcome, rm_id=d.rm_id,
                                         rm_name=names.get(d.rm_id) if d.rm_id else None, geo_level=d.geo_level,
                                         priority=lead.priority, reason=d.reason) for lead, d in results],
        distribution=[SimulatedRM(rm_id=rm.id, name=rm.name, city=rm.city, received=received.get(rm.id, 0),
                                  active_after=rm.active_leads, capacity=rm.capacity)
                      for rm in sorted(state.values(), key=lambda r: (r.city, r.name, str(r.id)))],
        coefficient_of_variation=Decimal(str(round(cv, 4))) if cv is not None else None,
        variance=Decimal(str(round(variance, 4))) if variance is not None else None,
    )
