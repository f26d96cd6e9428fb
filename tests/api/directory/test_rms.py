"""RM directory: POST/GET /rms, GET/PUT /rms/{id} (issue 2 §5)."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import update

from sales.directory.models import rm_localities, rms
from tests.builders import API, freeze_clock, make_rm, make_rm_with_team, make_team
from tests.checks import assert_problem, audit_rows, fetch, row_counts


def _rm_body(**overrides):  # type: ignore[no-untyped-def]
    return {"id": str(uuid.uuid4()), "name": "Priya Patel", "email": "priya@mysqrft.com", "city": "Bangalore",
            **overrides}


async def test_create_rm_with_every_field(client, auth, engine):
    now = await freeze_clock(client, auth.admin)
    team = await make_team(client, auth.admin)
    rm_id = str(uuid.uuid4())
    body = {"id": rm_id, "name": "Priya Patel", "email": "priya@mysqrft.com", "phone": "+91-9811111111",
            "team_id": team["id"], "city": "Bangalore", "zone": "South",
            "localities": ["Koramangala", "HSR Layout", "Koramangala"], "property_types": ["RESIDENTIAL"],
            "segments": ["TENANT", "BUYER"], "max_deal_value": "5000000.00", "capacity": 30,
            "max_leads_per_day": 8, "max_leads_per_week": 35, "base_salary": 40000.5, "performance_score": 82, "is_backup": True, "status": "ACTIVE",
            "availability": "OFFLINE", "shifts": [{"weekday": 0, "start": "09:00", "end": "18:00"},
                                                  {"weekday": 5, "start": "22:00", "end": "06:00"}]}
    response = await client.post(f"{API}/rms", json=body, headers=auth.admin)
    assert response.status_code == 201, response.text
    assert response.json() == {
        **body, "localities": ["Koramangala", "HSR Layout"], "max_deal_value": 5000000.0, "base_salary": 40000.5,
        "active_leads": 0, "created_at": now, "updated_at": now}
    assert '"max_deal_value":5000000.00' in response.text and '"base_salary":40000.50' in response.text
    localities = await fetch(engine, rm_localities, rm_localities.c.rm_id == uuid.UUID(rm_id))
    assert sorted(r.locality for r in localities) == ["hsr layout", "koramangala"]
    [entry] = await audit_rows(engine, entity_type="rm")
    assert (entry.action, entry.entity_id) == ("rm.created", rm_id)
    # issue 9 item 6: audit snapshots keep contact details masked
    assert (entry.after["email"], entry.after["phone"]) == ("p***@mysqrft.com", "+91-98XXXXXXXX")


async def test_create_rm_defaults(client, auth):
    response = await client.post(f"{API}/rms", json=_rm_body(), headers=auth.admin)
    assert response.status_code == 201, response.text
    rm = response.json()
    assert {k: rm[k] for k in ("team_id", "phone", "zone", "localities", "property_types", "segments",
                               "max_deal_value", "capacity", "base_salary", "performance_score", "is_backup",
                               "status", "availability", "shifts")} == {
        "team_id": None, "phone": None, "zone": None, "localities": [],
        "property_types": ["RESIDENTIAL", "COMMERCIAL"], "segments": ["TENANT", "OWNER", "BUYER"],
        "max_deal_value": None, "capacity": 25, "base_salary": 0.0, "performance_score": 50, "is_backup": False,
        "status": "ACTIVE", "availability": "ONLINE", "shifts": []}
    assert '"base_salary":0.00' in response.text


async def test_create_rm_with_an_existing_id_is_409(client, auth, engine):
    rm = await make_rm(client, auth.admin)
    before = await row_counts(engine)
    response = await client.post(f"{API}/rms", json=_rm_body(id=rm["id"]), headers=auth.admin)
    assert_problem(response, 409, "rm_exists")
    assert await row_counts(engine) == before


@pytest.mark.parametrize(("overrides", "loc"), [
    pytest.param({"id": None}, ["body", "id"], id="missing-id"),
    pytest.param({"id": "not-a-uuid"}, ["body", "id"], id="malformed-id"),
    pytest.param({"email": "priya-at-mysqrft"}, ["body", "email"], id="bad-email"),
    pytest.param({"name": ""}, ["body", "name"], id="empty-name"),
    pytest.param({"team_id": "abc"}, ["body", "team_id"], id="malformed-team"),
    pytest.param({"team_id": str(uuid.uuid4())}, ["body", "team_id"], id="unknown-team"),
    pytest.param({"property_types": ["INDUSTRIAL"]}, ["body", "property_types", 0], id="unknown-property-type"),
    pytest.param({"segments": ["RENTER"]}, ["body", "segments", 0], id="unknown-segment"),
    pytest.param({"status": "ON_LEAVE"}, ["body", "status"], id="unknown-status"),
    pytest.param({"availability": "BUSY"}, ["body", "availability"], id="unknown-availability"),
    pytest.param({"base_salary": "-1.00"}, ["body", "base_salary"], id="negative-salary"),
    pytest.param({"base_salary": 40000.123}, ["body", "base_salary"], id="salary-three-places"),
    pytest.param({"max_deal_value": "-0.01"}, ["body", "max_deal_value"], id="negative-max-deal"),
    pytest.param({"performance_score": 101}, ["body", "performance_score"], id="score-over-100"),
    pytest.param({"performance_score": -1}, ["body", "performance_score"], id="score-negative"),
    pytest.param({"capacity": -1}, ["body", "capacity"], id="negative-capacity"),
    pytest.param({"shifts": [{"weekday": 7, "start": "09:00", "end": "18:00"}]}, ["body", "shifts", 0, "weekday"],
                 id="weekday-7"),
    pytest.param({"shifts": [{"weekday": 1, "start": "25:00", "end": "18:00"}]}, ["body", "shifts", 0, "start"],
                 id="bad-shift-time"),
    pytest.param({"shifts": [{"weekday": 1, "start": "09:00", "end": "09:00"}]}, ["body", "shifts", 0],
                 id="empty-shift"),
    pytest.param({"active_leads": 3}, ["body", "active_leads"], id="read-only-field"),
])
async def test_create_rm_bad_input_is_422_naming_the_field(client, auth, engine, overrides, loc):
    body = {k: v for k, v in _rm_body(**overrides).items() if v is not None}
    before = await row_counts(engine)
    response = await client.post(f"{API}/rms", json=body, headers=auth.admin)
    assert_problem(response, 422, "validation_error", loc=loc)
    assert await row_counts(engine) == before


async def test_rms_are_scoped_to_the_caller(client, auth):
    team, rm = await make_rm_with_team(client, auth.admin, name="Asha")
    teammate = await make_rm(client, auth.admin, team_id=team["id"], name="Bala")
    other_team, outsider = await make_rm_with_team(client, auth.admin, name="Chitra")
    supervisor = auth.supervisor(uuid.UUID(team["id"]))

    async def visible(headers):  # type: ignore[no-untyped-def]
        response = await client.get(f"{API}/rms", headers=headers)
        assert response.status_code == 200
        return [r["name"] for r in response.json()["items"]]

    assert await visible(auth.rm(rm["id"])) == ["Asha"]
    assert await visible(supervisor) == ["Asha", "Bala"]
    for role in ("SALES_ADMIN", "FINANCE_ADMIN", "SUPPORT_AGENT", "PRODUCT_MANAGER", "SERVICE"):
        assert await visible(auth.headers(role)) == ["Asha", "Bala", "Chitra"], role

    assert (await client.get(f"{API}/rms/{rm['id']}", headers=auth.rm(rm["id"]))).status_code == 200
    assert_problem(await client.get(f"{API}/rms/{teammate['id']}", headers=auth.rm(rm["id"])), 404, "rm_not_found")
    assert (await client.get(f"{API}/rms/{teammate['id']}", headers=supervisor)).status_code == 200
    assert_problem(await client.get(f"{API}/rms/{outsider['id']}", headers=supervisor), 404, "rm_not_found")
    assert (await client.get(f"{API}/rms/{outsider['id']}", headers=auth.headers("FINANCE_ADMIN"))).status_code == 200


async def test_get_rm_exact_record(client, auth):
    rm = await make_rm(client, auth.admin)
    response = await client.get(f"{API}/rms/{rm['id']}", headers=auth.admin)
    assert response.status_code == 200 and response.json() == rm


async def test_get_unknown_rm_is_404(client, auth):
    assert_problem(await client.get(f"{API}/rms/{uuid.uuid4()}", headers=auth.admin), 404, "rm_not_found")


@pytest.mark.parametrize(("params", "expected"), [
    ({"city": "Pune"}, ["Dev"]),
    ({"zone": "East"}, ["Bala"]),
    ({"status": "INACTIVE"}, ["Chitra"]),
    ({"availability": "OFFLINE"}, ["Bala"]),
    ({"is_backup": "true"}, ["Dev"]),
    ({"is_backup": "false"}, ["Asha", "Bala", "Chitra"]),
])
async def test_list_rms_filters(client, auth, params, expected):
    await make_rm(client, auth.admin, name="Asha")
    await make_rm(client, auth.admin, name="Bala", zone="East", availability="OFFLINE")
    await make_rm(client, auth.admin, name="Chitra", status="INACTIVE")
    await make_rm(client, auth.admin, name="Dev", city="Pune", is_backup=True)
    response = await client.get(f"{API}/rms", params=params, headers=auth.admin)
    assert response.status_code == 200
    assert [r["name"] for r in response.json()["items"]] == expected


async def test_list_rms_by_team(client, auth):
    team, rm = await make_rm_with_team(client, auth.admin)
    await make_rm(client, auth.admin)
    response = await client.get(f"{API}/rms", params={"team_id": team["id"]}, headers=auth.admin)
    assert [r["id"] for r in response.json()["items"]] == [rm["id"]]


@pytest.mark.parametrize(("params", "loc"), [
    ({"status": "GONE"}, ["query", "status"]), ({"availability": "x"}, ["query", "availability"]),
    ({"team_id": "x"}, ["query", "team_id"]), ({"is_backup": "maybe"}, ["query", "is_backup"]),
])
async def test_list_rms_bad_filters_are_422(client, auth, params, loc):
    assert_problem(await client.get(f"{API}/rms", params=params, headers=auth.admin), 422, "validation_error", loc=loc)


async def test_list_rms_cursor_pagination_walks_everything_once(client, auth):
    names = [f"RM {i:02d}" for i in range(7)]
    for name in reversed(names):
        await make_rm(client, auth.admin, name=name)
    seen, cursor = [], None
    while True:
        response = await client.get(f"{API}/rms", params={"limit": 3, **({"cursor": cursor} if cursor else {})},
                                    headers=auth.admin)
        page = response.json()
        seen += [r["name"] for r in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == names


async def test_forged_cursor_is_422_not_500(client, auth):
    from sales.core.http import encode_cursor

    for cursor in (encode_cursor("Asha", "not-a-uuid"), encode_cursor("only-one")):
        for path in ("/rms", "/teams"):
            response = await client.get(f"{API}{path}", params={"cursor": cursor}, headers=auth.admin)
            assert_problem(response, 422, "validation_error", loc=["query", "cursor"])


async def test_update_rm_changes_only_given_fields_and_is_audited(client, auth, engine):
    await freeze_clock(client, auth.admin)
    team, rm = await make_rm_with_team(client, auth.admin)
    new_team = await make_team(client, auth.admin)
    later = await freeze_clock(client, auth.admin, at="2026-01-20T08:00:00Z")
    response = await client.put(f"{API}/rms/{rm['id']}", headers=auth.admin, json={
        "team_id": new_team["id"], "localities": ["Indiranagar"], "base_salary": "45000.00", "capacity": 10})
    assert response.status_code == 200, response.text
    assert response.json() == {**rm, "team_id": new_team["id"], "localities": ["Indiranagar"],
                               "base_salary": 45000.0, "capacity": 10, "updated_at": later}
    assert '"base_salary":45000.00' in response.text
    localities = await fetch(engine, rm_localities, rm_localities.c.rm_id == uuid.UUID(rm["id"]))
    assert [r.locality for r in localities] == ["indiranagar"]
    entry = (await audit_rows(engine, entity_type="rm", action="rm.updated"))[0]
    assert entry.before["team_id"] == team["id"] and entry.after["team_id"] == new_team["id"]


async def test_update_rm_may_clear_optional_fields(client, auth):
    _, rm = await make_rm_with_team(client, auth.admin, max_deal_value="100000.00")
    response = await client.put(f"{API}/rms/{rm['id']}", headers=auth.admin,
                                json={"team_id": None, "max_deal_value": None, "zone": None})
    assert response.status_code == 200
    assert (response.json()["team_id"], response.json()["max_deal_value"], response.json()["zone"]) == (None, None, None)


@pytest.mark.parametrize(("body", "loc"), [
    ({"id": str(uuid.uuid4())}, ["body", "id"]),
    ({"name": None}, ["body", "name"]),
    ({"capacity": None}, ["body", "capacity"]),
    ({"team_id": str(uuid.uuid4())}, ["body", "team_id"]),
    ({"base_salary": "1.001"}, ["body", "base_salary"]),
    ({"performance_score": 101}, ["body", "performance_score"]),
    ({"segments": ["ALIEN"]}, ["body", "segments", 0]),
])
async def test_update_rm_bad_input_is_422_and_writes_nothing(client, auth, engine, body, loc):
    rm = await make_rm(client, auth.admin)
    before = await row_counts(engine)
    response = await client.put(f"{API}/rms/{rm['id']}", headers=auth.admin, json=body)
    assert_problem(response, 422, "validation_error", loc=loc)
    assert await row_counts(engine) == before


async def test_lowering_capacity_below_active_leads_is_409(client, auth, engine):
    rm = await make_rm(client, auth.admin, capacity=10)
    async with engine.begin() as conn:
        await conn.execute(update(rms).where(rms.c.id == uuid.UUID(rm["id"])).values(active_leads=5))
    assert_problem(await client.put(f"{API}/rms/{rm['id']}", headers=auth.admin, json={"capacity": 4}), 409,
                   "capacity_below_active_leads")
    ok = await client.put(f"{API}/rms/{rm['id']}", headers=auth.admin, json={"capacity": 5})
    assert ok.status_code == 200 and ok.json()["active_leads"] == 5


async def test_update_unknown_rm_is_404(client, auth):
    assert_problem(await client.put(f"{API}/rms/{uuid.uuid4()}", headers=auth.admin, json={"name": "X"}), 404,
                   "rm_not_found")
