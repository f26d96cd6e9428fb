"""Property: whatever a client sends, the API answers below 500 (issue 9 item 7), on SQLite and PostgreSQL.

Bodies are generated from the request models themselves (field names and types, so that many requests get
past validation and reach the database), with every value sometimes replaced by something hostile: NUL
characters, over-long and oddly cased text, 64-bit-plus integers, odd or overflowing timestamps, amounts
Decimal() accepts but money should not, deep nesting. Query parameters of the main lists get the same.
Bounded (max_examples, no deadline) and derandomized so that CI runs the same examples every time.
"""
from __future__ import annotations

import base64
import json
import types
import uuid
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import httpx
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st
from pydantic import BaseModel

from sales.admin.schemas import ClockChange
from sales.allocation.schemas import (BulkReassignRequest, LeadAllocationRequest, ReassignRequest, RejectRequest,
                                      RuleSetChange, SimulationRequest)
from sales.directory.schemas import AvailabilityChange, LeaveCreate, RMCreate, RMUpdate, TeamCreate, TeamUpdate
from sales.pipelines.schemas import PipelineCreate, PipelineUpdate, StageChange
from tests.builders import API, make_pipeline, make_rm_with_team

BUDGET = settings(max_examples=120, deadline=None, derandomize=True, database=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                         HealthCheck.data_too_large])

# --- hostile values ----------------------------------------------------------------------------

ODD_TIMESTAMPS = st.sampled_from([
    "2026-01-17T10:30:00", "2026-01-17T10:30:00Z", "2026-01-17T16:00:00+05:30", "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00", "9999-12-31T23:59:59Z", "1899-12-31T23:59:59Z", "2026-02-30T00:00:00Z",
    "2026-01-17", "1700000000", "-1", "2026-01-17T10:30:00+24:00", "",
])
ODD_AMOUNTS = st.sampled_from(["1_000", "١٠٠٠", "１０００", " 1000 ", "1e3", "NaN", "-Infinity", "+5", ".5", "0.001",
                               "999999999999.99", "1000000000000", "25000.00"])
TEXT = st.text(st.characters(codec="utf-8"), max_size=40) | st.sampled_from(
    ["\x00", "a\x00b", "İ" * 60, "x" * 101, "x" * 201, "x" * 1001, "Bangalore", "*", " "])
HUGE_INTS = st.sampled_from([2**63, -2**63 - 1, 2**64, 10**30, -1, 0])
SCALARS = (st.none() | st.booleans() | st.integers() | HUGE_INTS | TEXT | ODD_TIMESTAMPS | ODD_AMOUNTS
           | st.decimals(allow_nan=False, allow_infinity=False, places=3))
JSON_VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(TEXT, inner, max_size=3), max_leaves=12)


def _deep(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


HOSTILE = JSON_VALUES | st.sampled_from([_deep(40), _deep(300), [[[[[[[[[[[]]]]]]]]]]]])


# --- values shaped by the request models -------------------------------------------------------

def _unwrap(annotation: Any) -> Any:
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType) and type(None) in get_args(annotation):
            annotation = next(a for a in get_args(annotation) if a is not type(None))
        else:
            return annotation


def _typed(annotation: Any, ids: list[str]) -> st.SearchStrategy[Any]:
    """A value of roughly the right type, so that many requests get as far as the database."""
    annotation = _unwrap(annotation)
    origin = get_origin(annotation)
    if origin in (list, tuple, set):
        return st.lists(_value(get_args(annotation)[0], ids), max_size=4)
    if origin is dict:
        return st.dictionaries(TEXT, JSON_VALUES, max_size=4)
    if origin is Literal:
        return st.sampled_from(get_args(annotation))
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return _body(annotation, ids)
        if issubclass(annotation, Enum):
            return st.sampled_from([member.value for member in annotation])
        if issubclass(annotation, bool):
            return st.booleans()
        if issubclass(annotation, int):
            return st.integers(-5, 1100) | HUGE_INTS
        if issubclass(annotation, float):
            return st.floats(allow_nan=False, allow_infinity=False) | st.integers(0, 10**9)
        if issubclass(annotation, Decimal):
            return ODD_AMOUNTS | st.decimals(0, 10**12, places=2).map(str) | st.integers(0, 10**6)
        if issubclass(annotation, datetime):
            return ODD_TIMESTAMPS
        if issubclass(annotation, date):
            return st.dates().map(date.isoformat) | st.sampled_from(["2026-02-30", "0000-01-01"])
        if issubclass(annotation, uuid.UUID):
            return st.sampled_from(ids) | st.uuids().map(str)
    if getattr(annotation, "__name__", "") == "EmailStr":
        return st.emails() | TEXT
    return TEXT


