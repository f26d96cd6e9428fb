"""Builders for allocation tests: RMs in a city and lead payloads."""
from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.builders import API, make_rm, make_team


def lead_payload(**overrides: Any) -> dict[str, Any]:
    lead_id = str(uuid.uuid4())
    return {"lead_id": lead_id,
            "customer": {"id": str(uuid.uuid4()), "name": "Rahul Sharma", "phone": "+91-9876543210",
                         "email": "rahul@example.com"},
            "city": "Bangalore", "zone": "South", "locality": "Koramangala", "property_type": "RESIDENTIAL",
            "segment": "TENANT", "expected_deal_value": "25000.00", "source": "INBOUND_CALL", **overrides}


async def allocate(client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any) -> httpx.Response:
    return await client.post(f"{API}/allocations", json=lead_payload(**overrides), headers=headers)


async def city_with_rms(client: httpx.AsyncClient, admin: dict[str, str], count: int = 3,
                        **rm_overrides: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    team = await make_team(client, admin, city=rm_overrides.get("city", "Bangalore"))
    rms = [await make_rm(client, admin, team_id=team["id"], name=f"RM {i}", **rm_overrides) for i in range(count)]
    return team, rms


async def set_clock(client: httpx.AsyncClient, admin: dict[str, str], now: str) -> None:
    response = await client.put(f"{API}/admin/clock", json={"now": now}, headers=admin)
    assert response.status_code == 200, response.text


async def advance(client: httpx.AsyncClient, admin: dict[str, str], seconds: int) -> None:
    response = await client.put(f"{API}/admin/clock", json={"advance_seconds": seconds}, headers=admin)
    assert response.status_code == 200, response.text


async def run_job(client: httpx.AsyncClient, admin: dict[str, str], job: str) -> dict[str, Any]:
    response = await client.post(f"{API}/admin/jobs/{job}/run", headers=admin)
    assert response.status_code == 200, response.text
    return response.json()
