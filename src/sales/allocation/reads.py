"""Read models of allocation: an RM's queue and the workload room."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.allocation import repository, rules
from sales.allocation.config import AllocationRules
from sales.allocation.schemas import (AllocationRead, GroupWorkload, LeadSummary, QueuedLead, QueueItem, RMWorkload,
                                      WorkloadRead)
from sales.allocation.service import combine_rules, combined_rules, day_bounds, lead_cities_in_scope
from sales.core.auth import Principal
from sales.core.http import money_fragment
from sales.core.pii import cipher
from sales.directory.errors import RMNotFound
from sales.directory.scoping import scope_kind, scope_params


async def rm_queue(conn: AsyncConnection, principal: Principal, *, rm_id: UUID, now: datetime,
                   wire: bool = False) -> list[Any]:
    """An RM's live leads by priority then SLA deadline, with the time left (negative once overdue).

    `QueueItem`s, or with `wire=True` (the HTTP answer only) dicts in `QueueItem`'s field order with ids as `str`
    and money as `money_fragment`: the same JSON bytes, without a model per row and orjson's `default=` per value
    (issue 19)."""
    rows = await repository.queue_if_visible(conn, principal, rm_id)
    if rows is None:  # 404 outside the caller's scope
        raise RMNotFound(f"RM {rm_id} not found")
    if not rows:
        return []
    aead = cipher()
    build = _queue_wire_builder(rows[0]._fields) if wire else _queue_item
    return [build(row, aead.decrypt(row.customer_name), int((row.sla_deadline - now).total_seconds()))
            for row in rows]


def _queue_item(row: Any, customer_name: str | None, left: int) -> QueueItem:
    m = row._mapping
    lead = LeadSummary(customer_name=customer_name, locality=m["locality"], city=m["lead_city"],
                       property_type=m["property_type"], segment=m["segment"],
                       expected_deal_value=m["expected_deal_value"])
    return QueueItem(**{name: m[name] for name in _ALLOCATION_FIELDS if name in m}, time_left_seconds=left,
                     lead=lead)


_ALLOCATION_FIELDS = tuple(AllocationRead.model_fields)
_LEAD_COLUMNS = ("locality", "lead_city", "property_type", "segment", "expected_deal_value")


def _queue_wire_builder(fields: tuple[str, ...]) -> Callable[[Any, str | None, int], dict[str, Any]]:
    """A function turning queue rows with these `fields` into wire items, each field's position found once per
    result (a mapping look-up per field and row cost more than the rest of the item, and a field the statement does
    not select, the decision trace, raised and caught an error inside SQLAlchemy on every row)."""
    positions = [(name, fields.index(name) if name in fields else None) for name in _ALLOCATION_FIELDS]
    pick_lead = itemgetter(*(fields.index(name) for name in _LEAD_COLUMNS))

    def build(row: Any, customer_name: str | None, left: int) -> dict[str, Any]:
        item: dict[str, Any] = {}
        for name, position in positions:  # absent columns (the decision trace) are their defaults: None
            value = None if position is None else row[position]
            item[name] = str(value) if isinstance(value, UUID) else value
        locality, city, property_type, segment, value = pick_lead(row)
        item["time_left_seconds"] = left
        item["lead"] = {"customer_name": customer_name, "locality": locality, "city": city,
                        "property_type": property_type, "segment": segment,
                        "expected_deal_value": None if value is None else money_fragment(value)}
        return item

    return build


def _pct(part: int, whole: int) -> Decimal:
    return (Decimal(part * 100) / whole).quantize(Decimal("0.01")) if whole else Decimal("0.00")


def _group(key: str, members: list[RMWorkload], threshold: int | None = None) -> GroupWorkload:
    regular = [m.leads_received_today for m in members if not m.is_backup and m.status == "ACTIVE"]
    cv = rules.coefficient_of_variation(regular)
    active, capacity = sum(m.active for m in members), sum(m.capacity for m in members)
    return GroupWorkload(key=key, rms=len(members), active=active, capacity=capacity,
                         utilization=_pct(active, capacity), queue_depth=sum(m.queue_depth for m in members),
                         sla_breaches_today=sum(m.sla_breaches_today for m in members),
                         leads_received_today=sum(m.leads_received_today for m in members),
                         coefficient_of_variation=Decimal(str(round(cv, 4))) if cv is not None else None,
                         over_threshold=threshold is not None and sum(m.queue_depth for m in members) > threshold)


def _rm_workload(r: Any, config: AllocationRules, now: datetime, threshold: int) -> RMWorkload:
    """One RM's row, with the cap counters as the engine reads them: in the RM's city's time zone."""
    today = rules.local_time(now, config.timezone).date()
    counted = rules.Candidate(
        id=r.id, name=r.name, team_id=r.team_id, city=r.city, zone=None, localities=(), property_types=(),
        segments=(), max_deal_value=None, capacity=r.capacity, active_leads=r.active_leads, status=r.status,
        availability=r.availability, shifts=(), leaves=(), is_backup=r.is_backup, performance_score=50,
        received_today=r.window_received if r.window_date == today else 0, last_allocated_at=None,
        received_this_week=r.week_received if r.week_start == rules.week_start(today) else 0,
        max_leads_per_day=r.max_leads_per_day, max_leads_per_week=r.max_leads_per_week)
    daily, weekly = rules.caps(counted, config)
    reached = rules.cap_reached(counted, config)
    return RMWorkload(rm_id=r.id, name=r.name, team_id=r.team_id, city=r.city, is_backup=r.is_backup,
                      status=r.status, availability=r.availability, active=r.active_leads, capacity=r.capacity,
                      utilization=_pct(r.active_leads, r.capacity), queue_depth=int(r.queue_depth),
                      sla_breaches_today=int(r.breaches_today), leads_received_today=int(r.received_today),
                      leads_received_this_week=counted.received_this_week, max_leads_per_day=daily,
                      max_leads_per_week=weekly, cap_reached=reached[0] if reached else None,  # type: ignore[arg-type]
                      over_threshold=int(r.queue_depth) > threshold)


