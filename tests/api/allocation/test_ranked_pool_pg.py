"""Issue 19: PostgreSQL judges and ranks a large pool (`repository.ranked_candidates`: a locality's RMs, or a
city's at the level each matches the lead's place), chooses the pool as the engine would, and the engine scores
only that pool's best ranked. On random pools the outcome, the choice, the order of the best ranked, the reason,
the decided-by type, the trace entries listed, the per-rule exclusion counts, the pool's weights and the fairness
shares are those of the engine run over every RM (LAR-001 widening, LAR-002, LAR-003, LAR-004, LAR-005, LAR-007,
caps, shifts, leaves, round-robin offsets). A boost of 0.03125 makes weights such as 1.03125, which both round half
away from zero (`rules.trace_weight`)."""
from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import orjson
import pytest
from sqlalchemy import insert

from sales.allocation import fairness, repository, rules
from sales.allocation.config import AllocationRules
from sales.directory.models import rm_leaves, rm_localities, rms, teams
from sales.directory.repository import locality_key

pytestmark = pytest.mark.postgres_only

TIMEZONES = ("UTC", "Asia/Kolkata", "America/New_York")
PROPERTY_TYPES = ("RESIDENTIAL", "COMMERCIAL", "LAND")
SEGMENTS = ("TENANT", "OWNER", "BUYER")
LOCALITIES = ("Block A", "block  a", "Block B", "Block C")
ZONES = (None, "", "North", "north ", "South")
WIDENINGS = (["LOCALITY", "ZONE", "CITY"], ["LOCALITY", "ZONE", "CITY"], ["LOCALITY"], ["LOCALITY", "CITY"], ["ZONE"],
             ["CITY"])


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60 % 24:02d}:{minutes % 60:02d}"


def _shifts(rng: random.Random, local: datetime) -> list[dict]:
    if rng.random() < 0.4:
        return []
    now_minute = local.hour * 60 + local.minute
    shifts = []
    for _ in range(rng.randint(1, 3)):
        weekday = rng.choice([local.weekday(), (local.weekday() - 1) % 7, rng.randrange(7)])
        start = rng.choice([now_minute, now_minute + 1, now_minute - 60, rng.randrange(1440)]) % 1440
        end = rng.choice([now_minute, now_minute + 1, start + 120, start - 120, rng.randrange(1440)]) % 1440
        if start != end:
            shifts.append({"weekday": weekday, "start": _hhmm(start), "end": _hhmm(end)})
    return shifts


def _rm(rng: random.Random, *, city: str, team_ids: list[uuid.UUID], today: date, local: datetime,
        at: datetime, scarce: bool) -> dict:
    """`scarce`: nearly every regular RM is offline (the backup pool, or the queue, takes the lead)."""
    is_backup = rng.random() < (0.3 if scarce else 0.1)
    capacity = rng.choice([0, 1, 8, 20, 25, 25, 25, 32, 40])
    active = rng.randint(0, capacity + 1)
    monday = rules.week_start(today)
    return {
        "id": uuid.uuid4(), "name": f"RM {rng.randrange(10**6)}", "email": f"{uuid.uuid4().hex}@x.test",
        "team_id": rng.choice(team_ids), "city": city, "zone": rng.choice(ZONES),
        "localities": rng.sample(LOCALITIES, rng.randint(1, 2)),
        "property_types": rng.sample(PROPERTY_TYPES, rng.randint(1, 3)),
        "segments": rng.sample(SEGMENTS, rng.randint(1, 3)),
        "max_deal_value": rng.choice([None, None, Decimal("50000.00"), Decimal("150000.00")]),
        "capacity": capacity, "base_salary": Decimal("30000.00"),
        "performance_score": rng.choice([0, 30, 50, 50, 70, 100]),
        "is_backup": is_backup,
        "status": "ACTIVE" if rng.random() < 0.9 else "INACTIVE",
        "availability": "OFFLINE" if (scarce and not is_backup and rng.random() < 0.97) or rng.random() < 0.1
        else "ONLINE",
        "shifts": _shifts(rng, local),
        "active_leads": active, "override_leads": max(0, active - capacity),
        "window_date": rng.choice([today, today, today - timedelta(days=1)]),
        "window_received": rng.randint(0, 4),
        "last_allocated_at": rng.choice([None, at - timedelta(hours=1), at - timedelta(minutes=5)]),
        "max_leads_per_day": rng.choice([None, None, 2, 4]),
        "max_leads_per_week": rng.choice([None, None, 6, 12]),
        "week_start": rng.choice([monday, monday - timedelta(days=7)]), "week_received": rng.randint(0, 14),
        "rr_offset": rng.randint(0, 3), "rr_offset_date": rng.choice([today, today - timedelta(days=1)]),
        "created_at": at, "updated_at": at,
    }


def _rules(rng: random.Random, team_ids: list[uuid.UUID]) -> AllocationRules:
    return AllocationRules.model_validate({
        "timezone": rng.choice(TIMEZONES),
        "geographic_widening": rng.choice(WIDENINGS),
        "overflow_to_backup": rng.random() < 0.8,
        "capacity_weighted_round_robin": rng.random() < 0.7,
        "performance_boost": {"enabled": rng.random() < 0.7, "min_priority": rng.randint(1, 5),
                              "strength": rng.choice([0.25, 0.3, 0.5, 0.95, 0.03125])},
        "skill_match": {"property_type": rng.random() < 0.8, "segment": rng.random() < 0.8,
                        "deal_size": rng.random() < 0.8},
        "max_leads_per_day": rng.choice([None, 3]), "max_leads_per_week": rng.choice([None, 10]),
        "team_caps": [{"team_id": str(t), "max_leads_per_day": rng.choice([None, 1, 3]),
                       "max_leads_per_week": rng.choice([None, 5])} for t in team_ids if rng.random() < 0.5],
    })


