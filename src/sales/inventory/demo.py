"""Demo listings for `sales seed --demo`: a few hundred around the demo localities, deterministic (seeded)."""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.inventory import repository
from sales.inventory.enums import DealType, Furnishing, ListingStatus

# Approximate centres of the demo localities (sales/demo.py CITIES); listings scatter ~1 km around them.
LOCALITY_CENTRES: dict[str, dict[str, tuple[str, str]]] = {
    "Bangalore": {"Koramangala": ("12.9352", "77.6245"), "HSR Layout": ("12.9116", "77.6474"),
                  "BTM Layout": ("12.9166", "77.6101"), "Jayanagar": ("12.9250", "77.5938"),
                  "Indiranagar": ("12.9784", "77.6408"), "Whitefield": ("12.9698", "77.7500"),
                  "Marathahalli": ("12.9591", "77.6974"), "Bellandur": ("12.9304", "77.6784")},
    "Mumbai": {"Andheri": ("19.1136", "72.8697"), "Bandra": ("19.0596", "72.8295"), "Juhu": ("19.1075", "72.8263"),
               "Goregaon": ("19.1663", "72.8526"), "Dadar": ("19.0178", "72.8478"), "Parel": ("19.0030", "72.8400"),
               "Worli": ("19.0176", "72.8172"), "Lower Parel": ("18.9977", "72.8376")},
    "Pune": {"Kothrud": ("18.5074", "73.8077"), "Baner": ("18.5590", "73.7868"), "Aundh": ("18.5580", "73.8075"),
             "Wakad": ("18.5987", "73.7688")},
}
# Monthly rent of a 2 BHK (rupees) per city; sale prices are ~300x rent.
RENT_2BHK = {"Bangalore": 32000, "Mumbai": 65000, "Pune": 24000}
TYPES = [("APARTMENT", 70), ("INDEPENDENT_HOUSE", 10), ("VILLA", 5), ("STUDIO", 7), ("OFFICE_SPACE", 5),
         ("SHOP", 3)]
AMENITIES = ["LIFT", "POWER_BACKUP", "PARKING", "GYM", "SWIMMING_POOL", "SECURITY", "CLUBHOUSE", "PLAY_AREA",
             "GAS_PIPELINE", "WIFI"]
PER_LOCALITY = 14
SEED = 10


def _listing(rng: random.Random, city: str, locality: str, centre: tuple[str, str], now: datetime) -> dict[str, Any]:
    property_type = rng.choices([t for t, _ in TYPES], weights=[w for _, w in TYPES])[0]
    commercial = property_type in ("OFFICE_SPACE", "SHOP")
    bhk = None if commercial else 1 if property_type == "STUDIO" else rng.choice([1, 2, 2, 2, 3, 3, 4])
    area = int((bhk or 2) * rng.uniform(420, 650)) if not commercial else rng.randrange(300, 3000, 50)
    deal_type = DealType.RENT if rng.random() < 0.65 else DealType.SALE
    rent = RENT_2BHK[city] * (bhk or 2) / 2 * rng.uniform(0.75, 1.4) * (1.5 if property_type == "VILLA" else 1)
    price = Decimal(round(rent / 500) * 500) if deal_type is DealType.RENT else Decimal(round(rent * 300 / 100000) * 100000)
    status = rng.choices([ListingStatus.AVAILABLE, ListingStatus.INACTIVE,
                          ListingStatus.LET_OUT if deal_type is DealType.RENT else ListingStatus.SOLD],
                         weights=[80, 5, 15])[0]
    listed_at = now - timedelta(days=rng.randrange(1, 120), minutes=rng.randrange(0, 1440))
    jitter = Decimal("0.000001")
    lat = (Decimal(centre[0]) + Decimal(str(round(rng.uniform(-0.009, 0.009), 6)))).quantize(jitter)
    lon = (Decimal(centre[1]) + Decimal(str(round(rng.uniform(-0.009, 0.009), 6)))).quantize(jitter)
    return {
        "id": uuid.UUID(int=rng.getrandbits(128), version=4), "owner_id": uuid.UUID(int=rng.getrandbits(128), version=4),
        "city": city, "locality": locality, "lat": lat, "lon": lon, "property_type": property_type,
        "deal_type": deal_type.value, "bhk": bhk, "area_sqft": area, "price": price,
        "furnishing": None if commercial else rng.choice(list(Furnishing)).value,
        "amenities": sorted(rng.sample(AMENITIES, rng.randrange(1, 6))),
        "available_from": (now + timedelta(days=rng.randrange(0, 45))).date() if status is ListingStatus.AVAILABLE
        else None,
        "status": status.value, "listed_at": listed_at, "updated_at": listed_at, "created_at": now,
    }


async def seed(conn: AsyncConnection, *, now: datetime) -> list[dict[str, Any]]:
    """Insert the demo listings (with 7-day view stats) and return them."""
    rng = random.Random(SEED)
    made = []
    for city, localities in LOCALITY_CENTRES.items():
        for locality, centre in localities.items():
            for _ in range(PER_LOCALITY):
                values = _listing(rng, city, locality, centre, now)
                await repository.upsert(conn, values)
                views = rng.randrange(0, 60) if values["status"] == ListingStatus.AVAILABLE.value else rng.randrange(0, 5)
                await repository.set_stats(conn, values["id"], views_7d=views, at=now)
                made.append(values)
    return made
