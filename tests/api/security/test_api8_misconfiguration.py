"""OWASP API8:2023 Security Misconfiguration (issue 20): security headers on every answer, a CORS allow-list
that never widens to a wildcard, no docs or debug output in production, secrets required at start-up."""
from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from sales.app import create_app
from sales.core.edge import CONSOLE_CSP, SecurityHeadersMiddleware
from sales.settings import ConfigurationError, Environment, Settings, load_settings
from tests.builders import API

PII_KEY = "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="
ORIGIN = "https://crm.mysqrft.example"


async def _client(settings: Settings, engine: Any, **update: Any) -> httpx.AsyncClient:
    app = create_app(settings.model_copy(update=update), engine=engine)
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, raise_app_exceptions=False),
                             base_url="http://test")


@pytest.fixture
async def production(settings: Settings, engine) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    client = await _client(settings, engine, env=Environment.PRODUCTION, pii_key=PII_KEY)
    yield client
    await client.aclose()


async def test_every_api_answer_carries_the_security_headers(client, auth):
    answers = {
        "200": await client.get(f"{API}/teams", headers=auth.admin),
        "401": await client.get(f"{API}/teams"),
        "403": await client.get(f"{API}/teams", headers=auth.headers("CUSTOMER")),
        "404": await client.get(f"{API}/nowhere"),
        "405": await client.delete(f"{API}/teams"),
        "422": await client.post(f"{API}/teams", json={}, headers=auth.admin),
        "413": await client.post(f"{API}/teams", content=b"x" * (2 * 1024 * 1024), headers=auth.admin),
        "healthz": await client.get("/healthz"),
    }
    for name, response in answers.items():
        assert response.headers["x-content-type-options"] == "nosniff", name
        assert response.headers["x-frame-options"] == "DENY", name
        assert response.headers["referrer-policy"] == "no-referrer", name
        assert response.headers["cache-control"] == "no-store", name  # personal data: never cached
        assert "strict-transport-security" not in response.headers, name  # outside production


async def test_console_pages_keep_their_strict_policy(client):
    response = await client.get("/console/login")
    assert response.headers["content-security-policy"] == CONSOLE_CSP
    assert response.headers["referrer-policy"] == "same-origin"
    assert response.headers["x-frame-options"] == "DENY"


async def test_any_html_page_gets_the_page_policy_so_later_public_pages_are_covered():
    """A page rendered outside /console (the public shortlist pages /s/{token}) gets the same CSP."""
    async def page(scope, receive, send):  # type: ignore[no-untyped-def]
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/html; charset=utf-8")]})
        await send({"type": "http.response.body", "body": b"<p>shortlist</p>"})

    app = SecurityHeadersMiddleware(page)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        response = await client.get("/s/0123456789abcdef")
    assert response.headers["content-security-policy"] == CONSOLE_CSP
    assert response.headers["x-frame-options"] == "DENY"


async def test_production_answers_carry_hsts(production):
    for response in (await production.get("/healthz"), await production.get(f"{API}/teams")):
        assert response.headers["strict-transport-security"].startswith("max-age=31536000")


async def test_production_hides_docs_unless_enabled_explicitly(production, settings, engine):
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert (await production.get(path)).status_code == 404, path
    async with await _client(settings, engine, env=Environment.PRODUCTION, pii_key=PII_KEY, docs_enabled=True) as opted_in:
        assert (await opted_in.get("/openapi.json")).status_code == 200


async def test_production_errors_never_carry_debug_output(settings, engine):
    app = create_app(settings.model_copy(update={"env": Environment.PRODUCTION, "pii_key": PII_KEY}), engine=engine)
    assert app.debug is False

    @app.get("/boom-for-test")
    async def boom() -> None:
        raise RuntimeError("secret internal detail /etc/sales.conf")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        response = await client.get("/boom-for-test")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "secret internal detail" not in response.text and "Traceback" not in response.text


async def test_cors_answers_only_allowed_origins_without_credentials(settings, engine):
    async with await _client(settings, engine, cors_origins=[ORIGIN]) as client:
        preflight = await client.options(f"{API}/teams", headers={
            "Origin": ORIGIN, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type, idempotency-key"})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == ORIGIN
        assert "access-control-allow-credentials" not in preflight.headers
        stranger = await client.options(f"{API}/teams", headers={
            "Origin": "https://evil.example", "Access-Control-Request-Method": "POST"})
        assert stranger.status_code == 400
        assert "access-control-allow-origin" not in stranger.headers
        simple = await client.get("/healthz", headers={"Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in simple.headers


async def test_without_an_allow_list_no_cross_origin_access(client):
    response = await client.get("/healthz", headers={"Origin": ORIGIN})
    assert "access-control-allow-origin" not in response.headers


@pytest.mark.parametrize("origins", ['["*"]', '["https://*.mysqrft.example"]', '["https://a.example/path"]',
                                     '["null"]'])
def test_a_wildcard_or_malformed_origin_is_refused_at_start_up(monkeypatch, origins):
    monkeypatch.setenv("SALES_CORS_ORIGINS", origins)
    with pytest.raises(ConfigurationError, match="SALES_CORS_ORIGINS"):
        load_settings()


@pytest.mark.parametrize(("env", "named"), [
    ({"SALES_PII_KEY": PII_KEY}, "SALES_JWT_SECRET is required in production"),
    ({"SALES_JWT_SECRET": "s" * 32}, "SALES_PII_KEY is required in production"),
    ({"SALES_JWT_SECRET": "s" * 32, "SALES_PII_KEY": PII_KEY, "SALES_CORS_ORIGINS": '["http://a.example"]'},
     "SALES_CORS_ORIGINS must be https:// origins in production"),
])
def test_production_requires_its_secrets_and_https_origins(monkeypatch, env, named):
    for name in [n for n in os.environ if n.startswith("SALES_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("SALES_ENV", "production")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=named):
        load_settings()
