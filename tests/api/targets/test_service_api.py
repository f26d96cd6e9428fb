"""`sales.targets.service.achievement` / `achievement_of`: the stable functions the commissions use (CMR-003
tiers on MONTHLY REVENUE achievement, CMR-004 team bonus on TEAM target status)."""
from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sales.targets import service
from sales.targets.enums import MetricType, PeriodType, TargetStatus, TargetType
from sales.targets.models import sales_targets
from tests.allocation_builders import run_job, set_clock
from tests.api.targets.helpers import TARGETS, sell, start, target, team_of
from tests.checks import fetch

JANUARY = {"metric_type": MetricType.REVENUE, "period_type": PeriodType.MONTHLY, "period_start": date(2026, 1, 1)}


async def test_cmr_003_achievement_is_measured_live_without_writing(client, auth, engine):
    plan = await start(client, auth)
    _, [priya] = await team_of(client, auth.admin, "Priya Patel")
    await target(client, auth.admin, priya["id"], target_value=Decimal("8000.00"))
    await sell(client, auth, plan, rm_id=priya["id"], amount="9000.00", paid_at="2026-01-05T10:00:00Z")
    async with engine.connect() as conn:
        assert await service.achievement(conn, rm_id=uuid.UUID(priya["id"]), **JANUARY) == Decimal("112.50")
        assert await service.achievement(conn, rm_id=uuid.UUID(priya["id"]), metric_type=MetricType.REVENUE,
                                         period_type=PeriodType.MONTHLY, period_start=date(2026, 2, 1)) is None
        assert await service.achievement(conn, rm_id=uuid.uuid4(), **JANUARY) is None
        assert await service.achievement(conn, rm_id=uuid.UUID(priya["id"]), metric_type="REVENUE",
                                         period_type="MONTHLY", period_start=date(2026, 1, 1)) == Decimal("112.50")


async def test_cmr_004_team_target_status_and_a_cancelled_target_is_none(client, auth, engine):
    plan = await start(client, auth)
    team, [priya, arjun] = await team_of(client, auth.admin, "Priya Patel", "Arjun Rao")
    await target(client, auth.admin, team["id"], target_type="TEAM", target_value=Decimal("2000.00"))
    cancelled = await target(client, auth.admin, arjun["id"])
    await client.put(f"{TARGETS}/{cancelled['id']}", json={"status": "CANCELLED"}, headers=auth.admin)
    await sell(client, auth, plan, rm_id=priya["id"], amount="1500.00", paid_at="2026-01-05T10:00:00Z")
    await sell(client, auth, plan, rm_id=arjun["id"], amount="500.00", paid_at="2026-01-06T10:00:00Z")
    async with engine.connect() as conn:
        found = await service.achievement_of(conn, target_type=TargetType.TEAM, assignee_id=uuid.UUID(team["id"]),
                                             **JANUARY)
        assert (found.achieved_value, found.achievement_percentage, found.status) == (
            Decimal("2000.00"), Decimal("100.00"), TargetStatus.ACHIEVED)
        assert await service.achievement(conn, rm_id=uuid.UUID(arjun["id"]), **JANUARY) is None
    await set_clock(client, auth.admin, "2026-02-01T00:00:00Z")
    await run_job(client, auth.admin, "targets-close")
    async with engine.connect() as conn:
        found = await service.achievement_of(conn, target_type=TargetType.TEAM, assignee_id=uuid.UUID(team["id"]),
                                             **JANUARY)
        assert found.status is TargetStatus.ACHIEVED


async def test_targets_refresh_stores_the_figures_for_sql_readers(client, auth, engine):
    plan = await start(client, auth)
    _, [priya] = await team_of(client, auth.admin, "Priya Patel")
    goal = await target(client, auth.admin, priya["id"], target_value=Decimal("1000.00"))
    await sell(client, auth, plan, rm_id=priya["id"], amount="1000.00", paid_at="2026-01-05T10:00:00Z")
    outcome = await run_job(client, auth.admin, "targets-refresh")
    assert (outcome["measured"], outcome["settled"]) == (1, 0)
    [row] = await fetch(engine, sales_targets, sales_targets.c.id == uuid.UUID(goal["id"]))
    assert (Decimal(str(row.achieved_value)).quantize(Decimal("0.01")), row.status) == (Decimal("1000.00"),
                                                                                        "ACHIEVED")
