from __future__ import annotations

import uuid
from typing import Any

from tests.builders import API

LISTINGS = f"{API}/inventory/listings"


def listing_body(**overrides: Any) -> dict[str, Any]:
    return {"owner_id": str(uuid.uuid4()), "city": "Bangalore", "locality": "Koramangala", "lat": 12.935213,
            "lon": 77.624512, "property_type": "APARTMENT", "deal_type": "RENT", "bhk": 2, "area_sqft": 1100,
            "price": 35000.00, "furnishing": "SEMI_FURNISHED", "amenities": ["LIFT", "PARKING"],
            "available_from": "2026-02-01", "status": "AVAILABLE", "listed_at": "2026-01-05T09:00:00Z",
            **overrides}


async def put_listing(client: Any, headers: dict[str, str], listing_id: str | None = None,
                      **overrides: Any) -> dict[str, Any]:
    listing_id = listing_id or str(uuid.uuid4())
    r = await client.put(f"{LISTINGS}/{listing_id}", json=listing_body(**overrides), headers=headers)
    assert r.status_code in (200, 201), r.text
    return r.json()
