"""GET/PUT /upsells/triggers: the trigger configuration, stored, versioned and audited (issue 11; UPR-002 80%
and UPR-003 5 views are the defaults)."""
from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest

from tests.allocation_builders import advance, run_job
from tests.api.upsell.helpers import UPSELLS, create, start
from tests.checks import assert_problem, audit_rows
from tests.commerce_builders import event, send, statuses

TRIGGERS = f"{UPSELLS}/triggers"
DEFAULTS = {"version": 0, "quota_threshold_percent": 80, "views_without_contact": 5, "offer_window_days": 7,
            "attribution_window_days": 7, "boost_expected_extra_views": 30,
            "enabled_triggers": ["QUOTA_THRESHOLD", "VIEWS_WITHOUT_CONTACT", "PLAN_EXPIRED", "LOW_LISTING_VIEWS"],
            "updated_by": None, "updated_at": None}


def config(**overrides):  # type: ignore[no-untyped-def]
    return {"quota_threshold_percent": Decimal("90.0"), "views_without_contact": 3, "offer_window_days": 2,
            "attribution_window_days": 3, "enabled_triggers": ["QUOTA_THRESHOLD", "VIEWS_WITHOUT_CONTACT"],
            **overrides}


async def test_defaults_then_a_new_version_that_the_triggers_follow(client, auth, engine):
    plans = await start(client, auth)
    pm = auth.headers("PRODUCT_MANAGER", sub=uuid.UUID(int=7))
    r = await client.get(TRIGGERS, headers=pm)
    assert (r.status_code, r.json()) == (200, DEFAULTS)
    r = await send(client, "PUT", TRIGGERS, config(version=0), pm)
    assert r.status_code == 200, r.text
    assert r.json() == {"version": 1, "quota_threshold_percent": 90.0, "views_without_contact": 3,
                        "offer_window_days": 2, "attribution_window_days": 3, "boost_expected_extra_views": 30,
                        "enabled_triggers": ["QUOTA_THRESHOLD", "VIEWS_WITHOUT_CONTACT"],
                        "updated_by": str(uuid.UUID(int=7)), "updated_at": "2026-01-10T10:00:00Z"}
    assert (await client.get(TRIGGERS, headers=auth.admin)).json()["version"] == 1
    [audited] = await audit_rows(engine, action="upsell.triggers.updated")
    assert audited.entity_id == "1"
    # 80% no longer fires (90% does); 3 views do.
    user, viewer = str(uuid.uuid4()), str(uuid.uuid4())
    usage = {"user_id": user, "plan_id": plans["basic"]["id"], "quota_name": "owner_contacts", "quota": 10}
    assert await statuses(client, auth, *(event("entitlements.usage.updated",
                                                {**usage, "used": used, "at": f"2026-01-10T09:0{used - 8}:00Z"},
                                                source="/mysqrft/entitlements") for used in (8, 9))) == [
        "PROCESSED"] * 2
    [quota] = (await client.get(UPSELLS, params={"user_id": user}, headers=auth.headers("SERVICE"))).json()["items"]
    assert (quota["trigger_context"]["percent"], quota["trigger_context"]["threshold_percent"]) == ("90.0", "90.0")
    assert quota["expires_at"] == "2026-01-12T10:00:00Z"  # offer window 2 days
    views = [event("engagement.property.viewed", {"user_id": viewer, "property_id": str(uuid.uuid4()),
                                                  "viewed_at": f"2026-01-10T09:0{i}:00Z"},
                   source="/mysqrft/engagement") for i in range(3)]
    assert await statuses(client, auth, *views) == ["PROCESSED"] * 3
    [banner] = (await client.get(UPSELLS, params={"user_id": viewer}, headers=auth.headers("SERVICE"))).json()["items"]
    assert banner["trigger_context"]["threshold"] == 3
    await advance(client, auth.admin, 2 * 86400)
    assert (await run_job(client, auth.admin, "upsell-expiry"))["processed"] == 2


async def test_a_disabled_trigger_does_not_fire_but_post_upsells_still_works(client, auth):
    plans = await start(client, auth)
    assert (await send(client, "PUT", TRIGGERS, config(enabled_triggers=[]), auth.admin)).status_code == 200
    user = str(uuid.uuid4())
    data = {"user_id": user, "plan_id": plans["basic"]["id"], "quota_name": "owner_contacts", "quota": 5,
            "used": 5, "at": "2026-01-10T09:00:00Z"}
    assert await statuses(client, auth, event("entitlements.usage.updated", data,
                                              source="/mysqrft/entitlements")) == ["PROCESSED"]
    assert (await client.get(UPSELLS, params={"user_id": user},
                             headers=auth.headers("SERVICE"))).json()["items"] == []
    assert (await create(client, auth.headers("SERVICE"), plans["premium"], user)).status_code == 201


async def test_stale_version_and_concurrent_puts_conflict(client, auth):
    await start(client, auth)
    admin = auth.admin
    assert (await send(client, "PUT", TRIGGERS, config(), admin)).status_code == 200
    assert_problem(await send(client, "PUT", TRIGGERS, config(version=0), admin), 409, "trigger_config_changed")
    responses = await asyncio.gather(*(send(client, "PUT", TRIGGERS, config(version=1), admin) for _ in range(4)))
    assert sorted(r.status_code for r in responses) == [200] + [409] * 3, [r.text for r in responses]
    assert (await client.get(TRIGGERS, headers=admin)).json()["version"] == 2


@pytest.mark.parametrize(("field", "value"), [
    ("quota_threshold_percent", Decimal("0")), ("quota_threshold_percent", Decimal("100.5")),
    ("quota_threshold_percent", Decimal("80.25")), ("views_without_contact", 0), ("views_without_contact", "5"),
    ("offer_window_days", 91), ("attribution_window_days", True), ("enabled_triggers", ["NOPE"]),
    ("unknown", 1),
])
async def test_bad_configuration_is_422_naming_the_field(client, auth, field, value):
    await start(client, auth)
    r = await send(client, "PUT", TRIGGERS, config(**{field: value}), auth.admin)
    assert_problem(r, 422, "validation_error")
    assert field in r.text
    assert (await client.get(TRIGGERS, headers=auth.admin)).json()["version"] == 0


async def test_access(client, auth):
    assert_problem(await client.get(TRIGGERS), 401, "not_authenticated")
    for role in ("SERVICE", "FINANCE_ADMIN", "CUSTOMER", "RM"):
        assert_problem(await client.get(TRIGGERS, headers=auth.headers(role)), 403, "forbidden")
        assert_problem(await send(client, "PUT", TRIGGERS, config(), auth.headers(role)), 403, "forbidden")
