"""PRD §8.2: a month of 100,000 commission calculations for 1,000 RMs, measured on PostgreSQL (issue 13).

Seeds 1,000 RMs with a monthly REVENUE target each and versioned plans (SUBSCRIPTION_NEW TIERED 5/7/10 %,
other types PERCENTAGE / FIXED), then feeds 100,000 completed sales of one month through the ledger's own use
case (`commissions.service.record_sale`: plan in force, month revenue and total, tier, CMR-005 cap, CMR-003
adjustment lines for the month's earlier lines), each sale in its own transaction as a consumed event would be,
`workers` at a time. Each sale is first inserted as its order (as the orders domain records it before its
`order.recorded` hook), because the month's revenue achievement is the REVENUE targets' figure, read from orders. Then the month is closed the way finance does it: the `commissions-earn` job (CMR-001),
batch approvals of 500 and one payout. The figures are checked (every line once, no RM-month above its cap,
payout = sum of lines) and printed as JSON.
"""
from __future__ import annotations

import asyncio
import random
import statistics
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, insert, select

from sales.commissions import service
from sales.commissions.models import commission_payouts, commission_plans, commissions
from sales.commissions.schemas import PayoutCreate, PlanCreate
from sales.core.auth import Principal, Role
from sales.core.db import create_engine, unit_of_work
from sales.catalog.models import plans as catalog_plans
from sales.directory.models import rms
from sales.orders.models import orders
from sales.settings import Settings
from sales.targets.models import sales_targets

MONTH_START = datetime(2026, 3, 1, tzinfo=UTC)
EMAIL = "comm.bench.{}@mysqrft.com"
CATALOG_PLAN = uuid.UUID("c0aa1551-0000-4000-8000-00000000be0c")  # the bench's own catalog plan for its orders
TYPES = [("SUBSCRIPTION_NEW", 0.55), ("SUBSCRIPTION_RENEWAL", 0.2), ("SUBSCRIPTION_UPGRADE", 0.1),
         ("SERVICE_BOOKING", 0.1), ("AGREEMENT_EXECUTION", 0.05)]
FINANCE = [Principal(sub=uuid.uuid4(), roles=frozenset({Role.FINANCE_ADMIN})) for _ in range(2)]


async def _reset(engine: Any) -> None:
    async with unit_of_work(engine) as conn:
        await conn.execute(delete(commissions))
        await conn.execute(delete(commission_payouts))
        await conn.execute(delete(commission_plans))
        bench_rms = select(rms.c.id).where(rms.c.email.like(EMAIL.format("%")))
        await conn.execute(delete(orders).where(orders.c.plan_id == CATALOG_PLAN))
        await conn.execute(delete(catalog_plans).where(catalog_plans.c.id == CATALOG_PLAN))
        await conn.execute(delete(sales_targets).where(sales_targets.c.assignee_id.in_(bench_rms)))
        await conn.execute(delete(rms).where(rms.c.email.like(EMAIL.format("%"))))


