"""OWASP API5:2023 Broken Function Level Authorization (issue 20), generated from the route table.

Every published operation whose dependencies require roles (`require(...)`) refuses every other role with 403
and a caller without a token with 401, whatever the body; a route added later is covered without being listed.
The roles come from the route's own dependencies, the same place the OpenAPI document takes its 403 from.
"""
from __future__ import annotations

import uuid

import pytest

from sales.app import create_app
from sales.core.auth import Role
from sales.settings import Settings
from tests.api.security.routes import Operation, operations, request_body
from tests.checks import assert_problem
from tests.conftest import TEST_SECRET

DOCUMENT_APP = create_app(Settings(env="test", database_url="sqlite+aiosqlite://", jwt_secret=TEST_SECRET))
OPERATIONS = list(operations(DOCUMENT_APP))
RESTRICTED = [op for op in OPERATIONS if op.allowed_roles is not None]


def test_every_write_operation_is_restricted_to_roles():
    """A write open to any signed-in principal would be a function any customer could call."""
    open_writes = [op.name for op in OPERATIONS if op.method != "GET" and op.authenticated and op.allowed_roles is None]
    assert open_writes == []


@pytest.mark.parametrize("operation", RESTRICTED, ids=[op.name for op in RESTRICTED])
async def test_roles_not_allowed_are_refused(client, auth, operation: Operation):
    path, body = operation.path(), request_body(DOCUMENT_APP, operation)
    assert_problem(await client.request(operation.method, path, json=body), 401, "not_authenticated")
    assert operation.allowed_roles
    for role in [*(r for r in Role if r not in operation.allowed_roles), None]:
        headers = auth.headers(*([role] if role else []), teams=[uuid.uuid4()])
        response = await client.request(operation.method, path, json=body, headers=headers)
        assert_problem(response, 403, "forbidden")
