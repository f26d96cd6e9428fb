"""Small builders with keyword arguments: each creates one thing through the API and returns its JSON."""
from __future__ import annotations

import uuid
from typing import Any

import httpx

API = "/api/v1/sales"


async def make_team(client: httpx.AsyncClient, admin: dict[str, str], **overrides: Any) -> dict[str, Any]:
    body = {"name": f"Team {uuid.uuid4().hex[:6]}", "city": "Bangalore", "supervisor_id": str(uuid.uuid4()),
            **overrides}
    response = await client.post(f"{API}/teams", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


async def make_rm(client: httpx.AsyncClient, admin: dict[str, str], *, team_id: str | None = None,
                  **overrides: Any) -> dict[str, Any]:
    rm_id = overrides.pop("id", None) or str(uuid.uuid4())
    body = {"id": rm_id, "name": overrides.pop("name", "Priya Patel"), "email": f"rm-{rm_id[:8]}@mysqrft.com",
            "phone": "+91-9811111111", "team_id": team_id, "city": "Bangalore", "zone": "South",
            "localities": ["Koramangala", "HSR Layout"], "property_types": ["RESIDENTIAL"],
            "segments": ["TENANT", "BUYER"], "capacity": 25, "base_salary": "40000.00", "performance_score": 70,
            **overrides}
    response = await client.post(f"{API}/rms", json=body, headers=admin)
    assert response.status_code == 201, response.text
    return response.json()


async def make_pipeline(client: httpx.AsyncClient, headers: dict[str, str], *, rm_id: str,
                        **overrides: Any) -> dict[str, Any]:
    body = {"lead_id": str(uuid.uuid4()), "rm_id": rm_id, "source": "INBOUND_CALL", "deal_value": 25000.00,
            "expected_close_date": "2026-02-15", "notes": "Customer looking for 2BHK in Koramangala", **overrides}
    response = await client.post(f"{API}/pipelines", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()
