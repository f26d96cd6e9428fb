"""Automatic rebalancing (issue 17, PRD §11.3 "unbalanced distribution", §9.3 workload variance < 15%).

The `rebalance` job (off by default; `rebalance.enabled` in a city's rules) looks at each team of the city: when
the coefficient of variation of the active leads of its comparable RMs (regular, ACTIVE, ONLINE, not on leave)
exceeds `rebalance.max_cv`, it moves PENDING (unacted) leads from the most to the least loaded of them, one at a
time, until it is at or under the threshold or no move is possible. A move only goes from an RM to one with at
least two leads fewer (each move lowers the spread), to an RM the engine would let take the lead (availability,
shift, skills, capacity, caps) and who never had it; it never moves a lead twice in a (city) day nor one with
less than `rebalance.min_sla_minutes_left` (30) before its SLA deadline, which the lead keeps.

Concurrency: the old allocation is ended with a conditional UPDATE (still PENDING and unacted: an accept racing
with it wins or the move does), the receiver's slot is claimed with the engine's conditional capacity claim,
each move in a savepoint; a lost race skips that move.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.allocation import repository, rules, service
from sales.allocation.config import AllocationRules
from sales.allocation.enums import AllocationStatus, AllocationType
from sales.core import audit
from sales.leads import repository as leads_repository

REBALANCED = "REBALANCED"
MAX_MOVES = 200


def comparable(members: list[rules.Candidate]) -> list[rules.Candidate]:
    return [m for m in members if not m.is_backup and m.status == "ACTIVE" and m.availability == "ONLINE"
            and not m.leaves]


def spread(members: dict[Any, rules.Candidate]) -> float | None:
    return rules.coefficient_of_variation([m.active_leads for m in members.values()])


def _facts(row: Any) -> rules.Lead:
    return rules.Lead(lead_id=row.lead_id, city=row.lead_city or row.city, zone=row.zone, locality=row.locality,
                      property_type=row.property_type, segment=row.segment,
                      expected_deal_value=row.expected_deal_value, priority=row.priority)


async def _move(conn: AsyncConnection, row: Any, *, donor: rules.Candidate, receiver: rules.Candidate,
                config: AllocationRules, version: int, cv: float, now: datetime) -> bool:
    """Move one PENDING lead from donor to receiver in a savepoint; False (nothing written) on a lost race."""
    today = rules.local_time(now, config.timezone).date()
    daily, weekly = rules.caps(receiver, config)
    step = await conn.begin_nested()
    try:
        if not (await repository.end_if_unacted(conn, row.id, status=AllocationStatus.REASSIGNED.value, now=now)
                and await repository.claim_capacity(conn, receiver.id, today=today, now=now, daily_cap=daily,
                                                    weekly_cap=weekly)):
            await step.rollback()
            return False
        await repository.release_capacity(conn, donor.id)
        await repository.clear_queue_alerts(conn, rm_id=donor.id, team_id=row.team_id, now=now)
        lead = await leads_repository.get(conn, row.lead_id, for_update=True)
        await audit.record(conn, None, action="allocation.rebalanced", entity_type="allocation", entity_id=row.id,
                           at=now, before={"status": row.status, "rm_id": row.rm_id},
                           after={"status": AllocationStatus.REASSIGNED, "reason": REBALANCED,
                                  "to_rm_id": receiver.id})
        reason = (f"rebalanced from {donor.name} ({donor.active_leads} active) to {receiver.name} "
                  f"({receiver.active_leads} active): team spread {cv:.1%} over {config.rebalance.max_cv:.0%}")
        trace = {"outcome": REBALANCED, "rm_id": str(receiver.id), "from_rm_id": str(donor.id), "reason": reason,
                 "rules_version": version, "coefficient_of_variation_before": round(cv, 4),
                 "max_cv": config.rebalance.max_cv}
        await service._create_allocation(  # noqa: SLF001 (the engine's own write path)
            conn, None, lead=lead, rm_id=receiver.id, team_id=receiver.team_id, allocation_type=AllocationType.AUTO,
            reason=reason, now=now, config=config, decision=trace, previous=row, reassignment_reason=REBALANCED,
            sla_deadline=row.sla_deadline)
    except BaseException:
        await step.rollback()
        raise
    await step.commit()
    return True


async def _one_move(conn: AsyncConnection, state: dict[Any, rules.Candidate], *, config: AllocationRules,
                    version: int, cv: float, now: datetime, since: datetime) -> bool:
    guard = now + timedelta(minutes=config.rebalance.min_sla_minutes_left)
    donors = sorted(state.values(), key=lambda c: (-c.active_leads, str(c.id)))
    for donor in donors:
        receivers = [r for r in sorted(state.values(), key=lambda c: (c.active_leads, str(c.id)))
                     if donor.active_leads - r.active_leads >= 2]
        if not receivers:
            continue
        for row in await repository.movable_pending(conn, donor.id, deadline_after=guard, since=since):
            lead = _facts(row)
            had = await repository.rms_who_had_lead(conn, row.lead_id)
            for receiver in receivers:
                if (receiver.id in had or rules.geo_level(lead, receiver) is None
                        or rules.exclusion(lead, receiver, config, now) is not None):
                    continue
                if await _move(conn, row, donor=donor, receiver=receiver, config=config, version=version, cv=cv,
                               now=now):
                    state[donor.id] = replace(donor, active_leads=donor.active_leads - 1)
                    state[receiver.id] = rules.after_allocation(receiver, now)
                    return True
                break  # the lead was acted on or the receiver filled up meanwhile: next lead
    return False


async def rebalance_city(conn: AsyncConnection, city: str, *, now: datetime) -> dict[str, int]:
    config, version, _ = await service.rules_for(conn, city)
    if not config.rebalance.enabled:
        return {"teams": 0, "moved": 0}
    today, since, _ = service.day_bounds(now, config.timezone)
    teams: dict[Any, list[rules.Candidate]] = {}
    for rm in await repository.city_candidates(conn, city=city, today=today):
        if rm.team_id is not None:
            teams.setdefault(rm.team_id, []).append(rm)
    moved = 0
    for members in teams.values():
        state = {m.id: m for m in comparable(members)}
        while moved < MAX_MOVES:
            cv = spread(state)
            if cv is None or cv <= config.rebalance.max_cv:
                break
            if not await _one_move(conn, state, config=config, version=version, cv=cv, now=now, since=since):
                break
            moved += 1
    return {"teams": len(teams), "moved": moved}
