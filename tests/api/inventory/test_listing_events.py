"""Listing events (issue 10 §2): inventory.listing.upserted / .removed / .stats; first delivery, duplicate, out of
order (the newest change wins), bad payload (parked at once), unknown listing (retried, then parked)."""
from __future__ import annotations

import uuid

import pytest

from sales.inventory.models import listings
from tests.allocation_builders import advance, run_job, set_clock
from tests.api.customers.helpers import deliver
from tests.api.inventory.helpers import LISTINGS, listing_body
from tests.checks import count

UPSERTED, REMOVED, STATS = "inventory.listing.upserted", "inventory.listing.removed", "inventory.listing.stats"


def upserted(listing_id: str, **overrides) -> dict:  # type: ignore[no-untyped-def]
    return {**listing_body(**overrides), "id": listing_id, "extra_from_inventory": {"photos": 12}}


async def get(client, auth, listing_id: str):  # type: ignore[no-untyped-def]
    return await client.get(f"{LISTINGS}/{listing_id}", headers=auth.admin)


async def test_first_delivery_creates_the_listing(client, auth):
    listing_id = str(uuid.uuid4())
    item = await deliver(client, auth, UPSERTED, upserted(listing_id, price=35000.5, lat=12.9352134))
    assert item["status"] == "PROCESSED", item
    got = (await get(client, auth, listing_id)).json()
    assert (got["price"], got["lat"], got["status"], got["amenities"]) == (35000.50, 12.935213, "AVAILABLE",
                                                                          ["LIFT", "PARKING"])


async def test_duplicate_delivery_changes_nothing(client, auth, engine):
    listing_id, event_id = str(uuid.uuid4()), str(uuid.uuid4())
    await deliver(client, auth, UPSERTED, upserted(listing_id), id_=event_id)
    again = await deliver(client, auth, UPSERTED, upserted(listing_id, price=1), id_=event_id)
    assert again["status"] == "DUPLICATE"
    assert (await get(client, auth, listing_id)).json()["price"] == 35000.00
    assert await count(engine, listings) == 1


async def test_out_of_order_upserts_the_newest_wins(client, auth):
    listing_id = str(uuid.uuid4())
    await deliver(client, auth, UPSERTED, upserted(listing_id, price=40000, updated_at="2026-01-10T12:00:00Z"))
    # older by data.updated_at
    await deliver(client, auth, UPSERTED, upserted(listing_id, price=30000, updated_at="2026-01-10T11:00:00Z"))
    # older by the event time (no updated_at in the data)
    item = await deliver(client, auth, UPSERTED, upserted(listing_id, price=20000), time="2026-01-10T11:30:00Z")
    assert item["status"] == "PROCESSED"
    assert (await get(client, auth, listing_id)).json()["price"] == 40000.00
    await deliver(client, auth, UPSERTED, upserted(listing_id, price=45000), time="2026-01-10T12:00:01Z")
    assert (await get(client, auth, listing_id)).json()["price"] == 45000.00


async def test_removal_keeps_the_row_inactive_and_older_upserts_do_not_revive_it(client, auth, engine):
    listing_id = str(uuid.uuid4())
    await deliver(client, auth, UPSERTED, upserted(listing_id), time="2026-01-10T10:00:00Z")
    item = await deliver(client, auth, REMOVED, {"listing_id": listing_id, "removed_at": "2026-01-11T10:00:00Z"})
    assert item["status"] == "PROCESSED"
    got = (await get(client, auth, listing_id)).json()
    assert got["status"] == "INACTIVE" and got["price"] == 35000.00  # row kept
    await deliver(client, auth, UPSERTED, upserted(listing_id), time="2026-01-10T18:00:00Z")  # late, older
    assert (await get(client, auth, listing_id)).json()["status"] == "INACTIVE"
    await deliver(client, auth, REMOVED, {"listing_id": listing_id}, time="2026-01-09T00:00:00Z")  # late, older
    await deliver(client, auth, UPSERTED, upserted(listing_id), time="2026-01-12T10:00:00Z")  # relisted
    assert (await get(client, auth, listing_id)).json()["status"] == "AVAILABLE"
    assert await count(engine, listings) == 1


