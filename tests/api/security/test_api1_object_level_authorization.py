"""OWASP API1:2023 Broken Object Level Authorization (issue 20), generated from the route table.

Every published route with a path parameter is called by every role (and without a token) on an object outside
the caller's scope: an id nobody owns. The answer is 401/403/404/405/422 - never a success, never a 5xx. A route
added later is covered without being listed. Routes keyed by another domain's id, whose writes create or
replace the record for that id (an upsert by design), may succeed for the roles allowed to write them: each is
listed below with why, and a stale entry fails the suite. Objects that exist and belong to someone else are
tried for the records that matter most (pipelines, orders, refunds) in test_api1_foreign_objects.py.
"""
from __future__ import annotations

import uuid

import pytest

from sales.app import create_app
from sales.core.auth import Role
from sales.settings import Settings
from tests.api.security.routes import Operation, operations, request_body
from tests.conftest import TEST_SECRET

REFUSALS = frozenset({401, 403, 404, 405, 422})

# "METHOD /path" -> why a success on an unknown id is not a leak (the path names another domain's key).
UPSERTS_BY_FOREIGN_KEY: dict[str, str] = {
    "PUT /api/v1/sales/customers/{user_id}/preferences": "identity's user id: the preferences record is created "
                                                         "on first write (its owner, SALES_ADMIN or SERVICE)",
    "POST /api/v1/sales/customers/{user_id}/activity": "identity's user id: activity is recorded for any user "
                                                       "the platform reports (SERVICE, SALES_ADMIN)",
}
# "METHOD /path" -> why a read of an unknown id answers 200 (an empty view of an id that is not ours to know).
EMPTY_VIEWS_OF_FOREIGN_KEYS: dict[str, str] = {
    "GET /api/v1/sales/customers/{user_id}": "identity's user id: staff who read org-wide see an empty context "
                                             "for a user the service holds nothing about (a customer only their own)",
    "GET /api/v1/sales/upsells/recommendations/{user_id}": "identity's user id: no recommendations, and the "
                                                           "gate's figures for a user with no history",
}

DOCUMENT_SETTINGS = Settings(env="test", database_url="sqlite+aiosqlite://", jwt_secret=TEST_SECRET)
DOCUMENT_APP = create_app(DOCUMENT_SETTINGS)
OPERATIONS = [op for op in operations(DOCUMENT_APP) if op.path_params]
ROLES = [*Role, None]  # None: a valid token holding none of our roles


def test_every_exemption_names_a_route_that_exists():
    names = {op.name for op in OPERATIONS}
    assert set(UPSERTS_BY_FOREIGN_KEY) | set(EMPTY_VIEWS_OF_FOREIGN_KEYS) <= names


@pytest.mark.parametrize("operation", OPERATIONS, ids=[op.name for op in OPERATIONS])
async def test_no_role_reaches_an_object_outside_its_scope(client, auth, operation: Operation):
    path, body = operation.path(), request_body(DOCUMENT_APP, operation)  # a schema-valid body reaches the handler
    anonymous = await client.request(operation.method, path, json=body)
    if operation.authenticated:
        assert anonymous.status_code == 401, anonymous.text
    else:
        assert anonymous.status_code in REFUSALS, anonymous.text
    for role in ROLES:
        headers = auth.headers(*([role] if role else []), teams=[uuid.uuid4()])
        response = await client.request(operation.method, path, json=body, headers=headers)
        assert response.status_code < 500, (role, response.text)
        if response.status_code in REFUSALS:
            continue
        exempt = UPSERTS_BY_FOREIGN_KEY if operation.method != "GET" else EMPTY_VIEWS_OF_FOREIGN_KEYS
        assert operation.name in exempt, f"{role} got {response.status_code} on {operation.name}: {response.text}"
        assert operation.allowed_roles is None or role in operation.allowed_roles
