"""OWASP API4:2023 Unrestricted Resource Consumption (issue 20): every list is paged with a bounded `limit`
(generated from the route table), bodies are bounded (413, tests/api/core/test_edge.py), and requests are
rate limited per principal and address (429, tests/api/core/test_rate_limits.py)."""
from __future__ import annotations

import pytest

from sales.app import create_app
from sales.settings import Settings
from tests.api.security.routes import operations
from tests.checks import assert_problem
from tests.conftest import TEST_SECRET

DOCUMENT_APP = create_app(Settings(env="test", database_url="sqlite+aiosqlite://", jwt_secret=TEST_SECRET))
DOCUMENT = DOCUMENT_APP.openapi()


def _query(operation):  # type: ignore[no-untyped-def]
    parameters = DOCUMENT["paths"][operation.template][operation.method.lower()].get("parameters", [])
    return {p["name"]: p for p in parameters if p["in"] == "query"}


PAGED = [op for op in operations(DOCUMENT_APP) if op.method == "GET" and "limit" in _query(op)]


def test_every_list_limit_has_a_published_maximum():
    assert PAGED
    for operation in PAGED:
        schema = _query(operation)["limit"]["schema"]
        schema = next((s for s in schema.get("anyOf", [schema]) if s.get("type") == "integer"), schema)
        assert schema.get("maximum", 10**9) <= 1000, operation.name


@pytest.mark.parametrize("operation", PAGED, ids=[op.name for op in PAGED])
async def test_a_limit_over_the_maximum_is_refused(client, auth, operation):
    schema = _query(operation)["limit"]["schema"]
    schema = next((s for s in schema.get("anyOf", [schema]) if s.get("type") == "integer"), schema)
    headers = auth.headers(*sorted(operation.allowed_roles or {"SALES_ADMIN"}))
    response = await client.get(operation.path(), params={"limit": schema["maximum"] + 1}, headers=headers)
    assert_problem(response, 422, "validation_error", loc=["query", "limit"])
