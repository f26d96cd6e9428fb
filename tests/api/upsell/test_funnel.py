"""GET /upsells/funnel on a hand-computed data set (issue 11; PRD §9 conversion = converted / presented)."""
from __future__ import annotations

import uuid
from decimal import Decimal

from tests.allocation_builders import advance, run_job
from tests.api.upsell.helpers import UPSELLS, create, respond, start
from tests.checks import assert_problem
from tests.commerce_builders import event, payment, statuses

FUNNEL = f"{UPSELLS}/funnel"


async def data_set(client, auth):  # type: ignore[no-untyped-def]
    """Five upsells created 2026-01-10T10:00Z, one user each:
    a IN_APP_BANNER QUOTA_THRESHOLD  presented, clicked, converted (1349.10)
    b IN_APP_BANNER QUOTA_THRESHOLD  presented, dismissed
    c EMAIL         CAMPAIGN         presented, clicked -> expired
    d EMAIL         CAMPAIGN         pending -> expired
    e EMAIL         CAMPAIGN         created 8 days later: outside [01-10, 01-11)"""
    plans = await start(client, auth)
    service = auth.headers("SERVICE")
    specs = [("IN_APP_BANNER", "QUOTA_THRESHOLD", "A"), ("IN_APP_BANNER", "QUOTA_THRESHOLD", "B"),
             ("EMAIL", "CAMPAIGN", "A"), ("EMAIL", "CAMPAIGN", None)]
    users = [str(uuid.uuid4()) for _ in specs]
    made = []
    for user, (channel, trigger, variant) in zip(users, specs):
        extra = {"experiment_variant": variant} if variant else {}
        r = await create(client, service, plans["premium"], user, channel=channel, trigger_event=trigger, **extra)
        assert r.status_code == 201, r.text
        made.append(r.json())
    a, b, c, d = made
    for u in (a, b, c):
        assert (await respond(client, service, u["id"], "PRESENTED")).status_code == 200
    for u in (a, c):
        assert (await respond(client, service, u["id"], "CLICKED")).status_code == 200
    assert (await respond(client, service, b["id"], "DISMISSED")).status_code == 200
    paid = payment(plans["premium"], user_id=users[0], upsell_id=a["id"], amount=Decimal("1349.10"))
    assert await statuses(client, auth, event("billing.payment.completed", paid)) == ["PROCESSED"]
    await advance(client, auth.admin, 8 * 86400)
    assert (await run_job(client, auth.admin, "upsell-expiry"))["processed"] == 2
    assert (await create(client, service, plans["premium"], str(uuid.uuid4()), channel="EMAIL",
                         trigger_event="CAMPAIGN")).status_code == 201


async def test_funnel_by_channel_and_in_total(client, auth):
    await data_set(client, auth)
    r = await client.get(FUNNEL, params={"from": "2026-01-10T00:00:00Z", "to": "2026-01-11T00:00:00Z",
                                         "group_by": "channel"}, headers=auth.headers("PRODUCT_MANAGER"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["from"], body["to"], body["group_by"]) == ("2026-01-10T00:00:00Z", "2026-01-11T00:00:00Z",
                                                            "channel")
    assert body["groups"] == [
        {"key": "EMAIL", "created": 2, "presented": 1, "clicked": 1, "converted": 0, "dismissed": 0, "expired": 2,
         "presentation_rate": 0.5, "click_rate": 1.0, "conversion_rate": 0.0, "revenue": 0.0},
        {"key": "IN_APP_BANNER", "created": 2, "presented": 2, "clicked": 1, "converted": 1, "dismissed": 1,
         "expired": 0, "presentation_rate": 1.0, "click_rate": 0.5, "conversion_rate": 0.5, "revenue": 1349.1}]
    assert body["total"] == {"key": "ALL", "created": 4, "presented": 3, "clicked": 2, "converted": 1,
                             "dismissed": 1, "expired": 2, "presentation_rate": 0.75, "click_rate": 0.6667,
                             "conversion_rate": 0.3333, "revenue": 1349.1}
    assert '"revenue":1349.10' in r.text and '"conversion_rate":0.3333' in r.text


async def test_funnel_by_trigger_variant_and_default_window(client, auth):
    await data_set(client, auth)
    admin = auth.headers("FINANCE_ADMIN")
    window = {"from": "2026-01-10T00:00:00Z", "to": "2026-01-11T00:00:00Z"}
    by_trigger = (await client.get(FUNNEL, params={**window, "group_by": "trigger"}, headers=admin)).json()
    assert [(g["key"], g["created"], g["converted"]) for g in by_trigger["groups"]] == [
        ("CAMPAIGN", 2, 0), ("QUOTA_THRESHOLD", 2, 1)]
    by_variant = (await client.get(FUNNEL, params={**window, "group_by": "variant"}, headers=admin)).json()
    assert sorted((g["key"] or "", g["created"]) for g in by_variant["groups"]) == [("", 1), ("A", 2), ("B", 1)]
    # Default: [now - 30 days, now) with now = 2026-01-18T10:01Z: all five.
    await advance(client, auth.admin, 60)
    default = (await client.get(FUNNEL, headers=auth.headers("SALES_ADMIN"))).json()
    assert (default["total"]["created"], default["groups"][0]["key"]) == (5, "ALL")
    assert default["from"] == "2025-12-19T10:01:00Z"


async def test_funnel_access_and_bad_input(client, auth):
    await start(client, auth)
    assert_problem(await client.get(FUNNEL), 401, "not_authenticated")
    for role in ("SERVICE", "CUSTOMER", "RM", "SUPPORT_AGENT"):
        assert_problem(await client.get(FUNNEL, headers=auth.headers(role)), 403, "forbidden")
    pm = auth.headers("PRODUCT_MANAGER")
    assert_problem(await client.get(FUNNEL, params={"group_by": "city"}, headers=pm), 422, "validation_error")
    assert_problem(await client.get(FUNNEL, params={"from": "2026-01-11T00:00:00Z", "to": "2026-01-10T00:00:00Z"},
                                    headers=pm), 422, "validation_error", loc=["query", "from"])
    assert_problem(await client.get(FUNNEL, params={"from": "2026-01-10T00:00:00"}, headers=pm), 422,
                   "validation_error")
    empty = (await client.get(FUNNEL, headers=pm)).json()
    assert empty["groups"] == [] and empty["total"]["conversion_rate"] is None