async def _city(engine, rng: random.Random, *, city: str, team_ids: list[uuid.UUID], config: AllocationRules,
                now: datetime) -> list[dict]:
    local = rules.local_time(now, config.timezone)
    today = local.date()
    scarce = rng.random() < 0.3
    people = [_rm(rng, city=city, team_ids=team_ids, today=today, local=local, at=now, scarce=scarce)
              for _ in range(rng.randint(30, 120))]
    async with engine.begin() as conn:
        await conn.execute(insert(rms), people)
        await conn.execute(insert(rm_localities), [
            {"rm_id": p["id"], "city": locality_key(city), "locality": key}
            for p in people for key in sorted({locality_key(loc) for loc in p["localities"]})])
        starts = [(p["id"], today + timedelta(days=rng.choice([-2, 0, 1]))) for p in people if rng.random() < 0.15]
        if starts:
            await conn.execute(insert(rm_leaves), [
                {"id": uuid.uuid4(), "rm_id": rm_id, "start_date": start,
                 "end_date": start + timedelta(days=rng.choice([0, 3])), "created_at": now} for rm_id, start in starts])
    return people


def _shares(decision: rules.Decision, lead: rules.Lead) -> dict:
    """The fairness ledger's shares of the trace as stored (a large pool's weights are JSON text until written)."""
    if decision.rm_id is None:
        return {}
    trace = orjson.loads(orjson.dumps(decision.trace(lead=lead, rules_version=1, priority_breakdown={})))
    return fairness.expected_shares(decision.rm_id, "AUTO", trace)


async def test_a_large_pool_ranked_in_sql_gets_the_engines_choice_and_trace(engine):
    """LAR-001 / LAR-002 / LAR-003 / LAR-004 / LAR-005 / LAR-007: 50 random cities of 30-120 RMs, both stages."""
    rng = random.Random(19)
    team_ids = [uuid.uuid4() for _ in range(3)]
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    async with engine.begin() as conn:
        await conn.execute(insert(teams), [{"id": t, "name": f"T{i}", "city": "Rankville", "created_at": at,
                                            "updated_at": at} for i, t in enumerate(team_ids)])
    outcomes: Counter = Counter()
    for scenario in range(50):
        now = at + timedelta(minutes=rng.randrange(7 * 1440))
        config = _rules(rng, team_ids)
        city = f"Rankville {scenario}"
        people = await _city(engine, rng, city=city, team_ids=team_ids, config=config, now=now)
        lead = rules.Lead(lead_id=uuid.uuid4(), city=city, zone=rng.choice(ZONES),
                          locality=rng.choice([None, *LOCALITIES]),
                          property_type=rng.choice([None, *PROPERTY_TYPES]), segment=rng.choice([None, *SEGMENTS]),
                          expected_deal_value=rng.choice([None, Decimal("40000.00"), Decimal("100000.00")]),
                          priority=rng.randint(1, 5))
        exclude = frozenset(p["id"] for p in rng.sample(people, rng.randint(0, 3)))
        inputs = rules.ranking_inputs(lead, config, now, exclude=exclude)
        for in_locality in ([True, False] if lead.locality else [False]):
            async with engine.connect() as conn:
                everyone = await repository.ranked_candidates(conn, city=city, inputs=inputs, in_locality=in_locality,
                                                              list_all_up_to=1000)
                best = await repository.ranked_candidates(conn, city=city, inputs=inputs, in_locality=in_locality,
                                                          list_all_up_to=10)
            assert everyone.counts is None
            if len(everyone.candidates) <= 10:  # a small pool comes back whole
                assert best.candidates == everyone.candidates and best.counts is None
                continue
            assert best.counts is not None and best.counts.size == len(everyone.candidates)
            # only the pool's best come back (and the first RM by id, who carries the counts)
            assert len(best.candidates) <= rules.TRACE_TOP + 1
            full = rules.decide(lead, everyone.candidates, config, now, exclude=exclude)
            top = rules.decide(lead, best.candidates, config, now, exclude=exclude, counts=best.counts)
            outcomes[(in_locality, full.outcome)] += 1
            assert (top.outcome, top.rm_id, top.geo_level, top.reason, top.decided_by) == (
                full.outcome, full.rm_id, full.geo_level, full.reason, full.decided_by)
            assert top.ranking == full.ranking[:rules.TRACE_TOP]
            by_id = {e["rm_id"]: e for e in full.candidates}
            assert top.candidates == [by_id[e["rm_id"]] for e in top.candidates]
            assert len(top.candidates) == len(top.ranking)
            pool = [e for e in full.candidates if e.get("eligible")]
            assert top.pool.excluded == dict(Counter(e["excluded_by"] for e in full.candidates
                                                     if not e.get("eligible")))
            assert top.pool.eligible == len(pool) and top.pool.size == len(everyone.candidates)
            assert orjson.loads(top.pool.weights) == {e["rm_id"]: e["weight"] for e in pool}
            assert _shares(top, lead) == _shares(full, lead)
    # the random pools reach every outcome in both stages
    assert {key for key, n in outcomes.items() if n} >= {(True, "ALLOCATED"), (False, "ALLOCATED"),
                                                         (False, "QUEUED"), (False, "OVERFLOW")}, outcomes
