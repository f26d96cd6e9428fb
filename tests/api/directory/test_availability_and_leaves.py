"""PATCH /rms/{id}/availability and POST/GET /rms/{id}/leaves: the RM themself, their supervisor, SALES_ADMIN."""
from __future__ import annotations

import uuid

import pytest

from tests.builders import API, freeze_clock, make_leave, make_rm, make_rm_with_team
from tests.checks import assert_problem, audit_rows, row_counts


@pytest.fixture
async def team_rm(client, auth):  # type: ignore[no-untyped-def]
    return await make_rm_with_team(client, auth.admin)


def _who(auth, team, rm, who: str):  # type: ignore[no-untyped-def]
    return {"self": auth.rm(rm["id"]), "supervisor": auth.supervisor(uuid.UUID(team["id"])),
            "admin": auth.admin}[who]


@pytest.mark.parametrize("who", ["self", "supervisor", "admin"])
async def test_availability_changed_by_rm_supervisor_or_admin(client, auth, engine, team_rm, who):
    team, rm = team_rm
    now = await freeze_clock(client, auth.admin, at="2026-01-18T07:00:00Z")
    response = await client.patch(f"{API}/rms/{rm['id']}/availability", json={"availability": "OFFLINE"},
                                  headers=_who(auth, team, rm, who))
    assert response.status_code == 200, response.text
    assert response.json() == {**rm, "availability": "OFFLINE", "updated_at": now}
    [entry] = await audit_rows(engine, action="rm.availability_changed")
    assert (entry.before, entry.after, entry.entity_id) == ({"availability": "ONLINE"}, {"availability": "OFFLINE"},
                                                           rm["id"])


async def test_availability_of_someone_out_of_scope_is_404(client, auth, engine, team_rm):
    team, rm = team_rm
    other_team, other = await make_rm_with_team(client, auth.admin)
    before = await row_counts(engine)
    for headers in (auth.rm(other["id"]), auth.supervisor(uuid.UUID(other_team["id"]))):
        response = await client.patch(f"{API}/rms/{rm['id']}/availability", json={"availability": "OFFLINE"},
                                      headers=headers)
        assert_problem(response, 404, "rm_not_found")
    assert await row_counts(engine) == before


@pytest.mark.parametrize(("body", "loc"), [
    ({"availability": "AWAY"}, ["body", "availability"]), ({}, ["body", "availability"]),
    ({"availability": "OFFLINE", "status": "INACTIVE"}, ["body", "status"]),
])
async def test_availability_bad_input_is_422(client, auth, team_rm, body, loc):
    _, rm = team_rm
    response = await client.patch(f"{API}/rms/{rm['id']}/availability", json=body, headers=auth.rm(rm["id"]))
    assert_problem(response, 422, "validation_error", loc=loc)


@pytest.mark.parametrize("who", ["self", "supervisor", "admin"])
async def test_leave_recorded_by_rm_supervisor_or_admin(client, auth, engine, team_rm, who):
    team, rm = team_rm
    now = await freeze_clock(client, auth.admin)
    headers = _who(auth, team, rm, who)
    response = await client.post(f"{API}/rms/{rm['id']}/leaves", headers=headers,
                                 json={"start_date": "2026-02-02", "end_date": "2026-02-04", "reason": "Wedding"})
    assert response.status_code == 201, response.text
    leave = response.json()
    assert leave == {"id": leave["id"], "rm_id": rm["id"], "start_date": "2026-02-02", "end_date": "2026-02-04",
                     "reason": "Wedding", "created_by": leave["created_by"], "created_at": now}
    [entry] = await audit_rows(engine, action="rm.leave_added")
    assert entry.entity_type == "rm_leave" and entry.entity_id == leave["id"] and entry.actor_id == uuid.UUID(
        leave["created_by"])


async def test_single_day_leave_and_no_reason(client, auth, team_rm):
    _, rm = team_rm
    response = await client.post(f"{API}/rms/{rm['id']}/leaves", headers=auth.rm(rm["id"]),
                                 json={"start_date": "2026-03-01", "end_date": "2026-03-01"})
    assert response.status_code == 201 and response.json()["reason"] is None


