"""POST / PUT /targets and the lists (issue 13): bad input 422 naming the field with nothing written, one live
target per assignee, metric and period (409, also under concurrency), changes audited."""
from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal

import pytest

from sales.targets.models import sales_targets
from tests.api.targets.helpers import TARGETS, body, create, get, sell, start, target, team_of
from tests.checks import assert_problem, audit_rows, count
from tests.commerce_builders import send


@pytest.mark.parametrize(("overrides", "loc"), [
    ({"target_type": "PERSONAL"}, ["body", "target_type"]),
    ({"period_type": "YEARLY"}, ["body", "period_type"]),
    ({"metric_type": "CALLS_MADE"}, ["body", "metric_type"]),
    ({"period_start": "2026-13-01"}, ["body", "period_start"]),
    ({"period_start": 20260101}, ["body", "period_start"]),
    ({"target_value": "-5"}, ["body", "target_value"]),
    ({"target_value": 0}, ["body", "target_value"]),
    ({"target_value": "100.001"}, ["body", "target_value"]),
    ({"metric_type": "DEALS_CLOSED", "target_value": "2.5"}, ["body", "target_value"]),
    ({"metric_type": "CONVERSION_RATE", "target_value": "100.01"}, ["body", "target_value"]),
    ({"metric_type": "CUSTOMER_SATISFACTION", "target_value": "10.5"}, ["body", "target_value"]),
    ({"assignee_id": "not-a-uuid"}, ["body", "assignee_id"]),
    ({"assignee_id": None}, ["body", "assignee_id"]),
    ({"city": "Bangalore"}, ["body", "city"]),
    ({"target_type": "TEAM"}, ["body", "assignee_id"]),  # the RM's id is no team
    ({"target_type": "CITY", "assignee_id": None}, ["body", "city"]),
    ({"target_type": "CITY", "assignee_id": None, "city": "Atlantis"}, ["body", "city"]),
    ({"target_type": "CITY", "city": "Bangalore"}, ["body", "assignee_id"]),  # the RM's id is not the city's
    ({"status": "ACHIEVED"}, ["body", "status"]),
])
async def test_bad_input_is_422_naming_the_field_and_writes_nothing(client, auth, engine, overrides, loc):
    await start(client, auth)
    _, [priya] = await team_of(client, auth.admin, "Priya Patel")
    response = await create(client, auth.admin, priya["id"], **overrides)
    assert_problem(response, 422, "validation_error", loc=loc)
    assert await count(engine, sales_targets) == 0


async def test_unknown_rm_is_422(client, auth, engine):
    await start(client, auth)
    assert_problem(await create(client, auth.admin, str(uuid.uuid4())), 422, "validation_error",
                   loc=["body", "assignee_id"])


async def test_create_answers_the_target_measured_and_audits_it(client, auth, engine):
    plan = await start(client, auth)
    _, [priya] = await team_of(client, auth.admin, "Priya Patel")
    await sell(client, auth, plan, rm_id=priya["id"], amount="2500.00", paid_at="2026-01-05T10:00:00Z")
    created = await target(client, auth.admin, priya["id"], target_value=Decimal("10000.00"))
    assert {k: created[k] for k in ("target_type", "assignee_id", "period_type", "period_start", "period_end",
                                    "metric_type", "status", "city")} == {
        "target_type": "INDIVIDUAL", "assignee_id": priya["id"], "period_type": "MONTHLY",
        "period_start": "2026-01-01", "period_end": "2026-01-31", "metric_type": "REVENUE", "status": "ACTIVE",
        "city": "Bangalore"}
    assert (Decimal(str(created["target_value"])), Decimal(str(created["achieved_value"])),
            Decimal(str(created["achievement_percentage"]))) == (
        Decimal("10000.00"), Decimal("2500.00"), Decimal("25.00"))
    assert [a.action for a in await audit_rows(engine, entity_type="sales_target")] == ["target.created"]


async def test_one_live_target_per_assignee_metric_and_period(client, auth):
    await start(client, auth)
    _, [priya] = await team_of(client, auth.admin, "Priya Patel")
    first = await target(client, auth.admin, priya["id"])
    assert_problem(await create(client, auth.admin, priya["id"]), 409, "target_exists")
    assert (await create(client, auth.admin, priya["id"], metric_type="DEALS_CLOSED",
                         target_value=Decimal("3"))).status_code == 201
    assert (await create(client, auth.admin, priya["id"], period_type="QUARTERLY")).status_code == 201
    put = await client.put(f"{TARGETS}/{first['id']}", json={"status": "CANCELLED"}, headers=auth.admin)
    assert (put.status_code, put.json()["status"]) == (200, "CANCELLED")
    assert (await create(client, auth.admin, priya["id"])).status_code == 201  # set again after cancelling


async def test_parallel_creates_leave_one_target(client, auth, engine):
    await start(client, auth)
    _, [priya] = await team_of(client, auth.admin, "Priya Patel")
    responses = await asyncio.gather(*(send(client, "POST", TARGETS, body(priya["id"]), auth.admin)
                                       for _ in range(6)))
    assert sorted(r.status_code for r in responses) == [201] + [409] * 5, [r.text for r in responses]
    assert await count(engine, sales_targets) == 1


