"""LOW_LISTING_VIEWS (issue 11; US-SALE-002 owner listing boost): a listing at least 7 days old with views_7d
below its city's average -> a boost offer to its owner by PUSH_NOTIFICATION with the ROI message, once per
listing. First delivery, duplicate, out of order, bad payload."""
from __future__ import annotations

import uuid

from sales.upsell.models import upsells
from tests.api.inventory.helpers import put_listing
from tests.api.upsell.helpers import UPSELLS, start
from tests.checks import count
from tests.commerce_builders import deliver, event, statuses


def stats(listing, views, at="2026-01-10T08:00:00Z", **kw):  # type: ignore[no-untyped-def]
    return event("inventory.listing.stats", {"listing_id": listing["id"], "views_7d": views, "at": at},
                 source="/mysqrft/inventory", **kw)


async def upsells_of(client, auth, user):  # type: ignore[no-untyped-def]
    r = await client.get(UPSELLS, params={"user_id": user}, headers=auth.headers("SERVICE"))
    return r.json()["items"]


async def test_a_week_old_listing_below_the_city_average_gets_one_boost_offer(client, auth):
    plans = await start(client, auth)  # now 2026-01-10T10:00Z
    busy = await put_listing(client, auth.admin, city="Pune", listed_at="2026-01-01T09:00:00Z")
    quiet = await put_listing(client, auth.admin, city="Pune", listed_at="2026-01-03T10:00:00Z")  # exactly 7 days
    young = await put_listing(client, auth.admin, city="Pune", listed_at="2026-01-03T10:00:01Z")
    first = stats(quiet, 10)
    assert await statuses(client, auth, stats(busy, 40), first, first, stats(young, 1)) == [
        "PROCESSED", "PROCESSED", "DUPLICATE", "PROCESSED"]
    [offer] = await upsells_of(client, auth, quiet["owner_id"])
    assert (offer["trigger_event"], offer["channel"], offer["user_type"], offer["target_plan_id"]) == (
        "LOW_LISTING_VIEWS", "PUSH_NOTIFICATION", "OWNER", plans["boost"]["id"])
    assert offer["trigger_context"] == {
        "listing_id": quiet["id"], "views_7d": 10, "city_avg_views_7d": "25.00", "listing_age_days": 7,
        "price": "1999.00", "boost_days": 15, "expected_extra_views_7d": 30, "expected_basis": "CONFIGURED_DEFAULT"}
    assert await upsells_of(client, auth, young["owner_id"]) == []  # 6 days old (city avg now 17.00)
    assert await upsells_of(client, auth, busy["owner_id"]) == []
    # Newer low stats of the same listing: no second offer; an older one arriving late changes nothing.
    assert await statuses(client, auth, stats(quiet, 8, at="2026-01-10T09:00:00Z"),
                          stats(quiet, 2, at="2026-01-09T09:00:00Z")) == ["PROCESSED"] * 2
    assert len(await upsells_of(client, auth, quiet["owner_id"])) == 1


async def test_no_offer_at_the_average_for_an_unavailable_listing_or_without_a_better_plan(client, auth):
    await start(client, auth)
    a = await put_listing(client, auth.admin, city="Nagpur", listed_at="2026-01-01T09:00:00Z")
    b = await put_listing(client, auth.admin, city="Nagpur", listed_at="2026-01-01T09:00:00Z")
    let_out = await put_listing(client, auth.admin, city="Nagpur", listed_at="2026-01-01T09:00:00Z",
                                status="LET_OUT")
    assert await statuses(client, auth, stats(a, 10), stats(b, 10), stats(let_out, 0)) == ["PROCESSED"] * 3
    for listing in (a, b, let_out):
        assert await upsells_of(client, auth, listing["owner_id"]) == []


async def test_unknown_listing_retries_and_a_bad_payload_is_parked(client, auth, engine):
    await start(client, auth)
    [outcome] = await deliver(client, auth, stats({"id": str(uuid.uuid4())}, 3))
    assert outcome["status"] == "FAILED"
    [outcome] = await deliver(client, auth, event("inventory.listing.stats",
                                                  {"listing_id": str(uuid.uuid4()), "views_7d": -1,
                                                   "at": "2026-01-10T08:00:00Z"},
                                                  source="/mysqrft/inventory", valid=False))
    assert (outcome["status"], outcome["attempts"]) == ("PARKED", 1)
    assert await count(engine, upsells) == 0
