"""A customer with their data everywhere (issue 20 data protection): a handoff that made their lead (name, phone,
email), the RM's pipeline notes, requirements, a shared shortlist with their feedback, a task, their preferences
and activity, an order and a refund whose reason quotes their phone and email, with evidence."""
from __future__ import annotations

import json
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from sales.core.pii import cipher
from sales.core.sealed import is_sealed
from sales.models import metadata
from tests.allocation_builders import city_with_rms, set_clock
from tests.api.inventory.helpers import put_listing
from tests.api.journey.helpers import requirements_body
from tests.builders import API
from tests.commerce_builders import make_plan, send

NAME, PHONE, EMAIL = "Zubeida Quraishi", "+91-9123456780", "zubeida.q@example.com"
NOW = "2026-01-19T06:30:00Z"  # a Monday, 12:00 in Bangalore: RMs at work
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


async def customer_world(client: Any, auth: Any, *, user_id: str | None = None) -> dict[str, Any]:
    user_id = user_id or str(uuid.uuid4())
    await set_clock(client, auth.admin, NOW)
    _, rms = await city_with_rms(client, auth.admin, count=1)
    customer = auth.headers("CUSTOMER", sub=uuid.UUID(user_id))
    handoff = await client.post(f"{API}/handoffs", headers=customer, json={
        "user_id": user_id, "direction": "TO_ASSISTED", "reason": f"{NAME} wants a call on {PHONE}",
        "context": {"city": "Bangalore", "locality": "Koramangala",
                    "customer": {"name": NAME, "phone": PHONE, "email": EMAIL}}})
    assert handoff.status_code == 201, handoff.text
    pipeline_id, rm_id = handoff.json()["pipeline_ids"][0], handoff.json()["rm_id"]
    rm = auth.rm(uuid.UUID(rm_id))
    r = await client.put(f"{API}/pipelines/{pipeline_id}", headers=rm,
                         json={"notes": f"Called {NAME} on {PHONE}; mail {EMAIL}"})
    assert r.status_code == 200, r.text
    r = await client.put(f"{API}/pipelines/{pipeline_id}/requirements", headers=rm,
                         json=requirements_body(near={"lat": 12.9352, "lon": 77.6245, "radius_km": 3}))
    assert r.status_code in (200, 201), r.text
    await put_listing(client, auth.admin, price=35000.00, bhk=2)
    r = await client.post(f"{API}/pipelines/{pipeline_id}/shortlists", headers=rm,
                          json={"from_suggestions": 1, "notes": f"For {NAME} ({EMAIL})"})
    assert r.status_code == 201, r.text
    shortlist = r.json()
    r = await client.post(f"{API}/shortlists/{shortlist['id']}/share", json={"channel": "WHATSAPP"}, headers=rm)
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    listing_id = shortlist["items"][0]["listing_id"]
    r = await client.post(f"/s/{token}/feedback", json={"listing_id": listing_id, "reaction": "LIKE",
                                                        "comment": f"call me on {PHONE}"})
    assert r.status_code in (200, 201, 303), r.text
    r = await client.post(f"{API}/tasks", headers=rm, json={"type": "CALL", "due_at": "2026-01-20T06:30:00Z",
                                                            "pipeline_id": pipeline_id,
                                                            "notes": f"ring {NAME} at {PHONE}"})
    assert r.status_code == 201, r.text
    service = auth.headers("SERVICE")
    r = await client.put(f"{API}/customers/{user_id}/preferences", headers=service,
                         json={"marketing_opt_out": True, "preferred_channel": "WHATSAPP"})
    assert r.status_code in (200, 201), r.text
    r = await client.post(f"{API}/customers/{user_id}/activity", headers=service,
                          json={"property_id": listing_id, "viewed_at": "2026-01-18T10:00:00Z", "contacted": True})
    assert r.status_code == 201, r.text
    order = await _order(client, auth, user_id)
    r = await send(client, "POST", f"{API}/refunds", {
        "order_id": order, "type": "REFUND", "reason": f"{NAME}: nobody called {PHONE} or wrote to {EMAIL}"},
        customer)
    assert r.status_code == 201, r.text
    return {"user_id": user_id, "customer": customer, "pipeline_id": pipeline_id, "rm": rm, "token": token,
            "order_id": order, "refund_id": r.json()["id"], "shortlist_id": shortlist["id"]}


async def _order(client: Any, auth: Any, user_id: str) -> str:
    plan = await make_plan(client, auth.admin, duration_days=45, price=Decimal("1499.00"))
    order_id = str(uuid.uuid4())
    body = {"payment_id": str(uuid.uuid4()), "user_id": user_id, "user_type": "TENANT", "plan_id": plan["id"],
            "amount": Decimal("1499.00"), "currency": "INR", "paid_at": "2026-01-18T10:00:00Z"}
    r = await send(client, "PUT", f"{API}/orders/{order_id}", body, auth.headers("SERVICE"))
    assert r.status_code == 201, r.text
    return order_id


async def every_text(engine: AsyncEngine) -> list[tuple[str, str, str]]:
    """(table, column, text) for every non-null value of every column, sealed ones opened: what a search of the
    whole database finds."""
    found = []
    async with engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in (await conn.execute(select(table))).mappings().all():
                for name, value in row.items():
                    if value is None:
                        continue
                    if is_sealed(table.c[name]) and not type(table.c[name].type).__name__.startswith("Sealed"):
                        value = cipher().decrypt(value)
                    text = value if isinstance(value, str) else json.dumps(value, default=str)
                    found.append((table.name, name, text))
    return found


def mentions(found: list[tuple[str, str, str]]) -> list[tuple[str, str, str]]:
    """The values naming the customer: their name (or surname), phone digits or email."""
    needles = [NAME.lower(), "quraishi", "zubeida", "9123456780", EMAIL]
    return [(t, c, v) for t, c, v in found if any(n in v.lower().replace("-", "").replace(" ", "")
                                                  or n in v.lower() for n in needles)]
