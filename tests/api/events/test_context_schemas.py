"""docs/events has a schema for every context type of issue 10 §2/§4, and for every type a domain handles;
the schemas accept what the handlers accept and reject what they park."""
from __future__ import annotations

import uuid

import pytest

from sales.events import registry
from tests.api.events.helpers import cloudevent
from tests.events_schema import errors_of, schema_types

CONSUMED = {"users.preferences.updated", "engagement.property.viewed", "inventory.listing.upserted",
            "inventory.listing.removed", "inventory.listing.stats"}
PUBLISHED = {"sales.notification.requested"}
U = str(uuid.uuid4())
LISTING = {"id": U, "owner_id": U, "city": "Pune", "locality": "Baner", "lat": 18.559, "lon": 73.7868,
           "property_type": "APARTMENT", "deal_type": "RENT", "price": 24000.00, "listed_at": "2026-01-05T09:00:00Z"}


def test_every_context_type_and_every_handled_type_has_a_schema():
    registry.load_handlers()
    assert CONSUMED | PUBLISHED <= schema_types()
    assert set(registry._HANDLERS) <= schema_types()


@pytest.mark.parametrize(("type_", "data"), [
    ("users.preferences.updated", {"user_id": U, "marketing_opt_out": True, "channels_opted_out": ["SMS"],
                                   "preferred_channel": None, "language": "hi-IN"}),
    ("engagement.property.viewed", {"user_id": U, "property_id": U, "viewed_at": "2026-01-10T10:00:00Z",
                                    "contacted": True}),
    ("inventory.listing.upserted", {**LISTING, "bhk": 2, "amenities": ["LIFT"], "available_from": "2026-02-01",
                                    "furnishing": "FURNISHED", "status": "LET_OUT"}),
    ("inventory.listing.removed", {"listing_id": U, "removed_at": "2026-01-10T10:00:00Z"}),
    ("inventory.listing.stats", {"listing_id": U, "views_7d": 12, "at": "2026-01-10T10:00:00Z"}),
])
def test_valid_examples(type_, data):
    assert errors_of(cloudevent(type_, data)) == []


@pytest.mark.parametrize(("type_", "data"), [
    ("users.preferences.updated", {"user_id": U}),
    ("users.preferences.updated", {"user_id": U, "marketing_opt_out": True, "preferred_channel": "FAX"}),
    ("engagement.property.viewed", {"user_id": U, "property_id": "p1", "viewed_at": "2026-01-10T10:00:00Z"}),
    ("inventory.listing.upserted", {**LISTING, "deal_type": "LEASE"}),
    ("inventory.listing.upserted", {k: v for k, v in LISTING.items() if k != "price"}),
    ("inventory.listing.removed", {"removed_at": "2026-01-10T10:00:00Z"}),
    ("inventory.listing.stats", {"listing_id": U, "views_7d": -1, "at": "2026-01-10T10:00:00Z"}),
])
def test_invalid_examples(type_, data):
    assert errors_of(cloudevent(type_, data))


def test_notification_requested_contract():
    base = {"specversion": "1.0", "id": U, "source": "/mysqrft/sales", "type": "sales.notification.requested",
            "time": "2026-01-17T10:30:00Z", "subject": U, "datacontenttype": "application/json"}
    data = {"notification_id": U, "recipient": {"type": "CUSTOMER", "id": U}, "channel": "EMAIL",
            "template": "upsell.tenant_premium", "data": {}, "dedupe_key": "k", "transactional": False}
    assert errors_of({**base, "data": data}) == []
    assert errors_of({**base, "data": {**data, "recipient": {"type": "CUSTOMER", "id": None}}})
    assert errors_of({**base, "data": {**data, "recipient": {"type": "SUPERVISOR", "id": None, "team_id": U}}}) == []
    assert errors_of({**base, "data": {**data, "channel": "IN_APP_BANNER"}})
    assert errors_of({**base, "data": {**data, "template": "lead_assigned"}})  # its data needs sla_deadline...
