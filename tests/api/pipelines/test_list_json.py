"""GET /pipelines writes the bytes GET /pipelines/{id} writes for each item (issue 19).

On PostgreSQL the database writes most of each listed item's JSON (pipelines.repository.JSON_PIPELINE_COLUMNS)
while the single read goes through the Python view, so these tests hold the two to the same bytes: escaping of
free text, nulls, money places, dates, instants with and without microseconds, the customer opened and masked per
caller, the cursor of the next page."""
from __future__ import annotations

import uuid

import pytest

from sales.core.http import decode_cursor
from tests.builders import API, freeze_clock, make_lead, make_pipeline, make_rm, make_team, move

ODD_TEXT = 'He said "2BHK\\3BHK" near Café \u2028 <b>&amp;</b> 😀\nnext line\tand a tab / slash'


@pytest.fixture
async def varied(client, auth, engine):  # type: ignore[no-untyped-def]
    """One team's RM (with an odd name) and an RM without a team; pipelines covering every kind of value."""
    team = await make_team(client, auth.admin, name='Team "Südwest" \\ 1')
    rm = await make_rm(client, auth.admin, team_id=team["id"], name='Priya "PJ" Pâtel')
    loner = await make_rm(client, auth.admin, name="Arjun Rao")
    await freeze_clock(client, auth.admin, at="2026-01-17T10:30:00Z")  # an instant without microseconds
    lead = await make_lead(engine, customer_name='Rahul "Ravi" Sharma', customer_email="rahul+x@example.com")
    with_customer = await make_pipeline(client, auth.admin, rm_id=rm["id"], lead_id=str(lead["id"]),
                                        notes=ODD_TEXT, deal_value="1234567.80")
    await freeze_clock(client, auth.admin, at="2026-01-17T10:30:00.000250Z")
    no_lead = await make_pipeline(client, auth.admin, rm_id=rm["id"], notes=None, deal_value=None,
                                  expected_close_date=None, probability=0)
    bare_lead = await make_lead(engine, customer_id=None, customer_phone=None, customer_email=None)
    await make_pipeline(client, auth.admin, rm_id=rm["id"], lead_id=str(bare_lead["id"]), deal_value="0.50")
    await freeze_clock(client, auth.admin, at="2026-01-18T23:59:59.999999Z")
    lost = await make_pipeline(client, auth.admin, rm_id=rm["id"], notes="short")
    response = await move(client, auth.admin, lost["id"], "CLOSED_LOST", loss_reason=ODD_TEXT)
    assert response.status_code == 200, response.text
    await make_pipeline(client, auth.admin, rm_id=loner["id"], lead_id=str(uuid.uuid4()))
    return {"team": team, "rm": rm, "loner": loner, "with_customer": with_customer, "no_lead": no_lead}


def _callers(auth, varied):  # type: ignore[no-untyped-def]
    return {
        "assigned RM": auth.rm(varied["rm"]["id"]),
        "supervisor": auth.supervisor(uuid.UUID(varied["team"]["id"])),
        "SALES_ADMIN": auth.admin,
        "SUPPORT_AGENT (masked contacts)": auth.headers("SUPPORT_AGENT"),
    }


@pytest.mark.parametrize("who", ["assigned RM", "supervisor", "SALES_ADMIN", "SUPPORT_AGENT (masked contacts)"])
@pytest.mark.parametrize("query", [{}, {"stage": "NEW"}])  # the prebuilt statement, and the filtered one
async def test_each_listed_pipeline_is_the_bytes_of_its_own_read(client, auth, varied, who, query):
    headers = _callers(auth, varied)[who]
    listed = await client.get(f"{API}/pipelines", params={"limit": 250, **query}, headers=headers)
    assert listed.status_code == 200, listed.text
    ids = [item["id"] for item in listed.json()["items"]]
    assert len(ids) >= (3 if query else 4)
    reads = []
    for pipeline_id in ids:
        read = await client.get(f"{API}/pipelines/{pipeline_id}", headers=headers)
        assert read.status_code == 200, read.text
        reads.append(read.content)
    assert listed.content == b'{"items":[' + b",".join(reads) + b'],"next_cursor":null}'


async def test_the_odd_values_come_back_as_written(client, auth, varied):
    listed = (await client.get(f"{API}/pipelines", params={"rm_id": varied["rm"]["id"]}, headers=auth.admin)).json()
    by_id = {item["id"]: item for item in listed["items"]}
    with_customer, no_lead = by_id[varied["with_customer"]["id"]], by_id[varied["no_lead"]["id"]]
    assert with_customer["notes"] == ODD_TEXT and with_customer["deal_value"] == 1234567.8
    assert with_customer["rm"] == {"id": varied["rm"]["id"], "name": 'Priya "PJ" Pâtel',
                                   "team": 'Team "Südwest" \\ 1'}
    assert with_customer["customer"]["name"] == 'Rahul "Ravi" Sharma'
    assert with_customer["created_at"] == "2026-01-17T10:30:00Z"
    assert no_lead["customer"] is None and no_lead["notes"] is None and no_lead["deal_value"] is None
    assert no_lead["created_at"] == "2026-01-17T10:30:00.000250Z"
    assert [item["loss_reason"] for item in listed["items"] if item["outcome"] == "LOST"] == [ODD_TEXT]


async def test_pages_follow_their_cursor_to_every_pipeline_once(client, auth, varied):
    everything = (await client.get(f"{API}/pipelines", params={"limit": 250}, headers=auth.admin)).json()["items"]
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(f"{API}/pipelines", params=params, headers=auth.admin)).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
        last = page["items"][-1]
        assert decode_cursor(cursor) == [last["created_at"].removesuffix("Z") + "+00:00", last["id"]]
    assert [item["id"] for item in seen] == [item["id"] for item in everything]
