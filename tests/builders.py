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


FROZEN_AT = "2026-01-17T10:30:00Z"


async def freeze_clock(client: httpx.AsyncClient, admin: dict[str, str], *, at: str = FROZEN_AT) -> str:
    """Freeze the business clock (SALES_ADMIN test clock) and return the instant as the API renders it."""
    response = await client.put(f"{API}/admin/clock", json={"now": at}, headers=admin)
    assert response.status_code == 200, response.text
    return response.json()["now"]


async def make_lead(engine: Any, *, lead_id: uuid.UUID | None = None, customer_name: str = "Rahul Sharma",
                    customer_phone: str | None = "+91-9876543210", customer_email: str | None = "rahul@example.com",
                    **overrides: Any) -> dict[str, Any]:
    """A lead in the Leads read model (fed by events in production), customer PII encrypted at rest."""
    from datetime import UTC, datetime

    from sales.leads import repository as leads_repository

    now = datetime(2026, 1, 17, 10, 0, tzinfo=UTC)
    values = {"id": lead_id or uuid.uuid4(), "customer_id": uuid.uuid4(), "customer_name": customer_name,
              "customer_phone": customer_phone, "customer_email": customer_email, "city": "Bangalore",
              "allocation_status": "ALLOCATED", "created_at": now, "updated_at": now, **overrides}
    async with engine.begin() as conn:
        await leads_repository.insert_lead(conn, values)
    return values


async def make_leave(client: httpx.AsyncClient, headers: dict[str, str], *, rm_id: str,
                     **overrides: Any) -> dict[str, Any]:
    body = {"start_date": "2026-02-02", "end_date": "2026-02-04", "reason": "Family function", **overrides}
    response = await client.post(f"{API}/rms/{rm_id}/leaves", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


async def move(client: httpx.AsyncClient, headers: dict[str, str], pipeline_id: str, stage: str,
               **extra: Any) -> httpx.Response:
    """PATCH a pipeline's stage and return the raw response (callers assert the status)."""
    return await client.patch(f"{API}/pipelines/{pipeline_id}/stage", json={"stage": stage, **extra},
                              headers=headers)


async def make_rm_with_team(client: httpx.AsyncClient, admin: dict[str, str], **rm_overrides: Any
                            ) -> tuple[dict[str, Any], dict[str, Any]]:
    """A team and one RM in it: the usual starting point for scoping tests."""
    team = await make_team(client, admin)
    rm = await make_rm(client, admin, team_id=team["id"], **rm_overrides)
    return team, rm
