"""GET /pipelines/{id} and GET /pipelines: scoping, PII masking, filters, cursor pagination."""
from __future__ import annotations

import uuid

import pytest

from tests.builders import API, freeze_clock, make_lead, make_pipeline, make_rm, make_rm_with_team, make_team, move
from tests.checks import assert_problem

MASKED = {"phone": "+91-98XXXXXXXX", "email": "r***@example.com"}
CLEAR = {"phone": "+91-9876543210", "email": "rahul@example.com"}


@pytest.fixture
async def world(client, auth, engine):  # type: ignore[no-untyped-def]
    """Two teams with one RM each; one pipeline (with a known lead) per RM."""
    team, rm = await make_rm_with_team(client, auth.admin)
    other_team, other = await make_rm_with_team(client, auth.admin)
    lead = await make_lead(engine)
    mine = await make_pipeline(client, auth.admin, rm_id=rm["id"], lead_id=str(lead["id"]))
    theirs = await make_pipeline(client, auth.admin, rm_id=other["id"])
    return {"team": team, "rm": rm, "other_team": other_team, "other": other, "mine": mine, "theirs": theirs}


def _headers(auth, world, who: str):  # type: ignore[no-untyped-def]
    return {
        "assigned RM": auth.rm(world["rm"]["id"]),
        "supervisor": auth.supervisor(uuid.UUID(world["team"]["id"])),
        "SALES_ADMIN": auth.admin,
        "FINANCE_ADMIN": auth.headers("FINANCE_ADMIN"),
        "SUPPORT_AGENT": auth.headers("SUPPORT_AGENT"),
        "PRODUCT_MANAGER": auth.headers("PRODUCT_MANAGER"),
        "SERVICE": auth.headers("SERVICE"),
        "other RM": auth.rm(world["other"]["id"]),
        "other supervisor": auth.supervisor(uuid.UUID(world["other_team"]["id"])),
        "RM whose token names the team": auth.headers("RM", teams=[uuid.UUID(world["team"]["id"])]),
    }[who]


