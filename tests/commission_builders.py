"""Builders for the commission ledger: plans through the API, sales as orders (PUT /orders, as Billing's
backfill would), refunds as Billing events, targets straight into `sales_targets` (owned by the targets API)."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx

from sales.targets.models import sales_targets
from tests.builders import API, make_rm
from tests.commerce_builders import deliver, event, make_plan, send

COMMISSIONS = f"{API}/commissions"


async def commission_plan(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> dict[str, Any]:
    payload = {"plan_key": "SUBSCRIPTION_NEW", "commission_type": "PERCENTAGE", "rate": Decimal("5.00"),
               "effective_from": "2026-01-01T00:00:00Z", **body}
    response = await send(client, "POST", f"{COMMISSIONS}/plans", payload, headers)
    assert response.status_code == 201, response.text
    return response.json()


def tiered(**body: Any) -> dict[str, Any]:
    """CMR-003 example tiers: < 100 % 5 %, 100..120 % 7 %, from 120 % 10 %."""
    return {"commission_type": "TIERED", "rate": None, "tiers": [
        {"min_achievement": Decimal("0.00"), "rate": Decimal("5.00")},
        {"min_achievement": Decimal("100.00"), "rate": Decimal("7.00")},
        {"min_achievement": Decimal("120.00"), "rate": Decimal("10.00")}], **body}


async def seller(client: httpx.AsyncClient, auth: Any, **overrides: Any) -> dict[str, Any]:
    """An RM (base salary 40,000.00: the month's cap is 120,000.00) and a catalog plan to sell."""
    rm = await make_rm(client, auth.admin, **overrides)
    catalog = await make_plan(client, auth.admin, price=Decimal("1499.00"))
    return {"rm": rm, "rm_id": rm["id"], "catalog": catalog, "headers": auth.rm(uuid.UUID(rm["id"]))}


async def sell(client: httpx.AsyncClient, auth: Any, who: dict[str, Any], amount: str, paid_at: str,
               *, user_id: str | None = None, transaction_type: str = "SUBSCRIPTION_NEW") -> str:
    """An order of `amount` sold by the RM at `paid_at` (as Billing's backfill); its id."""
    order_id = str(uuid.uuid4())
    body = {"payment_id": str(uuid.uuid4()), "user_id": user_id or str(uuid.uuid4()), "user_type": "TENANT",
            "plan_id": who["catalog"]["id"], "amount": Decimal(amount), "currency": "INR", "paid_at": paid_at,
            "rm_id": who["rm_id"], "transaction_type": transaction_type}
    response = await send(client, "PUT", f"{API}/orders/{order_id}", body, auth.headers("SERVICE"))
    assert response.status_code == 201, response.text
    return order_id


async def refund(client: httpx.AsyncClient, auth: Any, order_id: str, amount: str, completed_at: str) -> None:
    data = {"refund_id": str(uuid.uuid4()), "order_id": order_id, "amount": Decimal(amount),
            "completed_at": completed_at}
    [outcome] = await deliver(client, auth, event("billing.refund.completed", data))
    assert outcome["status"] == "PROCESSED", outcome


async def revenue_target(engine: Any, rm_id: str, target: str, *, month: date = date(2026, 1, 1),
                         target_type: str = "INDIVIDUAL", status: str = "ACTIVE", metric: str = "REVENUE",
                         achieved: str = "0.00") -> uuid.UUID:
    """A monthly target as the targets API stores it; a live one for the same assignee, metric and month is
    replaced (the table holds one live target per period)."""
    target_id, now = uuid.uuid4(), datetime(2026, 1, 1, tzinfo=UTC)
    end = date(month.year + (month.month == 12), month.month % 12 + 1, 1).toordinal() - 1
    async with engine.begin() as conn:
        await conn.execute(sales_targets.delete().where(
            sales_targets.c.assignee_id == uuid.UUID(rm_id), sales_targets.c.metric_type == metric,
            sales_targets.c.period_type == "MONTHLY", sales_targets.c.period_start == month,
            sales_targets.c.status != "CANCELLED"))
        await conn.execute(sales_targets.insert().values(
            id=target_id, target_type=target_type, assignee_id=uuid.UUID(rm_id), period_type="MONTHLY",
            period_start=month, period_end=date.fromordinal(end), metric_type=metric, target_value=Decimal(target),
            achieved_value=Decimal(achieved), achievement_percentage=Decimal("0.00"), status=status,
            created_by=uuid.uuid4(), created_at=now, updated_at=now))
    return target_id


async def lines(client: httpx.AsyncClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    """The caller's lines in the order they were written (lines written at one frozen instant: sales first, by
    sale time)."""
    response = await client.get(COMMISSIONS, params={"limit": 500, **params}, headers=headers)
    assert response.status_code == 200, response.text
    return sorted(reversed(response.json()["items"]),
                  key=lambda line: (line["created_at"], line["kind"] != "SALE", line["sale_at"]))
