"""Bad input is a 4xx problem naming the field, never a 500, on SQLite and PostgreSQL (issue 9 item 7)."""
from __future__ import annotations

import base64
import json
import uuid
from typing import Any

import pytest

from tests.builders import API, freeze_clock, make_pipeline, make_rm_with_team, make_team
from tests.checks import assert_problem, row_counts


def _cursor(*values: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


def _nested(depth: int, leaf: str = "1") -> str:
    return '{"a":' * depth + leaf + "}" * depth


def _lead(**overrides: Any) -> dict[str, Any]:
    return {"lead_id": str(uuid.uuid4()), "city": "Bangalore", "locality": "Koramangala",
            "property_type": "RESIDENTIAL", "segment": "TENANT", "source": "INBOUND_CALL", **overrides}


@pytest.mark.parametrize(("query", "loc"), [
    pytest.param("/allocations?from=2026-01-17T10:30:00", ["query", "from"], id="naive-allocations-from"),
    pytest.param("/allocations?to=2026-01-17T10:30:00", ["query", "to"], id="naive-allocations-to"),
    pytest.param("/pipelines?created_from=2026-01-17T10:30:00", ["query", "created_from"], id="naive-created-from"),
    pytest.param("/pipelines/stats?created_to=2026-01-17", ["query", "created_to"], id="date-as-created-to"),
    pytest.param("/audit?from=2026-01-17T10:30:00", ["query", "from"], id="naive-audit-from"),
    pytest.param("/pipelines?created_from=0001-01-01T00:00:00%2B14:00", ["query", "created_from"],
                 id="created-from-underflows-utc"),
    pytest.param("/allocations?to=9999-12-31T23:59:59-14:00", ["query", "to"], id="to-overflows-utc"),
    pytest.param("/audit?to=9999-12-31T23:59:59-14:00", ["query", "to"], id="audit-to-overflows-utc"),
])
async def test_naive_or_overflowing_timestamps_in_queries_are_422(client, auth, query, loc):
    """UTC, ISO 8601 with offset (ARCHITECTURE §2.3): one rule for every timestamp parameter."""
    assert_problem(await client.get(f"{API}{query}", headers=auth.admin), 422, "validation_error", loc=loc)


async def test_timestamps_with_an_offset_filter_in_utc(client, auth):
    _, rm = await make_rm_with_team(client, auth.admin)
    await freeze_clock(client, auth.admin, at="2026-01-17T10:30:00Z")
    pipeline = await make_pipeline(client, auth.admin, rm_id=rm["id"])
    inside = await client.get(f"{API}/pipelines", params={"created_from": "2026-01-17T16:00:00+05:30"},
                              headers=auth.admin)
    after = await client.get(f"{API}/pipelines", params={"created_from": "2026-01-17T16:01:00+05:30"},
                             headers=auth.admin)
    assert [p["id"] for p in inside.json()["items"]] == [pipeline["id"]] and after.json()["items"] == []


@pytest.mark.parametrize("now", ["9999-12-31T23:59:59-14:00", "0001-01-01T00:00:00+14:00", "3000-01-01T00:00:00Z",
                                 "1969-12-31T23:59:59Z"])
async def test_clock_outside_the_calendar_is_422(client, auth, engine, now):
    before = await row_counts(engine)
    response = await client.put(f"{API}/admin/clock", json={"now": now}, headers=auth.admin)
    assert_problem(response, 422, "validation_error", loc=["body", "now"])
    assert await row_counts(engine) == before


async def test_advancing_the_clock_past_its_range_is_422(client, auth):
    await freeze_clock(client, auth.admin, at="2999-12-31T00:00:00Z")
    response = await client.put(f"{API}/admin/clock", json={"advance_seconds": 86400 * 2}, headers=auth.admin)
    assert_problem(response, 422, "validation_error", loc=["body", "advance_seconds"])
    assert (await client.get(f"{API}/admin/clock", headers=auth.admin)).json() == {"now": "2999-12-31T00:00:00Z"}


@pytest.mark.parametrize(("path", "cursor"), [
    pytest.param("/allocations", _cursor("2026-01-17T10:30:00", str(uuid.uuid4())), id="allocations-naive"),
    pytest.param("/pipelines", _cursor("0001-01-01T00:00:00+14:00", str(uuid.uuid4())), id="pipelines-overflow"),
    pytest.param("/audit", _cursor(2**63), id="audit-2**63"),
    pytest.param("/audit", _cursor(-1), id="audit-negative"),
    pytest.param("/events/parked", _cursor("2026-01-17T10:30:00", "evt-1"), id="parked-naive"),
    pytest.param("/events/parked", _cursor("2026-01-17T10:30:00Z", "evt\x00"), id="parked-nul-id"),
    pytest.param("/teams", _cursor("South\x00", str(uuid.uuid4())), id="teams-nul-name"),
    pytest.param("/rms", _cursor(["Priya"], str(uuid.uuid4())), id="rms-list-as-name"),
])
async def test_cursor_contents_out_of_range_are_422_cursor(client, auth, path, cursor):
    """Cursors come back from the client: their values are checked before they reach SQL."""
    response = await client.get(f"{API}{path}", params={"cursor": cursor}, headers=auth.admin)
    assert_problem(response, 422, "validation_error", loc=["query", "cursor"])


async def test_history_cursor_of_2_to_the_63_is_422(client, auth):
    _, rm = await make_rm_with_team(client, auth.admin)
    pipeline = await make_pipeline(client, auth.admin, rm_id=rm["id"])
    response = await client.get(f"{API}/pipelines/{pipeline['id']}/history", params={"cursor": _cursor(2**63)},
                                headers=auth.admin)
    assert_problem(response, 422, "validation_error", loc=["query", "cursor"])


@pytest.mark.parametrize(("method", "path", "body", "loc"), [
    pytest.param("POST", "/teams", {"name": "South", "city": "C" * 101}, ["body", "city"], id="team-city-101"),
    pytest.param("POST", "/teams", {"name": "South", "city": "İ" * 51}, ["body", "city"], id="team-city-lowercased"),
    pytest.param("POST", "/allocations", _lead(city="B" * 150), ["body", "city"], id="lead-city-150"),
    pytest.param("POST", "/allocations", _lead(zone="Z" * 150), ["body", "zone"], id="lead-zone-150"),
    pytest.param("POST", "/teams", {"name": "So\x00uth", "city": "Pune"}, ["body", "name"], id="nul-team-name"),
    pytest.param("POST", "/allocations", _lead(intent={"bhk\x00": 2}), ["body", "intent"], id="nul-intent-key"),
    pytest.param("POST", "/allocations", _lead(intent={"tags": [{"x": "a\x00"}]}), ["body", "intent"],
                 id="nul-nested-intent-value"),
    pytest.param("POST", "/allocations", _lead(intent={"n": 2**70}), ["body", "intent"], id="huge-int-in-intent"),
    pytest.param("POST", "/allocations", _lead(customer={"name": "Ra\x00hul"}), ["body", "customer", "name"],
                 id="nul-customer-name"),
    pytest.param("PUT", "/allocations/rules", {"rules": {"timezone\x00": "UTC"}}, ["body", "rules"],
                 id="nul-rules-key"),
    pytest.param("PUT", "/allocations/rules", {"city": "C" * 101, "rules": {}}, ["body", "city"],
                 id="rules-city-101"),
])
async def test_values_that_do_not_fit_their_column_are_422_and_write_nothing(client, auth, engine, method, path,
                                                                             body, loc):
    """A city of 101-200 characters and NUL characters were 500s on PostgreSQL."""
    before = await row_counts(engine)
    response = await client.request(method, f"{API}{path}", json=body, headers=auth.admin)
    assert_problem(response, 422, "validation_error", loc=loc)
    assert await row_counts(engine) == before


@pytest.mark.parametrize(("field", "value"), [
    ("city", "C" * 101), ("zone", "Z" * 101), ("zone", "a\x00"), ("localities", ["Kora\x00mangala"]),
    ("phone", "+91\x00"), ("name", "N" * 201),
])
async def test_rm_fields_that_do_not_fit_their_column_are_422(client, auth, field, value):
    _, rm = await make_rm_with_team(client, auth.admin)
    response = await client.put(f"{API}/rms/{rm['id']}", json={field: value}, headers=auth.admin)
    body = assert_problem(response, 422, "validation_error")
    assert body["errors"][0]["loc"][:2] == ["body", field]


async def test_nul_in_pipeline_notes_and_stage_reason_is_422(client, auth):
    _, rm = await make_rm_with_team(client, auth.admin)
    pipeline = await make_pipeline(client, auth.admin, rm_id=rm["id"])
    notes = await client.put(f"{API}/pipelines/{pipeline['id']}", json={"notes": "call\x00back"}, headers=auth.admin)
    assert_problem(notes, 422, "validation_error", loc=["body", "notes"])
    stage = await client.patch(f"{API}/pipelines/{pipeline['id']}/stage",
                               json={"stage": "CONTACTED", "reason": "x\x00"}, headers=auth.admin)
    assert_problem(stage, 422, "validation_error", loc=["body", "reason"])


@pytest.mark.parametrize(("url", "loc"), [
    pytest.param("/teams?city=Pu%00ne", ["query", "city"], id="query"),
    pytest.param("/audit?entity_type=rm%00", ["query", "entity_type"], id="audit-query"),
    pytest.param("/events/parked/evt%00/retry", ["path", "event_id"], id="path"),
])
async def test_nul_in_parameters_is_422_naming_them(client, auth, url, loc):
    method = "POST" if url.endswith("/retry") else "GET"
    response = await client.request(method, f"{API}{url}", headers=auth.admin)
    assert_problem(response, 422, "validation_error", loc=loc)


@pytest.mark.parametrize(("method", "path", "body", "loc"), [
    pytest.param("PUT", "/allocations/rules", '{"rules": %s}' % _nested(40), ["body", "rules"], id="rules-40-deep"),
    pytest.param("POST", "/allocations", json.dumps(_lead())[:-1] + ', "intent": %s}' % _nested(300),
                 ["body", "intent"], id="intent-300-deep"),
    pytest.param("PUT", "/allocations/rules", '{"rules": %s}' % _nested(5000), ["body"], id="beyond-the-parser"),
    pytest.param("POST", "/teams", "[" * 5000 + "]" * 5000, ["body"], id="bare-nesting"),
])
async def test_deeply_nested_json_is_422(client, auth, engine, method, path, body, loc):
    """Nesting past the parser's recursion (RecursionError) or past what JSON columns store was a 500."""
    before = await row_counts(engine)
    response = await client.request(method, f"{API}{path}", content=body,
                                    headers={**auth.admin, "Content-Type": "application/json"})
    assert_problem(response, 422, "validation_error", loc=loc)
    assert await row_counts(engine) == before


async def test_deeply_nested_shifts_are_422(client, auth):
    _, rm = await make_rm_with_team(client, auth.admin)
    for depth in (300, 5000):
        response = await client.put(f"{API}/rms/{rm['id']}", content='{"shifts": %s}' % ("[" * depth + "]" * depth),
                                    headers={**auth.admin, "Content-Type": "application/json"})
        body = assert_problem(response, 422, "validation_error")
        assert body["errors"][0]["loc"][0] == "body"


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
async def test_nan_and_infinity_are_not_json(client, auth, literal):
    body = json.dumps(_lead())[:-1] + ', "expected_deal_value": %s}' % literal
    response = await client.post(f"{API}/allocations", content=body,
                                 headers={**auth.admin, "Content-Type": "application/json"})
    assert_problem(response, 400, "malformed_json")


@pytest.mark.parametrize(("envelope", "loc"), [
    pytest.param({"id": "evt\x00"}, ["body", "id"], id="nul-in-id"),
    pytest.param({"data": {"lead\x00": 1}}, ["body", "data", "lead\x00"], id="nul-in-data-key"),
    pytest.param({"data": json.loads(_nested(60))}, None, id="deep-data"),
    pytest.param({"time": "9999-12-31T23:59:59-14:00"}, ["body", "time"], id="time-overflows-utc"),
])
async def test_events_that_cannot_be_stored_are_refused(client, auth, engine, envelope, loc):
    event = {"specversion": "1.0", "id": f"evt-{uuid.uuid4()}", "source": "/leads", "type": "leads.lead.created",
             **envelope}
    before = await row_counts(engine)
    response = await client.post(f"{API}/events", json=event, headers=auth.headers("SERVICE"))
    body = assert_problem(response, 422, "malformed_event")
    if loc:
        assert loc in [e["loc"] for e in body["errors"]]
    assert await row_counts(engine) == before


async def test_a_supervisor_gets_the_same_answers(client, auth):
    """Validation comes before scoping: another role sees the same 422s."""
    team = await make_team(client, auth.admin)
    supervisor = auth.supervisor(uuid.UUID(team["id"]))
    naive = await client.get(f"{API}/allocations", params={"from": "2026-01-17T10:30:00"}, headers=supervisor)
    assert_problem(naive, 422, "validation_error", loc=["query", "from"])
    long_city = await client.post(f"{API}/allocations", json=_lead(city="B" * 150), headers=supervisor)
    assert_problem(long_city, 422, "validation_error", loc=["body", "city"])
