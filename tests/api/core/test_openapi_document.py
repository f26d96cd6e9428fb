"""Issue 9 item 16: /openapi.json publishes every route's real success bodies and every error it can answer."""
from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi.routing import APIRoute, iter_route_contexts

from sales.app import API
from tests.allocation_builders import allocate, city_with_rms
from tests.builders import freeze_clock, make_leave, make_pipeline, make_rm_with_team

PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}


@pytest.fixture
async def document(client) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def api_operations(app) -> list[tuple[Any, str]]:  # type: ignore[no-untyped-def]
    """(route, method) for every route the app serves under the API prefix."""
    routes = [route for route in iter_route_contexts(app.routes)
              if isinstance(route.original_route, APIRoute) and route.path_format.startswith(API)]
    assert len(routes) > 25
    return [(route, method) for route in routes for method in sorted(route.methods)]


def _requires_roles(route: Any) -> bool:
    def calls(dependant: Any) -> list[Any]:
        return [dependant.call, *[call for sub in dependant.dependencies for call in calls(sub)]]

    return any(hasattr(call, "required_roles") for call in calls(route.dependant))


async def test_every_route_publishes_its_success_body(app, document):
    """issue 9 item 16: no 2xx body is documented as a plain string (handlers return raw orjson responses)."""
    for route, method in api_operations(app):
        assert route.include_in_schema, route.path_format
        responses = document["paths"][route.path_format][method.lower()]["responses"]
        successes = {status: response for status, response in responses.items() if status.startswith("2")}
        assert successes, (method, route.path_format)
        for status, response in successes.items():
            schema = response["content"]["application/json"]["schema"]
            assert schema != {"type": "string"}, (method, route.path_format, status)
            assert "$ref" in schema or schema.get("type") in ("object", "array"), (method, route.path_format, schema)


async def test_every_route_publishes_its_errors_as_problem_json(app, document):
    """issue 9 item 16: 401 everywhere, 403 where roles are required, 422 where there is input - and every error,
    422 included, as application/problem+json with the one Problem schema."""
    for route, method in api_operations(app):
        where = (method, route.path_format)
        operation = document["paths"][route.path_format][method.lower()]
        responses = operation["responses"]
        assert "401" in responses, where
        assert ("403" in responses) == _requires_roles(route), where
        takes_input = "parameters" in operation or "requestBody" in operation
        assert ("422" in responses) == takes_input, where
        for status, response in responses.items():
            if status[0] in "45":
                assert response["content"] == PROBLEM, (where, status)


async def test_fastapis_own_validation_error_schema_is_gone(document):
    """issue 9 item 16: the API never answers FastAPI's HTTPValidationError (application/json)."""
    assert "HTTPValidationError" not in document["components"]["schemas"]
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "code"} <= set(problem["required"])
    assert "errors" in problem["properties"]


async def test_alternative_success_statuses_are_published(document):
    """issue 9 item 16: POST /allocations answers 201, 200 (the live allocation) or 202 (queued)."""
    allocate_responses = document["paths"][f"{API}/allocations"]["post"]["responses"]
    assert {"200", "201", "202"} <= set(allocate_responses)
    queued = allocate_responses["202"]["content"]["application/json"]["schema"]
    assert queued == {"$ref": "#/components/schemas/QueuedLead"}
    reassign = document["paths"][f"{API}/allocations/{{allocation_id}}/reassign"]["post"]["responses"]
    assert {"200", "202"} <= set(reassign)


async def test_decimals_are_published_as_the_numbers_the_api_writes(document):
    """issue 9 item 16: money in responses is a JSON number (25000.00), so the schema must not say string."""
    schemas = document["components"]["schemas"]
    assert schemas["PipelineStats"]["properties"]["total_deal_value"] == {"type": "number",
                                                                        "title": "Total Deal Value"}
    assert {"type": "number"} in schemas["PipelineRead"]["properties"]["deal_value"]["anyOf"]


async def test_request_bodies_read_from_the_raw_request_are_published(document):
    """issue 9 item 16: POST /events (CloudEvents) and POST /rms/import (CSV) document their bodies."""
    events = document["paths"][f"{API}/events"]["post"]["requestBody"]["content"]
    assert "oneOf" in events["application/json"]["schema"]
    csv = document["paths"][f"{API}/rms/import"]["post"]["requestBody"]["content"]
    assert {"text/csv", "multipart/form-data"} <= set(csv)


