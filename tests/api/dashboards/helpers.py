"""Builders for the dashboard tests (issue 18): facts written straight into the other domains' tables with the
instants and amounts a hand-computed data set needs."""
from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from sales.allocation.models import rm_allocations
from sales.commissions.models import commissions
from sales.leads.models import leads
from sales.dashboards import repository as dashboards_repository
from sales.pipelines.models import pipeline_stage_history, sales_pipelines
from sales.upsell.models import upsells
from tests.api.targets.helpers import at
from tests.builders import API

DASHBOARDS = f"{API}/dashboards"


async def allocation(engine, *, rm_id: str, allocated_at: str, sla_deadline: str,
                     first_action_at: str | None = None) -> None:
    async with engine.begin() as conn:
        await conn.execute(rm_allocations.insert().values(
            id=uuid.uuid4(), lead_id=uuid.uuid4(), rm_id=uuid.UUID(rm_id), allocation_type="AUTO", priority=3,
            status="ACCEPTED" if first_action_at else "PENDING", allocated_at=at(allocated_at),
            first_action_at=at(first_action_at) if first_action_at else None, sla_deadline=at(sla_deadline),
            is_reassignment=False, created_at=at(allocated_at), updated_at=at(allocated_at)))


async def commission_line(engine, *, rm_id: str, status: str, amount: str, period: str = "2026-01",
                          disputed: bool = False) -> None:
    sale_at = at(f"{period}-10T10:00:00Z")
    async with engine.begin() as conn:
        await conn.execute(commissions.insert().values(
            id=uuid.uuid4(), rm_id=uuid.UUID(rm_id), transaction_id=uuid.uuid4(), transaction_type="SUBSCRIPTION_NEW",
            commission_type="FIXED", kind="SALE", base_amount=Decimal(amount), commission_rate=Decimal("0"),
            commission_amount=Decimal(amount), final_amount=Decimal(amount), status=status, period=period,
            sale_at=sale_at, earned_at=sale_at, rule="test", explanation={"text": "test", "inputs": {}},
            exception_reasons=[], dedupe_key=uuid.uuid4().hex, created_at=sale_at, updated_at=sale_at,
            disputed_at=sale_at if disputed else None))


async def journey(engine, *, rm_id: str, created_at: str, moves: list[tuple[str, str]], deal_value: str) -> None:
    """A pipeline created at `created_at` that went through `moves` [(stage, instant)...]."""
    pipeline_id = uuid.uuid4()
    last_stage, last_at = moves[-1]
    outcome = {"CLOSED_WON": "WON", "CLOSED_LOST": "LOST"}.get(last_stage, "PENDING")
    async with engine.begin() as conn:
        await conn.execute(sales_pipelines.insert().values(
            id=pipeline_id, lead_id=uuid.uuid4(), rm_id=uuid.UUID(rm_id), stage=last_stage, source="INBOUND_CALL",
            deal_value=Decimal(deal_value), outcome=outcome, sla_deadline=at(created_at),
            stage_changed_at=at(last_at), created_at=at(created_at), updated_at=at(last_at)))
        for stage, when in moves:
            await conn.execute(pipeline_stage_history.insert().values(pipeline_id=pipeline_id, from_stage=None,
                                                                      to_stage=stage, changed_at=at(when)))
        await dashboards_repository.learn_closed(conn, pipeline_id)  # as the closing move's hook does


async def customer_pipeline(engine, *, rm_id: str, customer_id: uuid.UUID, created_at: str) -> None:
    """An open pipeline of the RM for the platform user `customer_id` (through its lead), created at `created_at`."""
    lead_id = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(leads.insert().values(id=lead_id, customer_id=customer_id, allocation_status="ALLOCATED",
                                                 sla_breaches=0, created_at=at(created_at), updated_at=at(created_at)))
        await conn.execute(sales_pipelines.insert().values(
            id=uuid.uuid4(), lead_id=lead_id, rm_id=uuid.UUID(rm_id), stage="CONTACTED", source="INBOUND_CALL",
            outcome="PENDING", sla_deadline=at(created_at), stage_changed_at=at(created_at), created_at=at(created_at),
            updated_at=at(created_at)))


async def upsell(engine, *, user_id: uuid.UUID, presented_at: str, converted: bool) -> None:
    """An upsell offered to the user, presented at `presented_at`, converted a day later or not."""
    shown = at(presented_at)
    async with engine.begin() as conn:
        await conn.execute(upsells.insert().values(
            id=uuid.uuid4(), user_id=user_id, user_type="OWNER", target_plan_id=uuid.uuid4(), trigger_event="test",
            status="CONVERTED" if converted else "PRESENTED", channel="IN_APP_BANNER", presented_at=shown,
            converted_at=shown + timedelta(days=1) if converted else None, created_at=shown, updated_at=shown))
