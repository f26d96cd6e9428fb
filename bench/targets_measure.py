#!/usr/bin/env python3
"""Issue 13's measurement: what measuring targets costs at the PRD's scale (§8.2: 1,000 RMs, 100,000 sales a month).

    SALES_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/<an empty database> \
        .venv/bin/python bench/targets_measure.py

Seeds (on an EMPTY database; it migrates it) 1,000 RMs in 50 teams of one city, 100,000 orders and 20,000 won
pipelines in January 2026 (plus as many in December, as noise), 40,000 allocations, one MONTHLY REVENUE and one
CONVERSION_RATE target per RM and per team; then times (median of 5): a team leaderboard (20 RMs), the city
leaderboard (1,000 RMs), a team target's measurement, a page of 50 targets, and one targets-refresh run.
"""
from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import insert, select

from sales import migrate
from sales.allocation.models import rm_allocations
from sales.catalog.models import plans
from sales.core.auth import Principal, Role
from sales.core.db import create_engine, unit_of_work
from sales.directory.models import rms, teams
from sales.orders.models import orders
from sales.pipelines.models import pipeline_stage_history, sales_pipelines
from sales.settings import Settings
from sales.targets import service
from sales.targets.enums import LeaderboardScope, MetricType, PeriodType, TargetType
from sales.targets.models import sales_targets

RMS, TEAMS, ORDERS, DEALS, ALLOCATIONS = 1000, 50, 100_000, 20_000, 40_000
JAN = datetime(2026, 1, 1, tzinfo=UTC)
ADMIN = Principal(sub=uuid.uuid4(), roles=frozenset({Role.SALES_ADMIN}))


def _at(rng: random.Random, month_start: datetime) -> datetime:
    return month_start + timedelta(seconds=rng.randrange(31 * 86400))


