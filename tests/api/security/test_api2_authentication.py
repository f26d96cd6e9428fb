"""OWASP API2:2023 Broken Authentication (issue 20), generated from the route table: every operation that needs
a principal refuses, with 401 and the same problem, a missing token, an expired one, one signed with another
key, an unsigned (`alg: none`) one and one without a subject. Token validation itself is detailed in
tests/api/core/test_token_validation.py; the console's sign-in throttle in tests/api/console."""
from __future__ import annotations

import time
import uuid

import jwt
import pytest

from sales.app import create_app
from sales.settings import Settings
from tests.api.security.routes import operations, request_body
from tests.checks import assert_problem
from tests.conftest import TEST_SECRET

DOCUMENT_APP = create_app(Settings(env="test", database_url="sqlite+aiosqlite://", jwt_secret=TEST_SECRET))
AUTHENTICATED = [op for op in operations(DOCUMENT_APP) if op.authenticated]


def _claims(**overrides):  # type: ignore[no-untyped-def]
    now = int(time.time())
    return {"sub": str(uuid.uuid4()), "roles": ["SALES_ADMIN"], "iat": now, "exp": now + 600, **overrides}


BAD_TOKENS = {
    "expired": jwt.encode(_claims(iat=1_600_000_000, exp=1_600_000_600), TEST_SECRET, algorithm="HS256"),
    "another key": jwt.encode(_claims(), "another-secret-another-secret-0123456789", algorithm="HS256"),
    "unsigned": jwt.encode(_claims(), None, algorithm="none"),
    "no subject": jwt.encode({k: v for k, v in _claims().items() if k != "sub"}, TEST_SECRET, algorithm="HS256"),
    "not a JWT": "not.a.jwt",
}


def test_every_api_operation_but_none_needs_a_principal():
    """Routes without authentication are deliberate: none today under /api (public pages live outside it)."""
    assert [op.name for op in operations(DOCUMENT_APP) if not op.authenticated] == []


@pytest.mark.parametrize("operation", AUTHENTICATED, ids=[op.name for op in AUTHENTICATED])
async def test_bad_tokens_are_401(client, operation):
    path, body = operation.path(), request_body(DOCUMENT_APP, operation)
    assert_problem(await client.request(operation.method, path, json=body), 401, "not_authenticated")
    for why, token in BAD_TOKENS.items():
        response = await client.request(operation.method, path, json=body, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, (why, response.text)
