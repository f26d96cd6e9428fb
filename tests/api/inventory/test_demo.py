"""Demo context (issue 10 §2): a few hundred listings around the demo localities with plausible coordinates,
deterministic; preferences and views for the demo leads' customers."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from sales.customers import demo as context_demo
from sales.customers.models import customer_preferences, customer_property_views
from sales.demo import CITIES
from sales.inventory import demo as inventory_demo
from sales.inventory.models import listings
from tests.api.inventory.helpers import LISTINGS
from tests.builders import make_lead
from tests.checks import count, fetch

NOW = datetime(2026, 1, 17, 10, 30, tzinfo=UTC)


async def test_demo_listings_customers_and_views(client, auth, engine):
    for _ in range(3):
        await make_lead(engine)
    async with engine.begin() as conn:
        await context_demo.seed(conn, now=NOW)
    rows = await fetch(engine, listings)
    assert 200 <= len(rows) <= 400
    localities = {loc for zones in CITIES.values() for locs in zones.values() for loc in locs}
    assert {r.locality for r in rows} == localities  # every demo locality has listings
    for r in rows:
        lat, lon = (Decimal(c) for c in inventory_demo.LOCALITY_CENTRES[r.city][r.locality])
        assert abs(r.lat - lat) <= Decimal("0.01") and abs(r.lon - lon) <= Decimal("0.01")
        assert r.price > 0 and r.views_7d is not None
    assert await count(engine, customer_preferences) == 3
    assert await count(engine, customer_property_views) >= 0
    page = (await client.get(LISTINGS, params={"city": "Mumbai", "status": "AVAILABLE", "limit": 500},
                             headers=auth.headers("RM"))).json()
    assert page["items"] and all(x["city_avg_views_7d"] is not None for x in page["items"])


def test_demo_listings_are_deterministic():
    import random

    def first(seed: int) -> dict:  # type: ignore[type-arg]
        return inventory_demo._listing(random.Random(seed), "Pune", "Baner", ("18.5590", "73.7868"), NOW)

    assert first(10) == first(10) and first(10)["id"] != first(11)["id"]
    assert isinstance(first(10)["id"], uuid.UUID)