async def _rules_of(conn: AsyncConnection, current: dict[str, UUID], keys: set[str]) -> dict[str, AllocationRules]:
    """`rules_for(key)[0]` for each city key, from the current rule sets' ids (`current`: city -> id); reads only
    the configs this process has not combined yet."""
    pairs = {key: (current.get("*"), current.get(key) if key != "*" else None) for key in keys}
    missing = {pair for pair in pairs.values() if combined_rules(*pair) is None}
    if missing:
        configs = await repository.rule_configs(conn, [i for pair in missing for i in pair if i is not None])
        for star, own in missing:
            combine_rules(star, configs.get(star) if star else None, own, configs.get(own) if own else None)
    return {key: combined_rules(*pair) for key, pair in pairs.items()}


async def workload(conn: AsyncConnection, principal: Principal, *, now: datetime, team_id: UUID | None = None,
                   city: str | None = None) -> WorkloadRead:
    """Per RM, team and city: load, utilization, queue depth, SLA breaches and leads received today, and how
    evenly today's leads were spread (coefficient of variation among active regular RMs).

    Two round trips (issue 19): the current rule sets' ids with the caller's team cities, then the RMs' rows
    with the count of queued leads, through statements built once per kind of scope."""
    current, team_cities = await repository.rule_ids_and_team_cities(
        conn, None if principal.reads_org_wide else principal.supervised_teams)
    asked = rules.norm(city or "*")
    config = (await _rules_of(conn, current, {asked}))[asked]
    today, start, end = day_bounds(now, config.timezone)
    queue_cities = _narrowed(None if principal.reads_org_wide else {rules.norm(c) for c in team_cities}, city)
    kind = scope_kind(principal)
    rows, queued = await repository.workload_with_queued(
        conn, kind=kind, params=scope_params(principal, kind), team_id=team_id, city=city, day_start=start,
        day_end=end, queue_cities=queue_cities)
    threshold = config.queue_depth_alert
    city_rules = await _rules_of(conn, current, {rules.norm(r.city) for r in rows})
    per_rm = [_rm_workload(r, city_rules[rules.norm(r.city)], now, city_rules[rules.norm(r.city)].queue_depth_alert)
              for r in rows]
    by_team: dict[str, list[RMWorkload]] = defaultdict(list)
    by_city: dict[str, list[RMWorkload]] = defaultdict(list)
    for item in per_rm:
        by_team[str(item.team_id) if item.team_id else "none"].append(item)
        by_city[item.city].append(item)
    return WorkloadRead(
        date=today, queue_depth_threshold=threshold, rms=per_rm,
        teams=[_group(k, v, city_rules[rules.norm(v[0].city)].team_queue_depth_alert if k != "none" else None)
               for k, v in sorted(by_team.items())],
        cities=[_group(k, v) for k, v in sorted(by_city.items())],
        total=_group("total", per_rm),
        queued_leads=queued,
    )


def _narrowed(cities: set[str] | None, city: str | None) -> set[str] | None:
    """The caller's lead cities (None = all), narrowed to `city` when one is asked for: never wider."""
    if city is None:
        return cities
    return {rules.norm(city)} if cities is None else cities & {rules.norm(city)}


async def _queue_cities(conn: AsyncConnection, principal: Principal, city: str | None) -> set[str] | None:
    return _narrowed(await lead_cities_in_scope(conn, principal), city)


async def list_queued_leads(conn: AsyncConnection, principal: Principal, *, city: str | None = None,
                            limit: int = 100) -> list[QueuedLead]:
    """Leads waiting for capacity (LAR-007), highest priority then oldest: every city for org-wide roles,
    a supervisor's team cities otherwise."""
    cities = await _queue_cities(conn, principal, city)
    rows = await repository.queued_leads(conn, limit=limit, lock=False, cities=cities)
    return [QueuedLead(lead_id=r.id, reason=r.queue_reason or "", priority=r.priority, queued_at=r.queued_at,
                       city=r.city, locality=r.locality) for r in rows]
