"""Builders for the dashboard tests (issue 18): facts written straight into the other domains' tables with the
instants and amounts a hand-computed data set needs."""
from __future__ import annotations

import uuid
from decimal import Decimal

from sales.allocation.models import rm_allocations
from sales.commissions.models import commissions
from sales.pipelines.models import pipeline_stage_history, sales_pipelines
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