async def test_removal_before_the_listing_exists_retries_then_applies(client, auth):
    await set_clock(client, auth.admin, "2026-01-12T10:00:00Z")
    listing_id = str(uuid.uuid4())
    removal = await deliver(client, auth, REMOVED, {"listing_id": listing_id}, time="2026-01-11T10:00:00Z")
    assert (removal["status"], removal["attempts"]) == ("FAILED", 1) and "ListingNotFound" in removal["error"]
    await deliver(client, auth, UPSERTED, upserted(listing_id), time="2026-01-10T10:00:00Z")  # arrives later
    await advance(client, auth.admin, 3600)
    assert (await run_job(client, auth.admin, "inbox-retry"))["processed"] == 1
    assert (await get(client, auth, listing_id)).json()["status"] == "INACTIVE"


async def test_unknown_listing_is_parked_after_the_retries(client, auth):
    await set_clock(client, auth.admin, "2026-01-12T10:00:00Z")
    event = {"listing_id": str(uuid.uuid4()), "views_7d": 3, "at": "2026-01-12T00:00:00Z"}
    event_id = str(uuid.uuid4())
    statuses = [(await deliver(client, auth, STATS, event, id_=event_id))["status"] for _ in range(5)]
    assert statuses == ["FAILED"] * 4 + ["PARKED"]


async def test_stats_first_duplicate_and_out_of_order(client, auth):
    listing_id = str(uuid.uuid4())
    await deliver(client, auth, UPSERTED, upserted(listing_id))
    event_id = str(uuid.uuid4())
    first = {"listing_id": listing_id, "views_7d": 12, "at": "2026-01-16T00:00:00Z"}
    assert (await deliver(client, auth, STATS, first, id_=event_id))["status"] == "PROCESSED"
    assert (await deliver(client, auth, STATS, {**first, "views_7d": 99}, id_=event_id))["status"] == "DUPLICATE"
    older = {"listing_id": listing_id, "views_7d": 4, "at": "2026-01-15T00:00:00Z"}
    assert (await deliver(client, auth, STATS, older))["status"] == "PROCESSED"
    assert (await get(client, auth, listing_id)).json()["views_7d"] == 12
    # an upsert never touches the stats
    await deliver(client, auth, UPSERTED, upserted(listing_id, price=50000), time="2026-01-20T00:00:00Z")
    got = (await get(client, auth, listing_id)).json()
    assert (got["views_7d"], got["city_avg_views_7d"], got["price"]) == (12, 12.00, 50000.00)
    await deliver(client, auth, STATS, {**first, "views_7d": 20, "at": "2026-01-17T00:00:00Z"})
    assert (await get(client, auth, listing_id)).json()["views_7d"] == 20


DROP = object()


@pytest.mark.parametrize(("type_", "patch"), [
    (UPSERTED, {"id": DROP}),
    (UPSERTED, {"id": "nope"}),
    (UPSERTED, {"lat": 123}),
    (UPSERTED, {"price": "12.345"}),
    (UPSERTED, {"deal_type": "SALE", "status": "LET_OUT"}),
    (UPSERTED, {"city": None}),
    (UPSERTED, {"listed_at": "yesterday"}),
    (UPSERTED, {"property_type": "Apartment"}),
    (UPSERTED, {"amenities": "LIFT"}),
    (REMOVED, {"listing_id": "nope"}),
    (REMOVED, {"removed_at": "2026-01-10T00:00:00"}),
    (STATS, {"views_7d": -1}),
    (STATS, {"at": DROP}),
    (STATS, {"views_7d": DROP}),
    (STATS, None),
], ids=["upsert-no-id", "upsert-bad-id", "upsert-lat", "upsert-price-places", "upsert-status-vs-deal",
        "upsert-null-city", "upsert-bad-listed-at", "upsert-type-case", "upsert-amenities-not-a-list",
        "remove-bad-id", "remove-naive-time", "stats-negative", "stats-no-at", "stats-no-views", "stats-not-object"])
async def test_bad_payload_is_parked_at_once_and_changes_nothing(client, auth, engine, type_, patch):
    listing_id = str(uuid.uuid4())
    await deliver(client, auth, UPSERTED, upserted(listing_id))
    good = {UPSERTED: upserted(listing_id), REMOVED: {"listing_id": listing_id},
            STATS: {"listing_id": listing_id, "views_7d": 5, "at": "2026-01-16T00:00:00Z"}}[type_]
    payload = ["not", "an", "object"] if patch is None else {
        k: v for k, v in {**good, **patch}.items() if v is not DROP}
    item = await deliver(client, auth, type_, payload, time="2026-01-20T00:00:00Z")
    assert (item["status"], item["attempts"]) == ("PARKED", 1), item
    got = (await get(client, auth, listing_id)).json()
    assert (got["status"], got["price"], got["views_7d"]) == ("AVAILABLE", 35000.00, None)
    assert await count(engine, listings) == 1