@pytest.mark.parametrize(("body", "loc"), [
    pytest.param({"start_date": "2026-02-05", "end_date": "2026-02-04"}, ["body", "end_date"], id="end-before-start"),
    pytest.param({"start_date": "05/02/2026", "end_date": "2026-02-06"}, ["body", "start_date"], id="bad-date"),
    pytest.param({"start_date": "2026-02-30", "end_date": "2026-03-02"}, ["body", "start_date"], id="no-such-day"),
    pytest.param({"end_date": "2026-02-06"}, ["body", "start_date"], id="missing-start"),
    pytest.param({"start_date": "2026-02-05", "end_date": "2026-02-06", "reason": "x" * 1001}, ["body", "reason"],
                 id="reason-too-long"),
])
async def test_leave_bad_input_is_422_and_writes_nothing(client, auth, engine, team_rm, body, loc):
    _, rm = team_rm
    before = await row_counts(engine)
    response = await client.post(f"{API}/rms/{rm['id']}/leaves", json=body, headers=auth.rm(rm["id"]))
    assert_problem(response, 422, "validation_error", loc=loc)
    assert await row_counts(engine) == before


@pytest.mark.parametrize(("start", "end"), [("2026-02-04", "2026-02-06"), ("2026-01-30", "2026-02-02"),
                                            ("2026-02-03", "2026-02-03"), ("2026-01-01", "2026-03-01")])
async def test_overlapping_leave_is_409(client, auth, engine, team_rm, start, end):
    _, rm = team_rm
    await make_leave(client, auth.admin, rm_id=rm["id"], start_date="2026-02-02", end_date="2026-02-04")
    before = await row_counts(engine)
    response = await client.post(f"{API}/rms/{rm['id']}/leaves", json={"start_date": start, "end_date": end},
                                 headers=auth.admin)
    assert_problem(response, 409, "leave_overlaps")
    assert await row_counts(engine) == before


async def test_adjacent_leaves_do_not_overlap(client, auth, team_rm):
    _, rm = team_rm
    await make_leave(client, auth.admin, rm_id=rm["id"], start_date="2026-02-02", end_date="2026-02-04")
    await make_leave(client, auth.admin, rm_id=rm["id"], start_date="2026-02-05", end_date="2026-02-05")


async def test_leaves_listed_by_start_date_for_those_who_may_read_the_rm(client, auth, team_rm):
    team, rm = team_rm
    later = await make_leave(client, auth.admin, rm_id=rm["id"], start_date="2026-03-10", end_date="2026-03-11")
    earlier = await make_leave(client, auth.admin, rm_id=rm["id"], start_date="2026-02-01", end_date="2026-02-01")
    for headers in (auth.rm(rm["id"]), auth.supervisor(uuid.UUID(team["id"])), auth.admin,
                    auth.headers("FINANCE_ADMIN")):
        response = await client.get(f"{API}/rms/{rm['id']}/leaves", headers=headers)
        assert response.status_code == 200
        assert response.json() == {"items": [earlier, later], "next_cursor": None}


async def test_leaves_of_someone_out_of_scope_are_404(client, auth, team_rm):
    _, rm = team_rm
    other_team, other = await make_rm_with_team(client, auth.admin)
    for headers in (auth.rm(other["id"]), auth.supervisor(uuid.UUID(other_team["id"]))):
        assert_problem(await client.get(f"{API}/rms/{rm['id']}/leaves", headers=headers), 404, "rm_not_found")
        response = await client.post(f"{API}/rms/{rm['id']}/leaves", headers=headers,
                                     json={"start_date": "2026-02-02", "end_date": "2026-02-03"})
        assert_problem(response, 404, "rm_not_found")


async def test_leaves_of_unknown_rm_are_404(client, auth):
    assert_problem(await client.get(f"{API}/rms/{uuid.uuid4()}/leaves", headers=auth.admin), 404, "rm_not_found")
    response = await client.post(f"{API}/rms/{uuid.uuid4()}/leaves", headers=auth.admin,
                                 json={"start_date": "2026-02-02", "end_date": "2026-02-03"})
    assert_problem(response, 404, "rm_not_found")


async def test_rm_without_team_manages_own_availability(client, auth):
    rm = await make_rm(client, auth.admin)
    response = await client.patch(f"{API}/rms/{rm['id']}/availability", json={"availability": "OFFLINE"},
                                  headers=auth.rm(rm["id"]))
    assert response.status_code == 200