async def seed(engine) -> tuple[list[uuid.UUID], list[uuid.UUID]]:  # type: ignore[no-untyped-def]
    rng = random.Random(13)
    now = JAN
    team_ids = [uuid.uuid4() for _ in range(TEAMS)]
    rm_ids = [uuid.uuid4() for _ in range(RMS)]
    plan_id = uuid.uuid4()
    async with unit_of_work(engine) as conn:
        await conn.execute(insert(plans), [{"id": plan_id, "code": "BENCH", "name": "Bench", "user_type": "TENANT",
                                            "tier": 1, "price": Decimal("1499.00"), "duration_days": 30,
                                            "features": {}, "active": True, "created_at": now, "updated_at": now}])
        await conn.execute(insert(teams), [{"id": t, "name": f"Team {i}", "city": "Bangalore", "created_at": now,
                                            "updated_at": now} for i, t in enumerate(team_ids)])
        await conn.execute(insert(rms), [{"id": r, "name": f"RM {i}", "email": f"rm{i}@x", "city": "Bangalore",
                                          "team_id": team_ids[i % TEAMS], "localities": [], "property_types": [],
                                          "segments": [], "base_salary": Decimal("40000.00"), "status": "ACTIVE",
                                          "availability": "ONLINE", "shifts": [], "created_at": now, "updated_at": now}
                                         for i, r in enumerate(rm_ids)])
        for month in (JAN - timedelta(days=31), JAN):
            batch = []
            for _ in range(ORDERS):
                paid = _at(rng, month)
                batch.append({"order_id": uuid.uuid4(), "user_id": uuid.uuid4(), "user_type": "TENANT",
                              "plan_id": plan_id, "amount": Decimal(rng.randrange(50000, 500000)) / 100,
                              "currency": "INR", "paid_at": paid, "starts_at": paid, "ends_at": paid,
                              "status": "ACTIVE", "transaction_type": "SUBSCRIPTION_NEW",
                              "rm_id": rng.choice(rm_ids), "created_at": paid, "updated_at": paid})
            await conn.execute(insert(orders), batch)
            deals, moves = [], []
            for _ in range(DEALS):
                pid, closed = uuid.uuid4(), _at(rng, month)
                deals.append({"id": pid, "lead_id": uuid.uuid4(), "rm_id": rng.choice(rm_ids), "stage": "CLOSED_WON",
                              "source": "WEBSITE", "deal_value": Decimal(rng.randrange(10000, 90000)),
                              "outcome": "WON", "sla_deadline": closed, "stage_changed_at": closed,
                              "created_at": closed, "updated_at": closed})
                moves.append({"pipeline_id": pid, "to_stage": "CLOSED_WON", "changed_at": closed})
            await conn.execute(insert(sales_pipelines), deals)
            await conn.execute(insert(pipeline_stage_history), moves)
            allocations = []
            for _ in range(ALLOCATIONS // 2):
                at = _at(rng, month)
                allocations.append({"id": uuid.uuid4(), "lead_id": uuid.uuid4(), "rm_id": rng.choice(rm_ids),
                                    "allocation_type": "AUTO", "priority": 3, "status": "COMPLETED",
                                    "allocated_at": at, "first_action_at": at + timedelta(minutes=5),
                                    "sla_deadline": at, "is_reassignment": False, "created_at": at, "updated_at": at})
            await conn.execute(insert(rm_allocations), allocations)
        targets = []
        for metric, value in ((MetricType.REVENUE, Decimal("300000.00")), (MetricType.CONVERSION_RATE, Decimal("40"))):
            for kind, ids, scale in (("INDIVIDUAL", rm_ids, 1), ("TEAM", team_ids, RMS // TEAMS)):
                targets += [{"id": uuid.uuid4(), "target_type": kind, "assignee_id": a, "city": "Bangalore",
                             "period_type": "MONTHLY", "period_start": date(2026, 1, 1),
                             "period_end": date(2026, 1, 31), "metric_type": metric.value,
                             "target_value": value * (scale if metric is MetricType.REVENUE else 1),
                             "achieved_value": Decimal(0), "achievement_percentage": Decimal(0), "status": "ACTIVE",
                             "created_by": ADMIN.sub, "created_at": now, "updated_at": now} for a in ids]
        await conn.execute(insert(sales_targets), targets)
    return rm_ids, team_ids


async def timed(label: str, engine, fn, rounds: int = 5) -> None:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(rounds):
        async with engine.connect() as conn:
            started = time.perf_counter()
            await fn(conn)
            samples.append((time.perf_counter() - started) * 1000)
            await conn.rollback()
    print(f"{label:<58} median {statistics.median(samples):8.1f} ms  (min {min(samples):.1f}, max {max(samples):.1f})")


async def main(url: str) -> None:
    engine = create_engine(Settings(database_url=url))
    started = time.perf_counter()
    if os.environ.get("BENCH_SEEDED"):  # measure again on the data seeded by an earlier run
        async with engine.connect() as conn:
            team_ids = list((await conn.execute(select(teams.c.id).order_by(teams.c.name))).scalars())
    else:
        _, team_ids = await seed(engine)
        print(f"seeded in {time.perf_counter() - started:.0f} s")
    async with engine.connect() as conn:
        await conn.exec_driver_sql("ANALYZE")
        await conn.commit()
    now = datetime(2026, 1, 20, tzinfo=UTC)
    board = dict(metric_type=MetricType.REVENUE, period_type=PeriodType.MONTHLY, period_start=date(2026, 1, 1),
                 now=now)
    await timed("team leaderboard, REVENUE (20 RMs)", engine, lambda c: service.leaderboard(
        c, ADMIN, scope=LeaderboardScope.team, scope_id=str(team_ids[0]), **board))
    await timed("city leaderboard, REVENUE (1,000 RMs)", engine, lambda c: service.leaderboard(
        c, ADMIN, scope=LeaderboardScope.city, scope_id="Bangalore", **board))
    await timed("city leaderboard, CONVERSION_RATE (1,000 RMs)", engine, lambda c: service.leaderboard(
        c, ADMIN, scope=LeaderboardScope.city, scope_id="Bangalore",
        **{**board, "metric_type": MetricType.CONVERSION_RATE}))
    await timed("one team target (REVENUE, 20 members)", engine, lambda c: service.achievement_of(
        c, target_type=TargetType.TEAM,
        assignee_id=team_ids[0], metric_type=MetricType.REVENUE, period_type=PeriodType.MONTHLY,
        period_start=date(2026, 1, 1)))
    await timed("GET /targets page of 50 (mixed)", engine, lambda c: service.list_targets(
        c, ADMIN, filters={}, limit=50, cursor=None))
    await timed("targets-refresh (2,100 targets, stores)", engine, lambda c: service.refresh_open(
        c, now=now, settle=False), rounds=3)
    await engine.dispose()


if __name__ == "__main__":
    database_url = os.environ["SALES_DATABASE_URL"]
    migrate.upgrade(database_url)
    asyncio.run(main(database_url))
