"""Fairness (issue 17, PRD §2.2.5, §9.3): re-entering round robin without a burst, and the fairness ledger.

Return: LAR-004 ranks RMs by (received today + 1) / weight, so an RM back from OFFLINE/INACTIVE in the middle
of the day would get every lead until they caught up with those who worked while they were away. On return
their round-robin offset for the day is set so that they stand level with the comparable RM furthest behind
(among the available RMs not held back by a cap who share a locality with them; else their zone, else city);
the offset counts only for the deficit order, never for the daily or weekly caps.

Ledger: per RM over a period, the leads received, the expected share and the deficit. Each engine decision
stored its candidates; the lead's expected share goes to the RMs who were eligible for it at that moment
(available, on shift, under capacity and caps, matching the level reached) in proportion to their round-robin
weights, so an RM who was away, full or capped is expected nothing of that lead. A MANUAL allocation (a
supervisor's choice, no competition) is expected of the RM who got it. deficit = expected share - received:
positive means behind their share.
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.allocation import repository, rules
from sales.allocation.config import AllocationRules
from sales.allocation.schemas import FairnessGroup, FairnessRead, FairnessRM
from sales.allocation.service import day_bounds, rules_for
from sales.core import audit, hooks
from sales.core.auth import Principal
from sales.core.errors import InvalidInput
from sales.directory import repository as directory_repository, service as directory_service

CENTS = Decimal("0.01")


# --- return without a burst ---------------------------------------------------------------------

def base_weight(rm: rules.Candidate, config: AllocationRules) -> float:
    """The LAR-004 weight without the LAR-005 boost (which depends on the lead)."""
    return max(rm.capacity / 25 if config.capacity_weighted_round_robin else 1.0, 1e-6)


def return_offset(rm: rules.Candidate, others: list[rules.Candidate], config: AllocationRules) -> int:
    """Leads to count for `rm` today so that their deficit stands level with the comparable RM furthest behind:
    floor(min over others of (received + offset) / weight * rm's weight) - received, never below 0."""
    if not others:
        return 0
    level = min((o.received_today + o.fairness_offset) / base_weight(o, config) for o in others)
    return max(0, math.floor(level * base_weight(rm, config) + 1e-9) - rm.received_today)


def _comparable(rm: rules.Candidate, other: rules.Candidate) -> bool:
    return (other.id != rm.id and other.is_backup == rm.is_backup and other.status == "ACTIVE"
            and other.availability == "ONLINE" and not other.leaves)


def peers(rm: rules.Candidate, candidates: list[rules.Candidate], config: AllocationRules) -> list[rules.Candidate]:
    """The RMs the returning one competes with (LAR-001 pools): available, not held back by a cap, sharing a
    locality with them; else in their zone; else in their city."""
    pool = [c for c in candidates if _comparable(rm, c) and rules.cap_reached(c, config) is None]
    mine = {rules.norm(loc) for loc in rm.localities}
    local = [c for c in pool if mine & {rules.norm(loc) for loc in c.localities}]
    zone = [c for c in pool if rm.zone and c.zone and rules.norm(c.zone) == rules.norm(rm.zone)]
    return local or zone or pool


@hooks.subscribe("rm.available")
async def rejoin_round_robin(conn: AsyncConnection, *, principal: Principal | None, rm_id: UUID,
                             team_id: UUID | None, city: str, now: datetime) -> None:
    """Issue 17: an RM back ONLINE and ACTIVE re-enters round robin level with the comparable RMs of their city."""
    config, _, _ = await rules_for(conn, city)
    today = rules.local_time(now, config.timezone).date()
    candidates = await repository.city_candidates(conn, city=city, today=today)
    rm = next((c for c in candidates if c.id == rm_id), None)
    if rm is None:
        return
    offset = return_offset(rm, peers(rm, candidates, config), config)
    if offset <= rm.fairness_offset:
        return
    await repository.set_round_robin_offset(conn, rm_id, today=today, offset=offset)
    await audit.record(conn, principal, action="rm.round_robin_rejoined", entity_type="rm", entity_id=rm_id, at=now,
                       before={"fairness_offset": rm.fairness_offset},
                       after={"fairness_offset": offset, "date": today.isoformat()})


# --- the ledger ---------------------------------------------------------------------------------

def expected_shares(rm_id: UUID, allocation_type: str, decision: dict[str, Any] | None) -> dict[UUID, Fraction]:
    """How one allocation is expected to be shared: among the eligible candidates of its engine decision by
    weight; all of it to the RM for a manual allocation or a decision without candidates."""
    pool = (decision or {}).get("pool")
    if pool is not None:  # a large locality: the trace lists the best-ranked, the pool weighs every eligible RM
        weights = {UUID(rm_id): Fraction(str(weight)) for rm_id, weight in pool["weights"].items()}
    else:
        weights = {UUID(c["rm_id"]): Fraction(str(c["weight"]))
                   for c in (decision or {}).get("candidates", []) if c.get("eligible") and "weight" in c}
    total = sum(weights.values())
    if allocation_type == "MANUAL" or not total:
        return {rm_id: Fraction(1)}
    return {rm: w / total for rm, w in weights.items()}


def _cv(counts: list[int]) -> Decimal | None:
    cv = rules.coefficient_of_variation(counts)
    return Decimal(str(round(cv, 4))) if cv is not None else None


def _instant(value: datetime | date, timezone: str, *, end: bool) -> datetime:
    """A timestamp as given; a date as the start (or the last instant) of that day in the city's time zone."""
    if isinstance(value, datetime):
        return value
    midnight = datetime.combine(value + timedelta(days=1) if end else value, time.min, tzinfo=ZoneInfo(timezone))
    return (midnight - timedelta(microseconds=1) if end else midnight).astimezone(UTC)


async def ledger(conn: AsyncConnection, principal: Principal, *, team_id: UUID | None, city: str | None,
                 from_: datetime | date | None, to: datetime | date | None, now: datetime) -> FairnessRead:
    """GET /allocations/fairness: the RMs the caller may see (a supervisor's teams, everyone for org-wide roles),
    narrowed to a team (404 outside the caller's scope) and/or a city; the period defaults to today so far in
    the city's time zone (the default rules' when no city is given)."""
    if team_id is not None:
        await directory_service.get_team(conn, principal, team_id=team_id)
    config, _, _ = await rules_for(conn, city or "*")
    end = _instant(to, config.timezone, end=True) if to is not None else now
    start = _instant(from_, config.timezone, end=False) if from_ is not None else day_bounds(now, config.timezone)[1]
    if start >= end:
        raise InvalidInput(("from",), "from must be before to")
    shown = await repository.ledger_rms(conn, scope=directory_repository.readable_rms(principal), team_id=team_id,
                                        city=city)
    received: Counter[UUID] = Counter()
    manual: Counter[UUID] = Counter()
    expected: defaultdict[UUID, Fraction] = defaultdict(Fraction)
    if shown:
        rows = await repository.ledger_allocations(conn, rm_ids=[r.id for r in shown],
                                                   cities=sorted({rules.norm(r.city) for r in shown}),
                                                   start=start, end=end)
        for row in rows:
            received[row.rm_id] += 1
            manual[row.rm_id] += row.allocation_type == "MANUAL"
            for rm_id, share in expected_shares(row.rm_id, row.allocation_type, row.decision).items():
                expected[rm_id] += share
    items = [FairnessRM(rm_id=r.id, name=r.name, team_id=r.team_id, city=r.city, is_backup=r.is_backup,
                        status=r.status, comparable=not r.is_backup and r.status == "ACTIVE",
                        leads_received=received[r.id], manual_received=manual[r.id],
                        expected_share=_cents(expected[r.id]), deficit=_cents(expected[r.id] - received[r.id]))
             for r in shown]
    groups: defaultdict[tuple[str, str], list[FairnessRM]] = defaultdict(list)
    for item in items:
        groups[(rules.norm(item.city), str(item.team_id) if item.team_id else "")].append(item)
    return FairnessRead(
        **{"from": start}, to=end, team_id=team_id, city=rules.norm(city) if city else None, rms=items,
        coefficient_of_variation=_cv([i.leads_received for i in items if i.comparable]),
        groups=[FairnessGroup(city=key[0], team_id=members[0].team_id, rms=len(members),
                              leads_received=sum(m.leads_received for m in members),
                              coefficient_of_variation=_cv([m.leads_received for m in members if m.comparable]))
                for key, members in sorted(groups.items())])


def _cents(value: Fraction) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(CENTS)