async def test_request_schemas_say_what_the_api_checks(document):
    """issue 9 item 16: constraints the API enforces in validators are published too, so a generated client
    does not send what the API will refuse."""
    schemas = document["components"]["schemas"]
    money = schemas["RMCreate"]["properties"]["base_salary"]["anyOf"]
    assert {"type": "string", "pattern": r"^[0-9]{1,12}(\.[0-9]{1,2})?$"} in money
    assert any(branch.get("multipleOf") == 0.01 for branch in money)
    assert schemas["Shift"]["properties"]["start"]["pattern"] == r"^([01][0-9]|2[0-3]):[0-5][0-9]$"
    assert [branch["required"] for branch in schemas["ClockChange"]["oneOf"]] == [["now"], ["advance_seconds"]]
    rules = schemas["RuleSetChange"]["properties"]["rules"]
    assert rules["additionalProperties"] is False and {"sla_minutes", "skill_match"} <= set(rules["properties"])
    assert rules["properties"]["skill_match"]["additionalProperties"] is False


async def test_console_pages_are_not_in_the_api_document(document):
    assert not [path for path in document["paths"] if not path.startswith(API)]


@pytest.mark.parametrize("method,path,allow", [
    ("DELETE", "/teams", "GET, POST"),
    ("OPTIONS", "/allocations/simulate", "POST"),
    ("DELETE", "/rms/00000000-0000-4000-8000-000000000001", "GET, PUT"),
])
async def test_405_names_every_method_of_the_resource(client, auth, method, path, allow):
    """issue 9 item 16 (RFC 9110): a 405 carries Allow with every method of that path, not only those of the
    first route that matched."""
    response = await client.request(method, f"{API}{path}", headers=auth.admin)
    assert response.status_code == 405
    assert response.headers["allow"] == allow


async def test_real_responses_match_the_published_schemas(client, auth, engine, document):
    """issue 9 item 16: bodies built from real records (money, nested RM and customer, queues, decision traces)
    validate against the published schemas, status included."""
    admin = auth.admin
    await freeze_clock(client, admin)
    team, rm = await make_rm_with_team(client, admin)
    pipeline = await make_pipeline(client, admin, rm_id=rm["id"])
    await make_leave(client, admin, rm_id=rm["id"])
    await city_with_rms(client, admin, count=2)
    allocation = (await allocate(client, admin)).json()
    published = schemathesis.openapi.from_dict(document)
    calls = [
        ("GET", "/teams", None), ("GET", f"/teams/{team['id']}", None), ("GET", "/rms", None),
        ("GET", f"/rms/{rm['id']}", None), ("GET", f"/rms/{rm['id']}/leaves", None),
        ("GET", "/pipelines", None), ("GET", f"/pipelines/{pipeline['id']}", None),
        ("GET", f"/pipelines/{pipeline['id']}/history", None), ("GET", "/pipelines/stats", None),
        ("PATCH", f"/pipelines/{pipeline['id']}/stage", {"stage": "CONTACTED"}),
        ("GET", "/allocations", None), ("GET", f"/allocations/{allocation['id']}", None),
        ("GET", "/allocations/workload", None), ("GET", "/allocations/queued", None),
        ("GET", f"/allocations/rm/{allocation['rm_id']}/queue", None), ("GET", "/allocations/rules", None),
        ("POST", "/allocations/simulate", {"from": "2026-01-01", "to": "2026-01-31"}),
        ("POST", "/allocations", {"lead_id": allocation["lead_id"]}),
        ("GET", "/audit", None), ("GET", "/admin/clock", None), ("GET", "/events/feed", None),
        ("GET", "/events/parked", None), ("GET", "/teams/00000000-0000-4000-8000-000000000001", None),
    ]
    for method, path, body in calls:
        response = await client.request(method, f"{API}{path}", json=body, headers=admin)
        assert response.status_code < 500, (method, path, response.text)
        template = _template_of(document, path)
        assert str(response.status_code) in document["paths"][template][method.lower()]["responses"], (method, path)
        published[template][method].validate_response(response)


def _template_of(document: dict[str, Any], path: str) -> str:
    """The documented path template a concrete API path falls under (literal segments before templated ones)."""
    import re

    candidates = [template for template in document["paths"]
                  if re.fullmatch(re.sub(r"\{[^}]+\}", "[^/]+", template), f"{API}{path}")]
    return min(candidates, key=lambda template: template.count("{"))
