"""OWASP API7:2023 Server Side Request Forgery (issue 20): the service fetches no URL that a request names. Its
only outbound fetch is the identity service's JWKS, from configuration (https:// only in production, never
file:// or another scheme; tests/unit/core/test_settings.py); no request takes a URL, checked on the route
table so a later route that does must be looked at."""
from __future__ import annotations

from sales.app import create_app
from sales.settings import Settings
from tests.conftest import TEST_SECRET


def _formats(node):  # type: ignore[no-untyped-def]
    if isinstance(node, dict):
        if "format" in node:
            yield node["format"]
        for value in node.values():
            yield from _formats(value)
    elif isinstance(node, list):
        for item in node:
            yield from _formats(item)


def test_no_request_takes_a_url():
    document = create_app(Settings(env="test", database_url="sqlite+aiosqlite://", jwt_secret=TEST_SECRET)).openapi()
    inputs = [operation.get("parameters", []) + [operation.get("requestBody", {})]
              for path in document["paths"].values() for operation in path.values()]
    referenced = document["components"]["schemas"]  # request bodies refer to these
    formats = set(_formats(inputs)) | set(_formats(referenced))
    assert not formats & {"uri", "url", "iri", "uri-reference", "hostname", "ipv4", "ipv6"}
