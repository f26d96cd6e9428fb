"""Builders for the dashboard tests (issue 18): facts written straight into the other domains' tables with the
instants and amounts a hand-computed data set needs."""
from __future__ import annotations

import uuid
from decimal import Decimal

from sales.allocation.models import rm_allocations
from sales.commissions.models import commissions
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
