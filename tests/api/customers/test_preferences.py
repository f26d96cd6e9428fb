"""Preferences read model (issue 10 §2): users.preferences.updated and the backfill PUT; last write wins by the
time the preferences were set (data.updated_at, else the event time, else arrival)."""
from __future__ import annotations

import uuid

import pytest

from sales.customers.models import customer_preferences
from sales.core.tables import inbox_events
from tests.allocation_builders import set_clock
from tests.api.customers.helpers import EVENTS, deliver
from tests.api.events.helpers import cloudevent
from tests.builders import API
from tests.checks import assert_problem, audit_rows, count, fetch

TYPE = "users.preferences.updated"


def prefs_url(user_id: str) -> str:
    return f"{API}/customers/{user_id}/preferences"


async def stored(engine, user_id: str):  # type: ignore[no-untyped-def]
    rows = await fetch(engine, customer_preferences, customer_preferences.c.user_id == uuid.UUID(user_id))
    return rows[0] if rows else None


async def test_first_delivery_stores_the_snapshot(client, auth, engine):
    user = str(uuid.uuid4())
    item = await deliver(client, auth, TYPE, {"user_id": user, "marketing_opt_out": True,
                                              "channels_opted_out": ["SMS", "EMAIL", "SMS"],
                                              "preferred_channel": "WHATSAPP", "language": "hi-IN",
                                              "unknown_field": "ignored"})
    assert item["status"] == "PROCESSED", item
    row = await stored(engine, user)
    assert (row.marketing_opt_out, row.channels_opted_out, row.preferred_channel, row.language) == (
        True, ["EMAIL", "SMS"], "WHATSAPP", "hi-IN")
    assert row.updated_at.isoformat() == "2026-01-10T10:00:00+00:00"  # the event's time


async def test_duplicate_delivery_changes_nothing(client, auth, engine):
    user, event_id = str(uuid.uuid4()), str(uuid.uuid4())
    data = {"user_id": user, "marketing_opt_out": False, "preferred_channel": "EMAIL"}
    assert (await deliver(client, auth, TYPE, data, id_=event_id))["status"] == "PROCESSED"
    again = await deliver(client, auth, TYPE, {**data, "preferred_channel": "SMS"}, id_=event_id)
    assert again["status"] == "DUPLICATE"
    assert (await stored(engine, user)).preferred_channel == "EMAIL"
    assert await count(engine, customer_preferences) == 1


async def test_out_of_order_an_older_snapshot_never_overwrites_a_newer_one(client, auth, engine):
    user = str(uuid.uuid4())
    newer = {"user_id": user, "marketing_opt_out": True, "updated_at": "2026-01-10T12:00:00+05:30"}
    older = {"user_id": user, "marketing_opt_out": False, "preferred_channel": "SMS"}
    assert (await deliver(client, auth, TYPE, newer))["status"] == "PROCESSED"
    # older by its event time (no updated_at in the data): processed, but nothing changes
    assert (await deliver(client, auth, TYPE, older, time="2026-01-10T06:00:00Z"))["status"] == "PROCESSED"
    row = await stored(engine, user)
    assert (row.marketing_opt_out, row.preferred_channel) == (True, None)
    assert row.updated_at.isoformat() == "2026-01-10T06:30:00+00:00"
    # a later one wins
    await deliver(client, auth, TYPE, {**older, "updated_at": "2026-01-10T07:00:00Z"})
    assert (await stored(engine, user)).preferred_channel == "SMS"


async def test_without_any_time_the_arrival_time_orders(client, auth, engine):
    await set_clock(client, auth.admin, "2026-01-20T09:00:00Z")
    user = str(uuid.uuid4())
    await deliver(client, auth, TYPE, {"user_id": user, "marketing_opt_out": False}, time=None)
    assert (await stored(engine, user)).updated_at.isoformat() == "2026-01-20T09:00:00+00:00"


@pytest.mark.parametrize("data", [
    {"marketing_opt_out": True},  # no user
    {"user_id": "not-a-uuid", "marketing_opt_out": True},
    {"user_id": "USER", "marketing_opt_out": "yes"},
    {"user_id": "USER"},
    {"user_id": "USER", "marketing_opt_out": True, "channels_opted_out": ["CARRIER_PIGEON"]},
    {"user_id": "USER", "marketing_opt_out": True, "preferred_channel": "FAX"},
    {"user_id": "USER", "marketing_opt_out": True, "updated_at": "2026-01-10T10:00:00"},  # no offset
    {"user_id": "USER", "marketing_opt_out": True, "updated_at": "0001-01-01T00:00:00+14:00"},  # overflows
    ["not", "an", "object"],
], ids=["no-user", "bad-user", "bool-as-string", "no-opt-out", "unknown-channel", "unknown-preferred",
        "naive-time", "overflowing-time", "not-an-object"])
