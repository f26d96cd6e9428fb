"""Listings API (issue 10 §2): PUT upsert (SERVICE, SALES_ADMIN), GET one and GET list (any staff role) with
filters, cursor paging, 7-day views and the city average computed by the service."""
from __future__ import annotations

import uuid

import pytest

from sales.inventory.models import listings
from tests.allocation_builders import set_clock
from tests.api.customers.helpers import deliver
from tests.api.inventory.helpers import LISTINGS, listing_body, put_listing
from tests.checks import assert_problem, audit_rows, count

STAFF = ["RM", "SUPERVISOR", "SALES_ADMIN", "FINANCE_ADMIN", "SUPPORT_AGENT", "PRODUCT_MANAGER", "SERVICE"]


@pytest.mark.parametrize("role", ["SERVICE", "SALES_ADMIN"])
async def test_put_creates_then_replaces_exact_fields(client, auth, engine, role):
    await set_clock(client, auth.admin, "2026-01-17T10:30:00Z")
    listing_id = str(uuid.uuid4())
    body = listing_body(id=listing_id, amenities=["LIFT", "PARKING", "LIFT"])
    r = await client.put(f"{LISTINGS}/{listing_id}", json=body, headers=auth.headers(role))
    assert r.status_code == 201, r.text
    assert r.json() == {
        "id": listing_id, "owner_id": body["owner_id"], "city": "Bangalore", "locality": "Koramangala",
        "lat": 12.935213, "lon": 77.624512, "property_type": "APARTMENT", "deal_type": "RENT", "bhk": 2,
        "area_sqft": 1100, "price": 35000.00, "furnishing": "SEMI_FURNISHED", "amenities": ["LIFT", "PARKING"],
        "available_from": "2026-02-01", "status": "AVAILABLE", "listed_at": "2026-01-05T09:00:00Z",
        "views_7d": None, "city_avg_views_7d": None}
    assert '"price":35000.00' in r.text and '"lat":12.935213' in r.text  # exact decimals
    r = await client.put(f"{LISTINGS}/{listing_id}", json={**body, "price": "36000.50", "status": "LET_OUT"},
                         headers=auth.headers(role))
    assert r.status_code == 200, r.text
    assert (r.json()["price"], r.json()["status"]) == (36000.50, "LET_OUT")
    assert '"price":36000.50' in r.text
    rows = await audit_rows(engine, entity_type="listing", entity_id=listing_id)
    assert [a.action for a in rows] == ["listing.upserted"] * 2 and rows[0].before is None
    assert await count(engine, listings) == 1


async def test_put_older_than_stored_is_409_and_changes_nothing(client, auth, engine):
    listing_id = str(uuid.uuid4())
    await put_listing(client, auth.admin, listing_id, updated_at="2026-01-10T10:00:00Z")
    r = await client.put(f"{LISTINGS}/{listing_id}", json=listing_body(price=1, updated_at="2026-01-10T09:59:59Z"),
                         headers=auth.admin)
    assert_problem(r, 409, "stale_listing")
    assert (await client.get(f"{LISTINGS}/{listing_id}", headers=auth.admin)).json()["price"] == 35000.00


async def test_put_needs_a_token_and_a_backfill_role(client, auth):
    url = f"{LISTINGS}/{uuid.uuid4()}"
    assert_problem(await client.put(url, json=listing_body()), 401, "not_authenticated")
    for role in ("RM", "SUPERVISOR", "FINANCE_ADMIN", "SUPPORT_AGENT", "PRODUCT_MANAGER", "CUSTOMER"):
        assert_problem(await client.put(url, json=listing_body(), headers=auth.headers(role)), 403, "forbidden")


@pytest.mark.parametrize(("patch", "loc"), [
    ({"id": str(uuid.uuid4())}, ["body", "id"]),
    ({"city": "x" * 101}, ["body", "city"]),
    ({"locality": ""}, ["body", "locality"]),
    ({"locality": "Kora\u0000mangala"}, ["body", "locality"]),
    ({"lat": 91}, ["body", "lat"]),
    ({"lon": "NaN"}, ["body", "lon"]),
    ({"property_type": "apartment"}, ["body", "property_type"]),
    ({"deal_type": "LEASE"}, ["body", "deal_type"]),
    ({"bhk": -1}, ["body", "bhk"]),
    ({"price": 10.001}, ["body", "price"]),
    ({"price": -5}, ["body", "price"]),
    ({"amenities": ["x" * 65]}, ["body", "amenities", 0]),
    ({"status": "SOLD"}, ["body"]),  # a RENT listing is never SOLD
    ({"listed_at": "2026-01-05T09:00:00"}, ["body", "listed_at"]),
    ({"updated_at": "0001-01-01T00:00:00+14:00"}, ["body", "updated_at"]),
    ({"views_7d": 5}, ["body", "views_7d"]),
])
async def test_put_bad_input_422_writes_nothing(client, auth, engine, patch, loc):
    listing_id = str(uuid.uuid4())
    r = await client.put(f"{LISTINGS}/{listing_id}", json=listing_body(**patch), headers=auth.admin)
    assert_problem(r, 422, "validation_error", loc=loc)
    assert await count(engine, listings) == 0


