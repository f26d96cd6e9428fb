"""Issue 17 under real concurrency (PostgreSQL): an RM going OFFLINE while accepting a PENDING lead. Whichever
commits first wins; the lead ends with exactly one live allocation and the RM's load matches it."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from tests.allocation_builders import set_clock
from tests.api.allocation.helpers import allocated, live_of_lead
from tests.builders import API, make_rm, make_team

pytestmark = pytest.mark.postgres_only


async def test_accept_racing_with_going_offline_leaves_one_live_allocation(client, auth, engine):
    await set_clock(client, auth.admin, "2026-01-21T06:00:00Z")
    team = await make_team(client, auth.admin)
    away = await make_rm(client, auth.admin, team_id=team["id"], name="Going away")
    leads = [await allocated(client, auth.headers("SERVICE")) for _ in range(6)]
    await make_rm(client, auth.admin, team_id=team["id"], name="Still here")
    headers = auth.rm(away["id"])

    results = await asyncio.gather(
        *[client.patch(f"{API}/allocations/{a['id']}/accept", headers=headers) for a in leads],
        client.patch(f"{API}/rms/{away['id']}/availability", json={"availability": "OFFLINE"}, headers=headers))

    assert results[-1].status_code == 200, results[-1].text
    accepted = {a["id"] for a, r in zip(leads, results) if r.status_code == 200}
    assert all(r.status_code in (200, 409) for r in results[:-1]), [r.text for r in results]
    for allocation in leads:
        [live] = await live_of_lead(client, auth.admin, allocation["lead_id"])
        if allocation["id"] in accepted:
            assert (live["id"], live["status"], live["rm_id"]) == (allocation["id"], "ACCEPTED", away["id"])
        else:
            assert live["reassignment_reason"] == "RM_UNAVAILABLE"
    async with engine.connect() as conn:
        load = (await conn.execute(text("SELECT active_leads FROM rms WHERE id = :id"), {"id": away["id"]})).scalar()
    assert load == len(accepted)