async def _seed(engine: Any, n_rms: int, rng: random.Random) -> list[uuid.UUID]:
    now = MONTH_START - timedelta(days=1)
    ids = [uuid.uuid4() for _ in range(n_rms)]
    async with unit_of_work(engine) as conn:
        await conn.execute(insert(rms), [{
            "id": rm_id, "name": f"Bench RM {i}", "email": EMAIL.format(i), "phone": None, "team_id": None,
            "city": "bangalore", "zone": "south", "localities": ["koramangala"], "property_types": ["RESIDENTIAL"],
            "segments": ["TENANT"], "capacity": 25, "base_salary": Decimal(30000 + (i % 20) * 2500),
            "status": "ACTIVE", "availability": "ONLINE", "shifts": [], "created_at": now, "updated_at": now}
            for i, rm_id in enumerate(ids)])
        await conn.execute(insert(sales_targets), [{
            "id": uuid.uuid4(), "target_type": "INDIVIDUAL", "assignee_id": rm_id, "period_type": "MONTHLY",
            "period_start": date(2026, 3, 1), "period_end": date(2026, 3, 31), "metric_type": "REVENUE",
            "target_value": Decimal(rng.choice([1500000, 2000000, 2500000])), "achieved_value": Decimal(0),
            "achievement_percentage": Decimal(0), "status": "ACTIVE", "created_by": FINANCE[0].sub,
            "created_at": now, "updated_at": now} for rm_id in ids])
        await conn.execute(insert(catalog_plans).values(
            id=CATALOG_PLAN, code="COMMISSION_BENCH", name="Commission bench", user_type="TENANT", tier=1,
            price=Decimal("1499.00"), duration_days=30, features={}, active=True, created_at=now, updated_at=now))
        admin = FINANCE[0]
        tiers = [{"min_achievement": "0", "rate": "5.00"}, {"min_achievement": "100", "rate": "7.00"},
                 {"min_achievement": "120", "rate": "10.00"}]
        plans = [{"plan_key": "SUBSCRIPTION_NEW", "commission_type": "TIERED", "tiers": tiers},
                 {"plan_key": "SUBSCRIPTION_RENEWAL", "commission_type": "PERCENTAGE", "rate": "3.00"},
                 {"plan_key": "SUBSCRIPTION_UPGRADE", "commission_type": "PERCENTAGE", "rate": "4.00"},
                 {"plan_key": "SERVICE_BOOKING", "commission_type": "FIXED", "amount": "150.00"},
                 {"plan_key": "AGREEMENT_EXECUTION", "commission_type": "FIXED", "amount": "400.00"}]
        for body in plans:
            await service.create_plan(conn, admin, data=PlanCreate.model_validate(
                {**body, "effective_from": "2026-02-01T00:00:00Z"}), now=now)
    return ids


def _sales(ids: list[uuid.UUID], n: int, rng: random.Random) -> list[dict[str, Any]]:
    names, weights = zip(*TYPES)
    seconds = 31 * 86400
    sales = [{"rm_id": rng.choice(ids), "transaction_id": uuid.uuid4(),
              "transaction_type": rng.choices(names, weights)[0],
              "base": Decimal(rng.randint(50000, 5000000)) / 100,
              "sale_at": MONTH_START + timedelta(seconds=rng.randrange(seconds))} for _ in range(n)]
    return sorted(sales, key=lambda s: s["sale_at"])