async def test_bad_payload_is_parked_at_once_and_writes_nothing(client, auth, engine, data):
    if isinstance(data, dict) and data.get("user_id") == "USER":
        data = {**data, "user_id": str(uuid.uuid4())}
    item = await deliver(client, auth, TYPE, data)
    assert (item["status"], item["attempts"]) == ("PARKED", 1), item
    assert await count(engine, customer_preferences) == 0


async def test_a_nul_character_is_refused_at_ingest_and_nothing_is_stored(client, auth, engine):
    """issue 9 item 7: a NUL (which PostgreSQL cannot store) makes the delivery a 422, not a half-kept event."""
    event = cloudevent(TYPE, {"user_id": str(uuid.uuid4()), "marketing_opt_out": True, "language": "en\u0000"})
    r = await client.post(EVENTS, json=event, headers=auth.headers("SERVICE"))
    assert r.status_code == 422 and r.json()["code"] == "malformed_event"
    assert r.json()["errors"] == [{"loc": ["body", "data", "language"], "msg": "must not contain NUL characters"}]
    assert await count(engine, customer_preferences) == 0
    assert await count(engine, inbox_events) == 0


# --- PUT /customers/{user_id}/preferences (backfill) ------------------------------------------

BODY = {"marketing_opt_out": False, "channels_opted_out": ["WHATSAPP"], "preferred_channel": "EMAIL",
        "language": "en"}


@pytest.mark.parametrize("role", ["SERVICE", "SALES_ADMIN"])
async def test_put_creates_then_replaces_and_audits(client, auth, engine, role):
    await set_clock(client, auth.admin, "2026-01-17T10:30:00Z")
    user = str(uuid.uuid4())
    r = await client.put(prefs_url(user), json=BODY, headers=auth.headers(role))
    assert r.status_code == 201, r.text
    assert r.json() == {"user_id": user, "marketing_opt_out": False, "channels_opted_out": ["WHATSAPP"],
                        "preferred_channel": "EMAIL", "language": "en", "updated_at": "2026-01-17T10:30:00Z"}
    r = await client.put(prefs_url(user), json={"marketing_opt_out": True}, headers=auth.headers(role))
    assert r.status_code == 200, r.text
    assert (r.json()["marketing_opt_out"], r.json()["channels_opted_out"], r.json()["preferred_channel"]) == (
        True, [], None)
    rows = await audit_rows(engine, entity_type="customer_preferences", entity_id=user)
    assert [a.action for a in rows] == ["customer.preferences.set"] * 2
    assert rows[1].before["preferred_channel"] == "EMAIL" and rows[1].after["marketing_opt_out"] is True


async def test_put_older_than_stored_is_409_and_changes_nothing(client, auth, engine):
    user = str(uuid.uuid4())
    await deliver(client, auth, TYPE, {"user_id": user, "marketing_opt_out": True,
                                       "updated_at": "2026-01-12T00:00:00Z"})
    r = await client.put(prefs_url(user), json={**BODY, "updated_at": "2026-01-11T00:00:00Z"},
                         headers=auth.headers("SERVICE"))
    assert_problem(r, 409, "stale_preferences")
    assert (await stored(engine, user)).marketing_opt_out is True
    assert await audit_rows(engine, entity_type="customer_preferences") == []


async def test_put_needs_a_token_and_a_backfill_role(client, auth):
    user = str(uuid.uuid4())
    assert_problem(await client.put(prefs_url(user), json=BODY), 401, "not_authenticated")
    for role in ("RM", "SUPERVISOR", "FINANCE_ADMIN", "SUPPORT_AGENT", "PRODUCT_MANAGER", "CUSTOMER"):
        headers = auth.headers(role, sub=uuid.UUID(user))  # not even the customer themself
        assert_problem(await client.put(prefs_url(user), json=BODY, headers=headers), 403, "forbidden")


@pytest.mark.parametrize(("body", "loc"), [
    ({}, ["body", "marketing_opt_out"]),
    ({**BODY, "preferred_channel": "FAX"}, ["body", "preferred_channel"]),
    ({**BODY, "channels_opted_out": ["SMS"] * 6}, ["body", "channels_opted_out"]),
    ({**BODY, "language": "x" * 36}, ["body", "language"]),
    ({**BODY, "language": "e\u0000n"}, ["body", "language"]),
    ({**BODY, "updated_at": "2026-01-10T10:00:00"}, ["body", "updated_at"]),
    ({**BODY, "updated_at": "9999-12-31T23:59:59-14:00"}, ["body", "updated_at"]),
    ({**BODY, "user_id": str(uuid.uuid4())}, ["body", "user_id"]),
])
async def test_put_bad_input_422(client, auth, engine, body, loc):
    r = await client.put(prefs_url(str(uuid.uuid4())), json=body, headers=auth.admin)
    assert_problem(r, 422, "validation_error", loc=loc)
    assert await count(engine, customer_preferences) == 0


async def test_put_bad_user_id_in_path_422(client, auth):
    r = await client.put(prefs_url("not-a-uuid"), json=BODY, headers=auth.admin)
    assert_problem(r, 422, "validation_error", loc=["path", "user_id"])
