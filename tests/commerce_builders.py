"""Builders for the commerce read models: plans through the API, Billing / Entitlements events posted as
SERVICE with exact decimals (money written as 2999.00 in the JSON text, never through float)."""
from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx

from sales.core.http import dumps
from tests.builders import API
from tests.events_schema import assert_valid

EVENTS = f"{API}/events"


def plan_body(**overrides: Any) -> dict[str, Any]:
    code = overrides.pop("code", f"TENANT_{uuid.uuid4().hex[:8].upper()}")
    return {"code": code, "name": "Tenant Premium", "user_type": "TENANT", "tier": 1, "price": Decimal("1499.00"),
            "duration_days": 45, "features": {"owner_contacts": 25, "relationship_manager": False}, **overrides}


async def send(client: httpx.AsyncClient, method: str, path: str, body: Any, headers: dict[str, str]
               ) -> httpx.Response:
    """A request whose JSON keeps Decimal digits exactly (2999.00 stays 2999.00 on the wire)."""
    return await client.request(method, path, content=dumps(body),
                                headers={**headers, "Content-Type": "application/json"})


async def make_plan(client: httpx.AsyncClient, admin: dict[str, str], **overrides: Any) -> dict[str, Any]:
    response = await send(client, "POST", f"{API}/plans", plan_body(**overrides), admin)
    assert response.status_code == 201, response.text
    return response.json()


def event(type_: str, data: Any, *, id_: str | None = None, source: str = "/mysqrft/billing",
          valid: bool = True) -> dict[str, Any]:
    """A consumed CloudEvent; a `valid` one is checked against its schema in docs/events/ first."""
    envelope = {"specversion": "1.0", "id": id_ or str(uuid.uuid4()), "source": source, "type": type_,
                "time": "2026-01-10T10:00:00Z", "datacontenttype": "application/json", "data": data}
    if valid:
        assert_valid(envelope)
    return envelope


def payment(plan: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {"payment_id": str(uuid.uuid4()), "order_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4()),
            "user_type": plan["user_type"], "plan_id": plan["id"], "amount": Decimal(str(plan["price"])),
            "currency": "INR", "paid_at": "2026-01-10T09:30:00+05:30", **overrides}


def refund(order_id: str, amount: str, **overrides: Any) -> dict[str, Any]:
    return {"refund_id": str(uuid.uuid4()), "order_id": order_id, "amount": Decimal(amount),
            "completed_at": "2026-01-12T10:00:00Z", **overrides}


async def deliver(client: httpx.AsyncClient, auth: Any, *events: dict[str, Any]) -> list[dict[str, Any]]:
    """POST events (one batch) as SERVICE; the outcome per event (status, attempts, error)."""
    response = await send(client, "POST", EVENTS, list(events), auth.headers("SERVICE"))
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def statuses(client: httpx.AsyncClient, auth: Any, *events: dict[str, Any]) -> list[str]:
    return [outcome["status"] for outcome in await deliver(client, auth, *events)]