async def _calculate(engine: Any, sales: list[dict[str, Any]], workers: int) -> dict[str, Any]:
    """Each worker takes the RMs whose index falls to it, in sale order (an RM's writes serialize anyway)."""
    queues: list[list[dict[str, Any]]] = [[] for _ in range(workers)]
    for sale in sales:
        queues[hash(sale["rm_id"]) % workers].append(sale)
    latencies: list[float] = []

    async def work(queue: list[dict[str, Any]]) -> None:
        for sale in queue:
            started = time.perf_counter()
            async with unit_of_work(engine) as conn:
                now = sale["sale_at"] + timedelta(minutes=5)
                await conn.execute(insert(orders).values(
                    order_id=sale["transaction_id"], user_id=uuid.uuid4(), user_type="TENANT", plan_id=CATALOG_PLAN,
                    amount=sale["base"], currency="INR", paid_at=sale["sale_at"], starts_at=sale["sale_at"],
                    ends_at=sale["sale_at"] + timedelta(days=30), status="ACTIVE", refunded_amount=Decimal(0),
                    transaction_type=sale["transaction_type"], rm_id=sale["rm_id"], created_at=now, updated_at=now))
                await service.record_sale(conn, **sale, customer_id=None, source="bench", now=now)
            latencies.append(time.perf_counter() - started)
            if len(latencies) % 10_000 == 0:
                print(f"{len(latencies)} sales calculated in {time.perf_counter() - begun:.0f} s", file=sys.stderr,
                      flush=True)

    started = begun = time.perf_counter()
    await asyncio.gather(*(work(q) for q in queues))
    wall = time.perf_counter() - started
    latencies.sort()
    return {"seconds": round(wall, 1), "per_second": round(len(sales) / wall, 1),
            "p50_ms": round(statistics.median(latencies) * 1000, 2),
            "p95_ms": round(latencies[int(len(latencies) * 0.95)] * 1000, 2),
            "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2)}


async def _close_month(engine: Any) -> dict[str, Any]:
    now = datetime(2026, 5, 1, tzinfo=UTC)  # every March sale is 30 days old
    started, earned = time.perf_counter(), 0
    while True:
        async with unit_of_work(engine) as conn:
            done = await service.earn_due(conn, now=now)
        earned += done
        if not done:
            break
    earn_seconds = time.perf_counter() - started
    async with engine.connect() as conn:
        ids = [r[0] for r in await conn.execute(select(commissions.c.id).where(commissions.c.status == "EARNED"))]
    started, approved, first = time.perf_counter(), 0, []
    for i in range(0, len(ids), 500):
        async with unit_of_work(engine) as conn:
            result = await service.batch_approve(conn, FINANCE[0], ids=ids[i:i + 500], now=now)
        approved += sum(item.outcome == "APPROVED" for item in result.items)
        first += [item.id for item in result.items if item.outcome == "FIRST_APPROVAL"]
    for i in range(0, len(first), 500):
        async with unit_of_work(engine) as conn:
            result = await service.batch_approve(conn, FINANCE[1], ids=first[i:i + 500], now=now)
        approved += len(result.items)
    approve_seconds = time.perf_counter() - started
    started = time.perf_counter()
    async with unit_of_work(engine) as conn:
        payout = await service.pay(conn, FINANCE[0], data=PayoutCreate(period="2026-03", reference="BENCH-MAR"),
                                   now=now)
    pay_seconds = time.perf_counter() - started
    return {"earned": earned, "earn_seconds": round(earn_seconds, 1), "approved": approved,
            "exceptions_second_approval": len(first), "approve_seconds": round(approve_seconds, 1),
            "paid_lines": payout.lines, "payout_total": str(payout.total), "pay_seconds": round(pay_seconds, 1)}


async def _check(engine: Any) -> dict[str, Any]:
    c = commissions.c
    async with engine.connect() as conn:
        by_kind = dict((await conn.execute(select(c.kind, func.count()).group_by(c.kind))).all())
        total = (await conn.execute(select(func.sum(c.final_amount)))).scalar()
        month = (select(c.rm_id, func.sum(c.final_amount).label("total")).group_by(c.rm_id).subquery())
        over_cap = (await conn.execute(select(func.count()).select_from(month).join(rms, rms.c.id == month.c.rm_id)
                                       .where(month.c.total > rms.c.base_salary * 3))).scalar()
        capped = (await conn.execute(select(func.count()).where(c.adjustments.is_not(None)))).scalar()
    return {"lines_by_kind": by_kind, "ledger_total": str(total), "rm_months_over_cap": over_cap,
            "lines_capped": capped}


async def run(settings: Settings, *, rms_count: int, transactions: int, workers: int, seed: int) -> dict[str, Any]:
    engine = create_engine(settings, pool_size=workers + 2)
    rng = random.Random(seed)
    try:
        await _reset(engine)
        ids = await _seed(engine, rms_count, rng)
        sales = _sales(ids, transactions, rng)
        calculated = await _calculate(engine, sales, workers)
        closed = await _close_month(engine)
        checked = await _check(engine)
        if closed["payout_total"] != checked["ledger_total"] or checked["rm_months_over_cap"]:
            raise RuntimeError(f"inconsistent ledger: {closed} {checked}")
        return {"rms": rms_count, "transactions": transactions, "workers": workers, "calculate": calculated,
                "close_month": closed, "check": checked}
    finally:
        await engine.dispose()
