"""Issue 17 daily caps under real concurrency (PostgreSQL): the conditional claim never lets an RM pass a cap."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from tests.allocation_builders import lead_payload, set_clock
from tests.api.allocation.test_concurrency_pg import _post_until_served
from tests.builders import API, make_rm, make_team

CITY = "Capville"

pytestmark = pytest.mark.postgres_only


async def test_daily_caps_hold_under_40_concurrent_allocations(client, auth, engine):
    await set_clock(client, auth.admin, "2026-01-21T06:00:00Z")
    team = await make_team(client, auth.admin, city=CITY)
    for i, cap in enumerate((3, 4)):
        await make_rm(client, auth.admin, team_id=team["id"], name=f"Capped {i}", city=CITY, capacity=50,
                      localities=["Centro"], max_leads_per_day=cap)
    service = auth.headers("SERVICE")
    payloads = [lead_payload(city=CITY, zone="Norte", locality="Centro") for _ in range(40)]

    responses = await asyncio.gather(*[_post_until_served(client, f"{API}/allocations", p, service)
                                       for p in payloads])

    statuses = [r.status_code for r in responses]
    assert (statuses.count(201), statuses.count(202)) == (7, 33), [r.text for r in responses][:3]
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT r.max_leads_per_day, r.window_received, r.week_received, count(a.id) FROM rms r "
            "LEFT JOIN rm_allocations a ON a.rm_id = r.id WHERE r.city = :city GROUP BY r.id ORDER BY 1"),
            {"city": CITY})).all()
    assert [tuple(r) for r in rows] == [(3, 3, 3, 3), (4, 4, 4, 4)]