def _value(annotation: Any, ids: list[str]) -> st.SearchStrategy[Any]:
    return st.one_of(_typed(annotation, ids), _typed(annotation, ids), HOSTILE)


def _body(model: type[BaseModel], ids: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    fields = {field.alias or name: _value(field.annotation, ids) for name, field in model.model_fields.items()}
    required = {key: strategy for (name, field), (key, strategy) in zip(model.model_fields.items(), fields.items())
                if field.is_required()}
    optional = {key: strategy for key, strategy in fields.items() if key not in required}
    return st.fixed_dictionaries(required, optional=optional)


# --- the property ------------------------------------------------------------------------------

@pytest.fixture
async def world(client, auth) -> dict[str, Any]:
    """A team, an RM, a pipeline and a live allocation whose ids the generated requests may hit."""
    team, rm = await make_rm_with_team(client, auth.admin)
    pipeline = await make_pipeline(client, auth.admin, rm_id=rm["id"])
    allocation = await client.post(f"{API}/allocations", json={
        "lead_id": str(uuid.uuid4()), "city": "Bangalore", "locality": "Koramangala", "property_type": "RESIDENTIAL",
        "segment": "TENANT", "source": "INBOUND_CALL"}, headers=auth.admin)
    assert allocation.status_code == 201, allocation.text
    return {"team": team["id"], "rm": rm["id"], "pipeline": pipeline["id"], "allocation": allocation.json()["id"],
            "lead": allocation.json()["lead_id"]}


def _writes(world: dict[str, Any]) -> list[tuple[str, str, type[BaseModel], dict[str, Any]]]:
    """Each write endpoint, its request model and a body it accepts (generated bodies start from it)."""
    rm, pipeline, allocation = world["rm"], world["pipeline"], world["allocation"]
    lead = {"lead_id": str(uuid.uuid4()), "city": "Bangalore", "zone": "South", "locality": "Koramangala",
            "property_type": "RESIDENTIAL", "segment": "TENANT", "source": "INBOUND_CALL",
            "customer": {"name": "Rahul Sharma", "phone": "+91-9876543210", "email": "rahul@example.com"},
            "intent": {"bhk": 2}, "expected_deal_value": "25000.00"}
    new_rm = {"id": str(uuid.uuid4()), "name": "Priya Patel", "email": "priya@mysqrft.com", "city": "Bangalore",
              "zone": "South", "localities": ["Koramangala"], "team_id": world["team"], "base_salary": "40000.00",
              "shifts": [{"weekday": 0, "start": "09:00", "end": "18:00"}]}
    return [
        ("POST", "/teams", TeamCreate, {"name": "South", "city": "Pune"}),
        ("PUT", f"/teams/{world['team']}", TeamUpdate, {"name": "North", "city": "Delhi"}),
        ("POST", "/rms", RMCreate, new_rm),
        ("PUT", f"/rms/{rm}", RMUpdate, {k: v for k, v in new_rm.items() if k not in ("id", "email")}),
        ("PATCH", f"/rms/{rm}/availability", AvailabilityChange, {"availability": "OFFLINE"}),
        ("POST", f"/rms/{rm}/leaves", LeaveCreate, {"start_date": "2026-02-02", "end_date": "2026-02-04",
                                                     "reason": "Family function"}),
        ("POST", "/pipelines", PipelineCreate, {"lead_id": str(uuid.uuid4()), "rm_id": rm, "source": "REFERRAL",
                                                "deal_value": "25000.00", "notes": "2BHK"}),
        ("PUT", f"/pipelines/{pipeline}", PipelineUpdate, {"deal_value": "30000.00", "notes": "call back"}),
        ("PATCH", f"/pipelines/{pipeline}/stage", StageChange, {"stage": "CONTACTED", "reason": "called"}),
        ("POST", "/allocations", LeadAllocationRequest, lead),
        ("PUT", "/allocations/rules", RuleSetChange, {"city": "Pune", "rules": {"sla_minutes": 90}}),
        ("POST", "/allocations/simulate", SimulationRequest, {"leads": [lead], "rules": {"sla_minutes": 90}}),
        ("POST", "/allocations/bulk-reassign", BulkReassignRequest, {"allocation_ids": [allocation],
                                                                     "reason": "rebalancing"}),
        ("PATCH", f"/allocations/{allocation}/reject", RejectRequest, {"reason": "not my area"}),
        ("POST", f"/allocations/{allocation}/reassign", ReassignRequest, {"to_rm_id": rm, "reason": "rebalancing"}),
        ("PUT", "/admin/clock", ClockChange, {"now": "2026-01-17T10:30:00Z"}),
    ]


def _mutations(model: type[BaseModel], accepted: dict[str, Any], ids: list[str]) -> st.SearchStrategy[Any]:
    """The accepted body with one or two fields replaced: bad values then reach the database, not just the schema."""
    fields = {field.alias or name: field.annotation for name, field in model.model_fields.items()}
    chosen = st.lists(st.sampled_from(sorted(fields)), min_size=1, max_size=2, unique=True)
    changes = chosen.flatmap(lambda names: st.fixed_dictionaries({n: _value(fields[n], ids) for n in names}))
    return changes.map(lambda changed: {**accepted, **changed})


def _headers(auth: Any, world: dict[str, Any], role: str) -> dict[str, str]:
    if role == "SUPERVISOR":
        return auth.supervisor(uuid.UUID(world["team"]))
    return auth.headers(role)


def _assert_no_5xx(response: httpx.Response) -> None:
    assert response.status_code < 500, f"{response.request.method} {response.request.url}: {response.text[:500]}"
    if response.status_code >= 400:
        assert response.headers["content-type"].startswith("application/problem+json"), response.headers


@BUDGET
@given(data=st.data(), role=st.sampled_from(["SALES_ADMIN", "SALES_ADMIN", "SUPERVISOR"]))
async def test_no_body_the_request_models_describe_makes_a_5xx(client, auth, world, data, role):
    method, path, model, accepted = data.draw(st.sampled_from(_writes(world)), label="endpoint")
    ids = [world["team"], world["rm"], world["pipeline"], world["allocation"], world["lead"]]
    body = data.draw(st.one_of(_mutations(model, accepted, ids), _mutations(model, accepted, ids), _body(model, ids),
                               HOSTILE), label="body")
    try:
        content = json.dumps(body, default=str)
    except (ValueError, RecursionError):  # e.g. an int Python will not print in full
        return
    response = await client.request(method, f"{API}{path}", content=content,
                                    headers={**_headers(auth, world, role), "Content-Type": "application/json"})
    _assert_no_5xx(response)


def _cursors() -> st.SearchStrategy[str]:
    keys = st.lists(st.one_of(ODD_TIMESTAMPS, HUGE_INTS, TEXT, st.uuids().map(str), st.none()), max_size=3)
    return keys.map(lambda values: base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("="))


LISTS = {
    "/allocations": ["from", "to", "city", "status", "rm_id", "team_id", "lead_id", "allocation_type"],
    "/pipelines": ["created_from", "created_to", "city", "stage", "outcome", "expected_close_from", "rm_id"],
    "/pipelines/stats": ["created_from", "created_to", "expected_close_to", "city", "source"],
    "/teams": ["city"], "/rms": ["city", "zone", "status", "is_backup"],
    "/audit": ["from", "to", "entity_type", "entity_id", "actor_id"], "/events/parked": [],
    "/allocations/workload": ["city", "team_id"], "/allocations/queued": ["city", "limit"],
    "/allocations/rules": ["city"],
}


@BUDGET
@given(data=st.data(), role=st.sampled_from(["SALES_ADMIN", "SALES_ADMIN", "SUPERVISOR"]))
async def test_no_query_on_the_main_lists_makes_a_5xx(client, auth, world, data, role):
    path = data.draw(st.sampled_from(sorted(LISTS)), label="list")
    value = st.one_of(TEXT, ODD_TIMESTAMPS, HUGE_INTS.map(str), st.uuids().map(str))
    params = data.draw(st.fixed_dictionaries({}, optional={
        **{name: value for name in LISTS[path]}, "cursor": _cursors() | TEXT,
        "limit": st.integers(-1, 600).map(str) | TEXT}), label="params")
    response = await client.get(f"{API}{path}", params=params, headers=_headers(auth, world, role))
    _assert_no_5xx(response)
