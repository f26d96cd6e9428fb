"""Builders for the upsell tests (issue 11)."""
from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx

from tests.builders import API, freeze_clock
from tests.commerce_builders import make_plan

UPSELLS = f"{API}/upsells"
NOW = "2026-01-10T10:00:00Z"


async def catalogue(client: httpx.AsyncClient, admin: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Tenant Basic (tier 0, 5 contacts) < Premium (1, 25) < Prime (2, 60); an Owner Boost plan."""
    tag = uuid.uuid4().hex[:6].upper()
    return {
        "basic": await make_plan(client, admin, code=f"TB_{tag}", name="Tenant Basic", tier=0,
                                 price=Decimal("0.00"), features={"owner_contacts": 5}),
        "premium": await make_plan(client, admin, code=f"TP_{tag}", name="Tenant Premium", tier=1,
                                   price=Decimal("1499.00"), features={"owner_contacts": 25}),
        "prime": await make_plan(client, admin, code=f"TX_{tag}", name="Tenant Prime", tier=2,
                                 price=Decimal("2999.00"), features={"owner_contacts": 60}),
        "boost": await make_plan(client, admin, code=f"OB_{tag}", name="Owner Boost", user_type="OWNER", tier=1,
                                 price=Decimal("1999.00"), features={"listing_boost_days": 15}),
    }


def body(plan: dict[str, Any], user_id: str, **overrides: Any) -> dict[str, Any]:
    return {"user_id": user_id, "user_type": plan["user_type"], "target_plan_id": plan["id"],
            "trigger_event": "MANUAL_CAMPAIGN", "channel": "IN_APP_BANNER", **overrides}


async def start(client: httpx.AsyncClient, auth: Any) -> dict[str, dict[str, Any]]:
    await freeze_clock(client, auth.admin, at=NOW)
    return await catalogue(client, auth.admin)


async def create(client: httpx.AsyncClient, headers: dict[str, str], plan: dict[str, Any], user_id: str,
                 **overrides: Any) -> httpx.Response:
    return await client.post(UPSELLS, json=body(plan, user_id, **overrides), headers=headers)


async def respond(client: httpx.AsyncClient, headers: dict[str, str], upsell_id: str, response: str
                  ) -> httpx.Response:
    return await client.patch(f"{UPSELLS}/{upsell_id}/response", json={"response": response}, headers=headers)


async def decisions(client: httpx.AsyncClient, headers: dict[str, str], user_id: str) -> list[dict[str, Any]]:
    r = await client.get(f"{UPSELLS}/decisions", params={"user_id": user_id}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["items"]
