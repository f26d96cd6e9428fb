"""Concurrent decisions for one user serialize on the user's gate row (issue 11; UPR-005 is a read-then-write):
never more than 3 upsells in 7 days, and a trigger's cause produces one upsell, on both databases."""
from __future__ import annotations

import asyncio
import uuid

from sales.upsell.models import upsell_decisions, upsells
from tests.api.upsell.helpers import UPSELLS, body, start
from tests.checks import count
from tests.commerce_builders import EVENTS, event, send


async def test_upr_005_eight_concurrent_creates_make_exactly_three_upsells(client, auth, engine):
    plans = await start(client, auth)
    user = str(uuid.uuid4())
    service = auth.headers("SERVICE")
    responses = await asyncio.gather(*(send(client, "POST", UPSELLS, body(plans["premium"], user), service)
                                       for _ in range(8)))
    assert sorted(r.status_code for r in responses) == [201] * 3 + [409] * 5, [r.text for r in responses]
    assert all(r.json()["blocking_rules"] == ["UPR-005"] for r in responses if r.status_code == 409)
    assert await count(engine, upsells) == 3
    assert await count(engine, upsell_decisions, upsell_decisions.c.outcome == "SUPPRESSED") == 5


async def test_upr_002_concurrent_usage_events_over_the_threshold_make_one_upsell(client, auth, engine):
    plans = await start(client, auth)
    user = str(uuid.uuid4())
    batch = [event("entitlements.usage.updated", {"user_id": user, "plan_id": plans["basic"]["id"], "quota": 5,
                                                  "used": 4 + (m % 2), "quota_name": "owner_contacts",
                                                  "at": f"2026-01-10T09:0{m}:00Z"}, source="/mysqrft/entitlements")
             for m in range(6)]
    responses = await asyncio.gather(*(send(client, "POST", EVENTS, e, auth.headers("SERVICE")) for e in batch))
    assert all(r.status_code == 200 and r.json()["items"][0]["status"] == "PROCESSED" for r in responses), \
        [r.text for r in responses]
    assert await count(engine, upsells) == 1
