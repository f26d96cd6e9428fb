"""Demo context for `sales seed --demo`: the listings (inventory demo), and for the demo leads' customers
their communication preferences and recent property views. Deterministic (seeded)."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.customers import repository
from sales.inventory import demo as inventory_demo
from sales.leads.models import leads
from sales.notifications.enums import Channel

SEED = 11


async def seed(conn: AsyncConnection, *, now: datetime) -> None:
    """Listings, then preferences and views (last 30 days) of every demo lead's customer."""
    listings = await inventory_demo.seed(conn, now=now)
    rng = random.Random(SEED)
    # Demo code only: the customers are whoever the demo leads belong to (read straight from the leads table).
    customers = sorted({c for c in (await conn.execute(select(leads.c.customer_id))).scalars() if c}, key=str)
    for n, user_id in enumerate(customers):
        opted_out = rng.sample([Channel.SMS, Channel.WHATSAPP, Channel.EMAIL], rng.choice([0, 0, 1, 2]))
        preferred = rng.choice([None, Channel.PUSH_NOTIFICATION, Channel.WHATSAPP, Channel.EMAIL])
        await repository.upsert_preferences(conn, {
            "user_id": user_id, "marketing_opt_out": n % 7 == 3, "channels_opted_out": [c.value for c in Channel if c in opted_out],
            "preferred_channel": preferred.value if preferred and preferred not in opted_out else None,
            "language": rng.choice(["en", "en", "hi", "kn", "mr"]), "updated_at": now - timedelta(days=30),
            "source": "demo", "received_at": now})
        city = rng.choice(list(inventory_demo.LOCALITY_CENTRES))
        city_listings = [x for x in listings if x["city"] == city]
        for v in range(rng.randrange(0, 14)):
            listing = rng.choice(city_listings)
            await repository.insert_view(conn, {
                "id": f"demo:{user_id}:{v}", "user_id": user_id, "property_id": listing["id"],
                "viewed_at": now - timedelta(days=rng.randrange(0, 30), minutes=rng.randrange(0, 1440)),
                "contacted": rng.random() < 0.15, "received_at": now})
