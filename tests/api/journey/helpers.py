from __future__ import annotations

import uuid
from typing import Any

from tests.api.inventory.helpers import put_listing
from tests.builders import API, make_lead, make_pipeline, make_rm_with_team


def requirements_body(**overrides: Any) -> dict[str, Any]:
    return {"deal_type": "RENT", "property_type": "APARTMENT", "budget_min": "25000.00", "budget_max": "40000.00",
            "localities": ["Koramangala", "HSR Layout"], "bhk_min": 2, "bhk_max": 3, "furnishing": "SEMI_FURNISHED",
            "amenities": ["LIFT", "PARKING"], "move_in_by": "2026-02-15",
            "criteria": {"budget": {"must": True}, "location": {"weight": 5}, "bhk": {"weight": 4},
                         "furnishing": {"weight": 2}, "amenities": {"weight": 2}}, **overrides}


async def journey_setup(client: Any, auth: Any, engine: Any) -> dict[str, Any]:
    """A team, its RM, a known customer's lead and an open pipeline for it."""
    team, rm = await make_rm_with_team(client, auth.admin)
    lead = await make_lead(engine)
    pipeline = await make_pipeline(client, auth.admin, rm_id=rm["id"], lead_id=str(lead["id"]))
    return {"team": team, "rm": rm, "lead": lead, "pipeline": pipeline, "rm_auth": auth.rm(uuid.UUID(rm["id"]))}


async def save(client: Any, headers: dict[str, str], pipeline_id: str, **overrides: Any) -> Any:
    return await client.put(f"{API}/pipelines/{pipeline_id}/requirements", json=requirements_body(**overrides),
                            headers=headers)


async def listing(client: Any, auth: Any, **overrides: Any) -> dict[str, Any]:
    return await put_listing(client, auth.admin, **overrides)
