"""Builders for the target tests (issue 13): targets through the API; the facts they measure as the other
domains record them (orders from billing.payment.completed, CSAT from crm.csat.recorded) or written straight
into the pipelines / allocation tables with the instants a test needs."""
from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

import httpx

from sales.allocation.models import rm_allocations
from sales.pipelines.models import pipeline_stage_history, sales_pipelines
from tests.builders import API, freeze_clock, make_rm, make_team
from tests.commerce_builders import deliver, event, make_plan, payment, send

TARGETS = f"{API}/targets"
NOW = "2026-01-20T10:00:00Z"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def team_of(client: httpx.AsyncClient, admin: dict[str, str], *names: str,
                  city: str = "Bangalore") -> tuple[dict[str, Any], list[dict[str, Any]]]:
    team = await make_team(client, admin, city=city)
    rms = [await make_rm(client, admin, team_id=team["id"], name=name, city=city) for name in names]
    return team, rms


def body(assignee: str | None, **overrides: Any) -> dict[str, Any]:
    return {"target_type": "INDIVIDUAL", "assignee_id": assignee, "period_type": "MONTHLY",
            "period_start": "2026-01-01", "metric_type": "REVENUE", "target_value": Decimal("100000.00"),
            **overrides}


async def create(client: httpx.AsyncClient, headers: dict[str, str], assignee: str | None,
                 **overrides: Any) -> httpx.Response:
    return await send(client, "POST", TARGETS, body(assignee, **overrides), headers)


async def target(client: httpx.AsyncClient, headers: dict[str, str], assignee: str | None,
                 **overrides: Any) -> dict[str, Any]:
    response = await create(client, headers, assignee, **overrides)
    assert response.status_code == 201, response.text
    return response.json()


async def get(client: httpx.AsyncClient, headers: dict[str, str], target_id: str) -> dict[str, Any]:
    response = await client.get(f"{TARGETS}/{target_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


async def start(client: httpx.AsyncClient, auth: Any, *, now: str = NOW) -> dict[str, Any]:
    await freeze_clock(client, auth.admin, at=now)
    return await make_plan(client, auth.admin, price=Decimal("1499.00"))


async def sell(client: httpx.AsyncClient, auth: Any, plan: dict[str, Any], *, rm_id: str, amount: str,
               paid_at: str, **extra: Any) -> None:
    outcome = await deliver(client, auth, event("billing.payment.completed",
                                                payment(plan, rm_id=rm_id, amount=Decimal(amount), paid_at=paid_at,
                                                        **extra)))
    assert outcome[0]["status"] == "PROCESSED", outcome


async def csat(client: httpx.AsyncClient, auth: Any, *, rm_id: str, score: str, when: str) -> str:
    outcome = await deliver(client, auth, event("crm.csat.recorded", {"rm_id": rm_id, "pipeline_id": None,
                                                                      "score": Decimal(score), "at": when},
                                                source="/mysqrft/crm"))
    return outcome[0]["status"]


async def pipeline(engine: Any, *, rm_id: str, moves: list[tuple[str, str]], deal_value: str | None = None
                   ) -> uuid.UUID:
    """A pipeline of the RM that went through `moves` [(stage, instant)...] (its stage is the last one)."""
    pipeline_id = uuid.uuid4()
    last_stage, last_at = moves[-1] if moves else ("NEW", "2026-01-02T09:00:00Z")
    outcome = {"CLOSED_WON": "WON", "CLOSED_LOST": "LOST"}.get(last_stage, "PENDING")
    created = at("2026-01-01T00:00:00Z")
    async with engine.begin() as conn:
        await conn.execute(sales_pipelines.insert().values(
            id=pipeline_id, lead_id=uuid.uuid4(), rm_id=uuid.UUID(rm_id), stage=last_stage, source="INBOUND_CALL",
            deal_value=Decimal(deal_value) if deal_value else None, outcome=outcome, sla_deadline=created,
            stage_changed_at=at(last_at), created_at=created, updated_at=at(last_at)))
        for stage, when in moves:
            await conn.execute(pipeline_stage_history.insert().values(pipeline_id=pipeline_id, from_stage=None,
                                                                      to_stage=stage, changed_at=at(when)))
    return pipeline_id


async def allocation(engine: Any, *, rm_id: str, allocated_at: str, first_action_at: str | None = None,
                     lead_id: uuid.UUID | None = None) -> None:
    async with engine.begin() as conn:
        await conn.execute(rm_allocations.insert().values(
            id=uuid.uuid4(), lead_id=lead_id or uuid.uuid4(), rm_id=uuid.UUID(rm_id), allocation_type="AUTO",
            priority=3, status="ACCEPTED" if first_action_at else "PENDING", allocated_at=at(allocated_at),
            first_action_at=at(first_action_at) if first_action_at else None, sla_deadline=at(allocated_at),
            is_reassignment=False, created_at=at(allocated_at), updated_at=at(allocated_at)))