async def test_put_changes_the_value_and_remeasures_then_cancel_is_final(client, auth, engine):
    plan = await start(client, auth)
    _, [priya] = await team_of(client, auth.admin, "Priya Patel")
    goal = await target(client, auth.admin, priya["id"], target_value=Decimal("10000.00"))
    await sell(client, auth, plan, rm_id=priya["id"], amount="3000.00", paid_at="2026-01-05T10:00:00Z")
    put = await send(client, "PUT", f"{TARGETS}/{goal['id']}", {"target_value": Decimal("3000.00")}, auth.admin)
    assert put.status_code == 200, put.text
    assert (Decimal(str(put.json()["achievement_percentage"])), put.json()["status"]) == (Decimal("100.00"),
                                                                                        "ACHIEVED")
    cancel = await client.put(f"{TARGETS}/{goal['id']}", json={"status": "CANCELLED"}, headers=auth.admin)
    assert cancel.json()["status"] == "CANCELLED"
    assert_problem(await client.put(f"{TARGETS}/{goal['id']}", json={"target_value": 10}, headers=auth.admin),
                   409, "target_closed")
    assert (await get(client, auth.admin, goal["id"]))["status"] == "CANCELLED"
    actions = [a.action for a in await audit_rows(engine, entity_type="sales_target")]
    assert actions == ["target.created", "target.updated", "target.cancelled"]


@pytest.mark.parametrize(("payload", "loc"), [
    ({}, ["body", "target_value"]),
    ({"status": "ACHIEVED"}, ["body", "status"]),
    ({"target_value": "-1"}, ["body", "target_value"]),
    ({"assignee_id": str(uuid.uuid4())}, ["body", "assignee_id"]),
])
async def test_put_bad_input_is_422(client, auth, payload, loc):
    await start(client, auth)
    _, [priya] = await team_of(client, auth.admin, "Priya Patel")
    goal = await target(client, auth.admin, priya["id"], metric_type="DEALS_CLOSED", target_value=Decimal("3"))
    assert_problem(await client.put(f"{TARGETS}/{goal['id']}", json=payload, headers=auth.admin), 422,
                   "validation_error", loc=loc)
    fractional = await client.put(f"{TARGETS}/{goal['id']}", json={"target_value": "2.5"}, headers=auth.admin)
    assert_problem(fractional, 422, "validation_error", loc=["body", "target_value"])
    assert Decimal(str((await get(client, auth.admin, goal["id"]))["target_value"])) == Decimal("3.00")


async def test_list_filters_and_cursor(client, auth):
    await start(client, auth)
    team, [priya, arjun] = await team_of(client, auth.admin, "Priya Patel", "Arjun Rao")
    made = []
    for month in ("2026-01-01", "2026-02-01", "2026-03-01"):
        made.append(await target(client, auth.admin, priya["id"], period_start=month))
    await target(client, auth.admin, arjun["id"], metric_type="DEALS_CLOSED", target_value=Decimal("2"))
    await target(client, auth.admin, team["id"], target_type="TEAM", period_type="QUARTERLY")
    async def ids(**params):
        response = await client.get(TARGETS, params=params, headers=auth.admin)
        assert response.status_code == 200, response.text
        return [t["id"] for t in response.json()["items"]], response.json()["next_cursor"]
    assert (await ids(assignee_id=priya["id"]))[0] == [t["id"] for t in reversed(made)]
    assert len((await ids(metric_type="DEALS_CLOSED"))[0]) == 1
    assert len((await ids(target_type="TEAM", period_type="QUARTERLY"))[0]) == 1
    assert len((await ids(period_start_from="2026-02-01", period_start_to="2026-03-01"))[0]) == 2
    assert len((await ids(status="ACTIVE"))[0]) == 5
    first, cursor = await ids(limit=2)
    second, last = await ids(limit=2, cursor=cursor)
    third, end = await ids(limit=2, cursor=last)
    assert len(set(first + second + third)) == 5 and end is None
    for params, loc in (({"status": "DONE"}, ["query", "status"]), ({"period_start_from": "Jan"},
                                                                       ["query", "period_start_from"]),
                        ({"cursor": "bm9wZQ"}, ["query", "cursor"])):
        assert_problem(await client.get(TARGETS, params=params, headers=auth.admin), 422, "validation_error",
                       loc=loc)


@pytest.mark.parametrize(("params", "loc"), [
    ({"scope": "region"}, ["query", "scope"]),
    ({"metric_type": "CALLS"}, ["query", "metric_type"]),
    ({"period_start": "2026-01-02"}, ["query", "period_start"]),
    ({"scope_id": "not-a-team-id"}, ["query", "scope_id"]),
])
async def test_leaderboard_bad_input_is_422(client, auth, params, loc):
    await start(client, auth)
    team, _ = await team_of(client, auth.admin, "Priya Patel")
    query = {"metric_type": "REVENUE", "period_type": "MONTHLY", "scope": "team", "scope_id": team["id"], **params}
    assert_problem(await client.get(f"{TARGETS}/leaderboard", params=query, headers=auth.admin), 422,
                   "validation_error", loc=loc)


async def test_parallel_cancels_cancel_once(client, auth, engine):
    await start(client, auth)
    _, [priya] = await team_of(client, auth.admin, "Priya Patel")
    goal = await target(client, auth.admin, priya["id"])
    responses = await asyncio.gather(*(client.put(f"{TARGETS}/{goal['id']}", json={"status": "CANCELLED"},
                                                  headers=auth.admin) for _ in range(5)))
    assert sorted(r.status_code for r in responses) == [200] + [409] * 4, [r.text for r in responses]
    assert [a.action for a in await audit_rows(engine, entity_type="sales_target")] == ["target.created",
                                                                                         "target.cancelled"]
