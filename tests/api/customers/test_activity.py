"""Activity read model (issue 10 §2): engagement.property.viewed stored once per view, counted by time window;
the backfill POST; views without contact since a time (UPR-003 input)."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from sales.customers import service
from sales.customers.models import customer_property_views as views
from tests.api.customers.helpers import deliver
from tests.builders import API
from tests.checks import assert_problem, audit_rows, count

TYPE = "engagement.property.viewed"


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 1, day, hour, 0, tzinfo=UTC)


def viewed(user: str, day: int, contacted: bool = False, **extra) -> dict:  # type: ignore[no-untyped-def]
    return {"user_id": user, "property_id": str(uuid.uuid4()), "viewed_at": at(day).isoformat(),
            "contacted": contacted, **extra}


async def counts(engine, user: str, since: datetime, until: datetime) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        c = await service.activity_counts(conn, uuid.UUID(user), since, until)
    return c.views, c.contacts


async def without_contact(engine, user: str, since: datetime) -> int:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return await service.views_without_contact_since(conn, uuid.UUID(user), since)


async def test_first_delivery_is_counted_in_its_window(client, auth, engine):
    user = str(uuid.uuid4())
    assert (await deliver(client, auth, TYPE, viewed(user, 10, contacted=True, channel="app")))["status"] == "PROCESSED"
    assert await counts(engine, user, at(10), at(11)) == (1, 1)
    assert await counts(engine, user, at(10, 11), at(11)) == (0, 0)  # [since, until)
    assert await counts(engine, str(uuid.uuid4()), at(1), at(30)) == (0, 0)


async def test_duplicate_delivery_changes_nothing(client, auth, engine):
    user, event_id = str(uuid.uuid4()), str(uuid.uuid4())
    data = viewed(user, 10)
    assert (await deliver(client, auth, TYPE, data, id_=event_id))["status"] == "PROCESSED"
    assert (await deliver(client, auth, TYPE, data, id_=event_id))["status"] == "DUPLICATE"
    assert await count(engine, views) == 1


async def test_the_view_row_is_idempotent_by_event_id_even_without_the_inbox(engine):
    user = uuid.uuid4()
    async with engine.begin() as conn:
        for _ in range(2):
            await service.record_view(conn, key="event:abc", user_id=user, property_id=uuid.uuid4(),
                                      viewed_at=at(10), contacted=False, now=at(10))
    assert await count(engine, views) == 1


async def test_out_of_order_views_count_by_when_they_happened(client, auth, engine):
    user = str(uuid.uuid4())
    for day, contacted in [(14, False), (9, True), (12, False), (3, False), (13, True), (15, False), (16, False)]:
        await deliver(client, auth, TYPE, viewed(user, day, contacted), time=at(17).isoformat())
    assert await counts(engine, user, at(10), at(17)) == (5, 1)   # 7-day window
    assert await counts(engine, user, at(1), at(17)) == (7, 2)
    # UPR-003 input: views after the last contact (13th): the 14th, 15th and 16th
    assert await without_contact(engine, user, at(1)) == 3
    assert await without_contact(engine, user, at(15)) == 2


async def test_views_without_any_contact_count_from_since(client, auth, engine):
    user = str(uuid.uuid4())
    for day in (5, 6, 7, 8, 9, 10):
        await deliver(client, auth, TYPE, viewed(user, day))
    assert await without_contact(engine, user, at(6)) == 5


@pytest.mark.parametrize("data", [
    {"property_id": str(uuid.uuid4()), "viewed_at": "2026-01-10T10:00:00Z"},
    {"user_id": "USER", "viewed_at": "2026-01-10T10:00:00Z"},
    {"user_id": "USER", "property_id": str(uuid.uuid4())},
    {"user_id": "USER", "property_id": "p-1", "viewed_at": "2026-01-10T10:00:00Z"},
    {"user_id": "USER", "property_id": str(uuid.uuid4()), "viewed_at": "2026-01-10 10:00"},
    {"user_id": "USER", "property_id": str(uuid.uuid4()), "viewed_at": "2026-01-10T10:00:00Z", "contacted": "no"},
    "a string",
], ids=["no-user", "no-property", "no-time", "bad-property", "naive-time", "bad-contacted", "not-an-object"])
async def test_bad_payload_is_parked_at_once(client, auth, engine, data):
    if isinstance(data, dict) and data.get("user_id") == "USER":
        data = {**data, "user_id": str(uuid.uuid4())}
    item = await deliver(client, auth, TYPE, data)
    assert (item["status"], item["attempts"]) == ("PARKED", 1), item
    assert await count(engine, views) == 0


# --- POST /customers/{user_id}/activity (backfill) --------------------------------------------

def activity_url(user_id: str) -> str:
    return f"{API}/customers/{user_id}/activity"


async def test_post_stores_a_view_once_per_id(client, auth, engine):
    user, prop = str(uuid.uuid4()), str(uuid.uuid4())
    body = {"id": "eng-view-42", "property_id": prop, "viewed_at": "2026-01-10T15:30:00+05:30", "contacted": True}
    r = await client.post(activity_url(user), json=body, headers=auth.headers("SERVICE"))
    assert r.status_code == 201, r.text
    assert r.json() == {"id": "api:eng-view-42", "user_id": user, "property_id": prop,
                        "viewed_at": "2026-01-10T10:00:00Z", "contacted": True}
    again = await client.post(activity_url(user), json=body, headers=auth.admin)
    assert again.status_code == 200 and again.json() == r.json()
    assert await count(engine, views) == 1
    assert [a.action for a in await audit_rows(engine, entity_type="customer_view")] == ["customer.view.recorded"]
    clash = await client.post(activity_url(user), json={**body, "contacted": False}, headers=auth.admin)
    assert_problem(clash, 409, "view_id_conflict")
    other = await client.post(activity_url(str(uuid.uuid4())), json=body, headers=auth.admin)
    assert_problem(other, 409, "view_id_conflict")  # never another user's view back
    assert await counts(engine, user, at(10), at(11)) == (1, 1)


async def test_post_without_id_stores_each_view(client, auth, engine):
    user = str(uuid.uuid4())
    body = {"property_id": str(uuid.uuid4()), "viewed_at": "2026-01-10T10:00:00Z"}
    for _ in range(2):
        r = await client.post(activity_url(user), json=body, headers=auth.admin)
        assert r.status_code == 201 and r.json()["contacted"] is False
    assert await count(engine, views) == 2


async def test_post_needs_a_token_and_a_backfill_role(client, auth):
    user = str(uuid.uuid4())
    body = {"property_id": str(uuid.uuid4()), "viewed_at": "2026-01-10T10:00:00Z"}
    assert_problem(await client.post(activity_url(user), json=body), 401, "not_authenticated")
    for role in ("RM", "SUPERVISOR", "FINANCE_ADMIN", "SUPPORT_AGENT", "PRODUCT_MANAGER", "CUSTOMER"):
        r = await client.post(activity_url(user), json=body, headers=auth.headers(role, sub=uuid.UUID(user)))
        assert_problem(r, 403, "forbidden")


@pytest.mark.parametrize(("patch", "loc"), [
    ({"property_id": None}, ["body", "property_id"]),
    ({"viewed_at": "2026-01-10T10:00:00"}, ["body", "viewed_at"]),
    ({"viewed_at": "0001-01-01T00:00:00+14:00"}, ["body", "viewed_at"]),
    ({"contacted": "maybe"}, ["body", "contacted"]),
    ({"id": "x" * 129}, ["body", "id"]),
    ({"id": "bad\u0000id"}, ["body", "id"]),
    ({"user_id": str(uuid.uuid4())}, ["body", "user_id"]),
])
async def test_post_bad_input_422(client, auth, engine, patch, loc):
    body = {"property_id": str(uuid.uuid4()), "viewed_at": "2026-01-10T10:00:00Z", **patch}
    r = await client.post(activity_url(str(uuid.uuid4())), json=body, headers=auth.admin)
    assert_problem(r, 422, "validation_error", loc=loc)
    assert await count(engine, views) == 0
