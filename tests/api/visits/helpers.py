"""Builders for the visit plan tests (issue 15): listings on a line north of the start, 0.01 degree of latitude
(1.11 km, 4 minutes at 20 km/h) apart; a pipeline with a known customer."""
from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.api.inventory.helpers import put_listing
from tests.builders import API, freeze_clock, make_lead, make_pipeline, make_rm_with_team
from tests.commerce_builders import deliver, event

NOW = "2026-01-17T10:30:00Z"
DAY = "2026-01-18"
START = {"lat": 12.93, "lon": 77.62}


async def setup(client: httpx.AsyncClient, auth: Any, engine: Any, *, listings: int = 3) -> dict[str, Any]:
    """Clock frozen at NOW; a team, its RM, a lead with a customer, the RM's pipeline, `listings` listings."""
    await freeze_clock(client, auth.admin, at=NOW)
    team, rm = await make_rm_with_team(client, auth.admin)
    lead = await make_lead(engine)
    pipeline = await make_pipeline(client, auth.admin, rm_id=rm["id"], lead_id=str(lead["id"]))
    spots = [await put_listing(client, auth.admin, lat=round(START["lat"] + 0.01 * (i + 1), 6), lon=START["lon"])
             for i in range(listings)]
    return {"team": team, "rm": rm, "lead": lead, "pipeline": pipeline, "listings": spots,
            "rm_headers": auth.rm(uuid.UUID(rm["id"]))}


def plan_body(listing_ids: list[str], **overrides: Any) -> dict[str, Any]:
    return {"date": DAY, "window_start": "08:00", "window_end": "14:00", "start": START, "visit_minutes": 30,
            "stops": [{"listing_id": i} for i in listing_ids], **overrides}


async def create_plan(client: httpx.AsyncClient, headers: dict[str, str], pipeline_id: str,
                      body: dict[str, Any]) -> httpx.Response:
    return await client.post(f"{API}/pipelines/{pipeline_id}/visit-plans", json=body, headers=headers)


async def made_plan(client: httpx.AsyncClient, headers: dict[str, str], pipeline_id: str,
                    listing_ids: list[str], **overrides: Any) -> dict[str, Any]:
    r = await create_plan(client, headers, pipeline_id, plan_body(listing_ids, **overrides))
    assert r.status_code == 201, r.text
    return r.json()


async def scheduling(client: httpx.AsyncClient, auth: Any, type_: str, **data: Any) -> list[dict[str, Any]]:
    outcomes = await deliver(client, auth, event(f"scheduling.{type_}", data, source="/mysqrft/scheduling"))
    assert [o["status"] for o in outcomes] == ["PROCESSED"], outcomes
    return outcomes


async def get_plan(client: httpx.AsyncClient, headers: dict[str, str], plan_id: str) -> dict[str, Any]:
    r = await client.get(f"{API}/visit-plans/{plan_id}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()
