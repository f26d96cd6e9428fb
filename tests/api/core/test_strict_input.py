"""A value of another JSON type than the published one is refused, not converted (issue 9 item 16).

Pydantic's lax mode took 0 or "yes" as a boolean, true or "5" as an integer, 0 or 0.5 as a date or a timestamp:
the conformance test found each as a 2xx to a request its published schema refuses. Every route uses the strict
types of `sales.core.fields` (tests/unit/core/test_request_models.py holds new routes to them).
"""
from __future__ import annotations

from typing import Any

import pytest

from tests.builders import API, freeze_clock, make_rm, make_rm_with_team
from tests.checks import assert_problem, row_counts
from tests.commerce_builders import plan_body, send


@pytest.mark.parametrize(("query", "loc"), [
    pytest.param("/audit?to=0.5", ["query", "to"], id="audit-to-number"),
    pytest.param("/audit?from=1700000000", ["query", "from"], id="audit-from-unix-time"),
    pytest.param("/allocations?to=0.5", ["query", "to"], id="allocations-to-number"),
    pytest.param("/pipelines?expected_close_to=0", ["query", "expected_close_to"], id="pipelines-date-number"),
    pytest.param("/pipelines/stats?expected_close_to=0", ["query", "expected_close_to"], id="stats-date-number"),
    pytest.param("/pipelines?created_from=2026-01-17%2010:30:00Z", ["query", "created_from"], id="no-T"),
    pytest.param("/rms?is_backup=1", ["query", "is_backup"], id="rms-backup-1"),
    pytest.param("/plans?active=yes", ["query", "active"], id="plans-active-yes"),
    pytest.param("/teams?limit=5.0", ["query", "limit"], id="limit-with-fraction"),
    pytest.param("/teams?limit=1_0", ["query", "limit"], id="limit-with-underscore"),
    pytest.param("/inventory/listings?bhk=%2B2", ["query", "bhk"], id="bhk-with-sign"),
    pytest.param("/inventory/listings?price_min=1_000", ["query", "price_min"], id="price-with-underscore"),
])
async def test_query_values_of_another_form_are_422(client, auth, query, loc):
    """issue 9 item 16: query parameters take "true"/"false", ASCII digits and ISO 8601 dates only."""
    assert_problem(await client.get(f"{API}{query}", headers=auth.admin), 422, "validation_error", loc=loc)


async def test_query_values_in_the_published_form_are_taken(client, auth):
    _, rm = await make_rm_with_team(client, auth.admin, is_backup=True)
    response = await client.get(f"{API}/rms?is_backup=true&limit=10", headers=auth.admin)
    assert response.status_code == 200, response.text
    assert [r["id"] for r in response.json()["items"]] == [rm["id"]]
    assert (await client.get(f"{API}/pipelines?expected_close_to=2026-02-01", headers=auth.admin)).status_code == 200


@pytest.mark.parametrize(("overrides", "loc"), [
    pytest.param({"is_backup": 1}, ["body", "is_backup"], id="boolean-from-1"),
    pytest.param({"is_backup": "true"}, ["body", "is_backup"], id="boolean-from-string"),
    pytest.param({"capacity": True}, ["body", "capacity"], id="integer-from-true"),
    pytest.param({"capacity": "5"}, ["body", "capacity"], id="integer-from-string"),
    pytest.param({"performance_score": 0.5}, ["body", "performance_score"], id="integer-from-fraction"),
    pytest.param({"shifts": [{"weekday": False, "start": "09:00", "end": "18:00"}]},
                 ["body", "shifts", 0, "weekday"], id="weekday-from-false"),
])
async def test_body_values_of_another_json_type_are_422_and_write_nothing(client, auth, engine, overrides, loc):
    """issue 9 item 16: POST /rms with 1 as a boolean or "5"/true/0.5 as an integer was created."""
    before = await row_counts(engine)
    body = {"id": "5d0e7c56-8f3b-4a43-9d52-8a54f1b0a001", "name": "Priya Patel", "email": "priya@mysqrft.com",
            "city": "Bangalore", **overrides}
    assert_problem(await client.post(f"{API}/rms", json=body, headers=auth.admin), 422, "validation_error", loc=loc)
    assert await row_counts(engine) == before


async def test_clock_advance_of_false_is_422(client, auth, engine):
    """issue 9 item 16: `advance_seconds: false` advanced the clock by 0 seconds (200)."""
    now = await freeze_clock(client, auth.admin)
    before = await row_counts(engine)
    response = await client.put(f"{API}/admin/clock", json={"advance_seconds": False}, headers=auth.admin)
    assert_problem(response, 422, "validation_error", loc=["body", "advance_seconds"])
    assert (await client.get(f"{API}/admin/clock", headers=auth.admin)).json() == {"now": now}
    assert await row_counts(engine) == before


@pytest.mark.parametrize("start_date", [0, 1768608000, "1768608000", "2026-02-02T00:00:00Z"])
async def test_leave_dates_only_from_iso_strings(client, auth, engine, start_date):
    """issue 9 item 16: `start_date: 0` was a leave from 1970-01-01."""
    rm = await make_rm(client, auth.admin)
    before = await row_counts(engine)
    response = await client.post(f"{API}/rms/{rm['id']}/leaves", json={"start_date": start_date,
                                                                        "end_date": "2026-02-04"}, headers=auth.admin)
    assert_problem(response, 422, "validation_error", loc=["body", "start_date"])
    assert await row_counts(engine) == before


@pytest.mark.parametrize(("rules", "field"), [
    ({"overflow_to_backup": 0}, ["overflow_to_backup"]), ({"sla_minutes": "120"}, ["sla_minutes"]),
    ({"sla_minutes": True}, ["sla_minutes"]), ({"performance_boost": {"strength": False}}, ["performance_boost",
                                                                                           "strength"])])
async def test_rule_values_of_another_json_type_are_422(client, auth, engine, rules: dict[str, Any], field):
    """issue 9 item 16: `rules.overflow_to_backup: 0` was stored as false."""
    current = (await client.get(f"{API}/allocations/rules", headers=auth.admin)).json()
    before = await row_counts(engine)
    response = await client.put(f"{API}/allocations/rules", json={"rules": rules}, headers=auth.admin)
    assert_problem(response, 422, "invalid_rules", loc=["body", "rules", *field])
    assert (await client.get(f"{API}/allocations/rules", headers=auth.admin)).json() == current
    assert await row_counts(engine) == before


async def test_an_integral_number_is_an_integer_as_the_schema_says(client, auth):
    """issue 9 item 16: JSON Schema's integer takes 260.0; so does the API (it answers 260), never 260.5."""
    response = await send(client, "POST", f"{API}/plans", plan_body(tier=2.0, duration_days=260.0), auth.admin)
    assert response.status_code == 201, response.text
    assert (response.json()["tier"], response.json()["duration_days"]) == (2, 260)
    fraction = await send(client, "POST", f"{API}/plans", plan_body(duration_days=260.5), auth.admin)
    assert_problem(fraction, 422, "validation_error", loc=["body", "duration_days"])