@pytest.mark.parametrize(("who", "pii"), [
    ("assigned RM", CLEAR), ("supervisor", CLEAR), ("SALES_ADMIN", CLEAR),
    ("FINANCE_ADMIN", MASKED), ("SUPPORT_AGENT", MASKED), ("PRODUCT_MANAGER", MASKED), ("SERVICE", MASKED),
])
async def test_customer_pii_is_masked_unless_entitled(client, auth, world, who, pii):
    headers = _headers(auth, world, who)
    response = await client.get(f"{API}/pipelines/{world['mine']['id']}", headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["customer"] == {"id": world["mine"]["customer"]["id"], "name": "Rahul Sharma", **pii}
    listed = await client.get(f"{API}/pipelines", params={"rm_id": world["rm"]["id"]}, headers=headers)
    assert listed.json()["items"][0]["customer"] == response.json()["customer"]


@pytest.mark.parametrize("who", ["other RM", "other supervisor", "RM whose token names the team"])
async def test_out_of_scope_pipeline_is_404(client, auth, world, who):
    response = await client.get(f"{API}/pipelines/{world['mine']['id']}", headers=_headers(auth, world, who))
    assert_problem(response, 404, "pipeline_not_found")
    history = await client.get(f"{API}/pipelines/{world['mine']['id']}/history", headers=_headers(auth, world, who))
    assert_problem(history, 404, "pipeline_not_found")


async def test_unknown_pipeline_is_404(client, auth):
    assert_problem(await client.get(f"{API}/pipelines/{uuid.uuid4()}", headers=auth.admin), 404, "pipeline_not_found")


@pytest.mark.parametrize(("who", "sees"), [
    ("assigned RM", ["mine"]), ("supervisor", ["mine"]), ("other RM", ["theirs"]), ("other supervisor", ["theirs"]),
    ("SALES_ADMIN", ["mine", "theirs"]), ("FINANCE_ADMIN", ["mine", "theirs"]), ("SERVICE", ["mine", "theirs"]),
    ("RM whose token names the team", []),
])
async def test_list_is_scoped_to_the_caller(client, auth, world, who, sees):
    response = await client.get(f"{API}/pipelines", headers=_headers(auth, world, who))
    assert response.status_code == 200
    assert sorted(p["id"] for p in response.json()["items"]) == sorted(world[k]["id"] for k in sees)


async def test_supervisor_sees_own_pipelines_and_their_teams(client, auth):
    team, rm = await make_rm_with_team(client, auth.admin)
    supervisor_id = uuid.uuid4()
    own_team = await make_team(client, auth.admin)
    supervisor_rm = await make_rm(client, auth.admin, id=str(supervisor_id), team_id=own_team["id"])
    a = await make_pipeline(client, auth.admin, rm_id=rm["id"])
    b = await make_pipeline(client, auth.admin, rm_id=supervisor_rm["id"])
    headers = auth.supervisor(uuid.UUID(team["id"]), sub=supervisor_id)
    response = await client.get(f"{API}/pipelines", headers=headers)
    assert sorted(p["id"] for p in response.json()["items"]) == sorted([a["id"], b["id"]])


async def test_list_items_equal_single_reads(client, auth, world):
    listed = (await client.get(f"{API}/pipelines", params={"rm_id": world["rm"]["id"]}, headers=auth.admin))
    single = await client.get(f"{API}/pipelines/{world['mine']['id']}", headers=auth.admin)
    assert listed.json() == {"items": [single.json()], "next_cursor": None}
    assert '"deal_value":25000.00,' in listed.text


@pytest.fixture
async def spread(client, auth):  # type: ignore[no-untyped-def]
    """Pipelines differing in every filterable attribute."""
    south = await make_team(client, auth.admin, city="Bangalore")
    west = await make_team(client, auth.admin, city="Pune")
    blr = await make_rm(client, auth.admin, team_id=south["id"])
    pune = await make_rm(client, auth.admin, team_id=west["id"], city="Pune")
    await freeze_clock(client, auth.admin, at="2026-01-10T09:00:00Z")
    a = await make_pipeline(client, auth.admin, rm_id=blr["id"], source="WEBSITE", expected_close_date="2026-02-01")
    await freeze_clock(client, auth.admin, at="2026-01-15T09:00:00Z")
    b = await make_pipeline(client, auth.admin, rm_id=blr["id"], source="REFERRAL", expected_close_date="2026-03-01")
    assert (await move(client, auth.admin, b["id"], "NEGOTIATION")).status_code == 200
    await freeze_clock(client, auth.admin, at="2026-01-20T09:00:00Z")
    c = await make_pipeline(client, auth.admin, rm_id=pune["id"], source="WEBSITE", expected_close_date=None)
    assert (await move(client, auth.admin, c["id"], "CLOSED_LOST", loss_reason="budget")).status_code == 200
    return {"a": a["id"], "b": b["id"], "c": c["id"], "blr": blr["id"], "pune": pune["id"], "south": south["id"],
            "west": west["id"]}


@pytest.mark.parametrize(("params", "expected"), [
    ({}, ["c", "b", "a"]),
    ({"rm_id": "blr"}, ["b", "a"]),
    ({"team_id": "west"}, ["c"]),
    ({"city": "Bangalore"}, ["b", "a"]),
    ({"city": "Pune"}, ["c"]),
    ({"stage": "NEGOTIATION"}, ["b"]),
    ({"stage": "NEW"}, ["a"]),
    ({"outcome": "LOST"}, ["c"]),
    ({"outcome": "PENDING"}, ["b", "a"]),
    ({"source": "WEBSITE"}, ["c", "a"]),
    ({"created_from": "2026-01-15T09:00:00Z"}, ["c", "b"]),
    ({"created_to": "2026-01-15T09:00:00Z"}, ["b", "a"]),
    ({"created_from": "2026-01-11T00:00:00+05:30", "created_to": "2026-01-16T00:00:00Z"}, ["b"]),
    ({"expected_close_from": "2026-02-15"}, ["b"]),
    ({"expected_close_to": "2026-02-15"}, ["a"]),
    ({"expected_close_from": "2026-02-01", "expected_close_to": "2026-03-01"}, ["b", "a"]),
    ({"rm_id": "blr", "source": "WEBSITE"}, ["a"]),
])
async def test_list_filters_newest_first(client, auth, spread, params, expected):
    resolved = {k: spread.get(v, v) for k, v in params.items()}
    response = await client.get(f"{API}/pipelines", params=resolved, headers=auth.admin)
    assert response.status_code == 200, response.text
    assert [p["id"] for p in response.json()["items"]] == [spread[k] for k in expected]


@pytest.mark.parametrize(("params", "loc"), [
    ({"stage": "WON"}, ["query", "stage"]), ({"outcome": "MAYBE"}, ["query", "outcome"]),
    ({"source": "FAX"}, ["query", "source"]), ({"rm_id": "x"}, ["query", "rm_id"]),
    ({"team_id": "x"}, ["query", "team_id"]), ({"created_from": "yesterday"}, ["query", "created_from"]),
    ({"created_to": "2026-01-15T09:00:00"}, ["query", "created_to"]),
    ({"expected_close_to": "2026-13-01"}, ["query", "expected_close_to"]),
])
async def test_list_bad_filters_are_422(client, auth, params, loc):
    assert_problem(await client.get(f"{API}/pipelines", params=params, headers=auth.admin), 422, "validation_error",
                   loc=loc)


@pytest.mark.parametrize("instants", [["2026-01-17T10:30:00Z"] * 5,
                                      [f"2026-01-1{i}T10:30:00Z" for i in range(5)]], ids=["same-instant", "spread"])
async def test_cursor_pagination_walks_every_pipeline_once_newest_first(client, auth, instants):
    _, rm = await make_rm_with_team(client, auth.admin)
    created = []
    for at in instants:
        await freeze_clock(client, auth.admin, at=at)
        created.append(await make_pipeline(client, auth.admin, rm_id=rm["id"]))
    expected = [p["id"] for p in sorted(created, key=lambda p: (p["created_at"], p["id"]), reverse=True)]
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(f"{API}/pipelines", params=params, headers=auth.rm(rm["id"]))).json()
        pages += 1
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == expected and pages == 3


async def test_default_limit_is_50(client, auth, engine):
    _, rm = await make_rm_with_team(client, auth.admin)
    for _ in range(51):
        await make_pipeline(client, auth.admin, rm_id=rm["id"])
    page = (await client.get(f"{API}/pipelines", headers=auth.admin)).json()
    assert len(page["items"]) == 50 and page["next_cursor"] is not None


async def test_forged_list_cursor_is_422(client, auth):
    from sales.core.http import encode_cursor

    for cursor in (encode_cursor("2026-01-17T10:30:00", str(uuid.uuid4())), encode_cursor("x", "y"),
                   encode_cursor(1)):
        response = await client.get(f"{API}/pipelines", params={"cursor": cursor}, headers=auth.admin)
        assert_problem(response, 422, "validation_error", loc=["query", "cursor"])