async def test_get_one_any_staff_role_404_unknown_403_customer_401(client, auth):
    listing = await put_listing(client, auth.admin)
    for role in STAFF:
        r = await client.get(f"{LISTINGS}/{listing['id']}", headers=auth.headers(role))
        assert r.status_code == 200 and r.json() == listing
    assert_problem(await client.get(f"{LISTINGS}/{uuid.uuid4()}", headers=auth.admin), 404, "listing_not_found")
    assert_problem(await client.get(f"{LISTINGS}/{listing['id']}", headers=auth.headers("CUSTOMER")), 403,
                   "forbidden")
    assert_problem(await client.get(f"{LISTINGS}/{listing['id']}"), 401, "not_authenticated")
    assert_problem(await client.get(LISTINGS, headers=auth.headers("CUSTOMER")), 403, "forbidden")
    assert_problem(await client.get(LISTINGS), 401, "not_authenticated")
    assert_problem(await client.get(f"{LISTINGS}/nope", headers=auth.admin), 422, "validation_error",
                   loc=["path", "listing_id"])


async def _stats(client, auth, listing_id: str, views: int) -> None:  # type: ignore[no-untyped-def]
    item = await deliver(client, auth, "inventory.listing.stats",
                         {"listing_id": listing_id, "views_7d": views, "at": "2026-01-16T00:00:00Z"})
    assert item["status"] == "PROCESSED", item


async def test_views_and_city_average_of_available_listings(client, auth):
    a = await put_listing(client, auth.admin)
    b = await put_listing(client, auth.admin, city="bangalore")  # same city, any case
    c = await put_listing(client, auth.admin, status="LET_OUT")  # not AVAILABLE: not in the average
    d = await put_listing(client, auth.admin)  # no stats yet: not in the average
    m = await put_listing(client, auth.admin, city="Mumbai", locality="Bandra")
    for listing, views in ((a, 10), (b, 3), (c, 100), (m, 7)):
        await _stats(client, auth, listing["id"], views)
    got = {x["id"]: x for x in (await client.get(LISTINGS, headers=auth.admin)).json()["items"]}
    assert {(k, got[k]["views_7d"], got[k]["city_avg_views_7d"]) for k in got} == {
        (a["id"], 10, 6.50), (b["id"], 3, 6.50), (c["id"], 100, 6.50), (d["id"], None, 6.50),
        (m["id"], 7, 7.00)}
    one = await client.get(f"{LISTINGS}/{d['id']}", headers=auth.headers("RM"))
    assert one.json()["city_avg_views_7d"] == 6.50 and '"city_avg_views_7d":6.50' in one.text
    only = (await client.get(LISTINGS, params={"city": "BANGALORE", "status": "AVAILABLE"},
                             headers=auth.admin)).json()["items"]
    assert {x["id"] for x in only} == {a["id"], b["id"], d["id"]}
    assert {x["city_avg_views_7d"] for x in only} == {6.50}


async def test_list_filters(client, auth):
    base = await put_listing(client, auth.admin)
    sale = await put_listing(client, auth.admin, deal_type="SALE", price=9500000, status="SOLD", bhk=3)
    villa = await put_listing(client, auth.admin, property_type="VILLA", locality="HSR Layout", price="80000.00")
    pune = await put_listing(client, auth.admin, city="Pune", locality="Baner", bhk=1, price=18000)

    async def ids(**params):  # type: ignore[no-untyped-def]
        r = await client.get(LISTINGS, params=params, headers=auth.headers("SUPPORT_AGENT"))
        assert r.status_code == 200, r.text
        return {x["id"] for x in r.json()["items"]}

    everything = {base["id"], sale["id"], villa["id"], pune["id"]}
    assert await ids() == everything
    assert await ids(city="Pune") == {pune["id"]}
    assert await ids(locality="hsr layout") == {villa["id"]}
    assert await ids(property_type="VILLA") == {villa["id"]}
    assert await ids(deal_type="SALE") == {sale["id"]}
    assert await ids(bhk=3) == {sale["id"]}
    assert await ids(status="SOLD") == {sale["id"]}
    assert await ids(price_min="18000", price_max="35000.00") == {base["id"], pune["id"]}
    assert await ids(price_min="80000.01") == {sale["id"]}
    assert await ids(owner_id=villa["owner_id"]) == {villa["id"]}
    assert await ids(city="Delhi") == set()


@pytest.mark.parametrize("params", [{"price_min": "abc"}, {"price_min": "-1"}, {"price_max": "NaN"},
                                    {"price_min": "10", "price_max": "5"}, {"bhk": "two"}, {"deal_type": "LEASE"},
                                    {"status": "GONE"}, {"city": "x" * 101}, {"property_type": "villa"},
                                    {"cursor": "garbage"}, {"limit": 0}, {"limit": 501}])
async def test_list_bad_query_422(client, auth, params):
    r = await client.get(LISTINGS, params=params, headers=auth.admin)
    assert_problem(r, 422, "validation_error")


async def test_list_cursor_pages_newest_listed_first(client, auth):
    made = [await put_listing(client, auth.admin, listed_at=f"2026-01-{day:02d}T09:00:00+05:30")
            for day in (3, 9, 5, 9, 1)]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(LISTINGS, params=params, headers=auth.admin)).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 5 and {x["id"] for x in seen} == {m["id"] for m in made}
    assert [x["listed_at"] for x in seen] == ["2026-01-09T03:30:00Z"] * 2 + [
        "2026-01-05T03:30:00Z", "2026-01-03T03:30:00Z", "2026-01-01T03:30:00Z"]
