"""What every request meets first: the body size limit (issue 9 item 8) and the security headers (item 9)."""
from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from sales.app import create_app
from sales.core.edge import CONSOLE_CSP
from sales.directory.models import teams
from tests.builders import API
from tests.checks import assert_problem, count

MB = 1024 * 1024


class CountingBody:
    """A request body streamed in chunks, counting how many the server pulled."""

    def __init__(self, chunks: int, size: int) -> None:
        self.chunks, self.size, self.pulled = chunks, size, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.chunks):
            self.pulled += 1
            yield b"x" * self.size


async def test_unauthenticated_250_mb_post_is_413_before_its_body_is_read(client):
    """issue 9 item 8: the body was buffered whole before the 401; now a declared Content-Length over the
    limit (SALES_MAX_BODY_BYTES, 1 MB) is refused before authentication, without reading the body."""
    body = CountingBody(250, MB)
    response = await client.post(f"{API}/teams", content=body, headers={
        "Content-Length": str(250 * MB), "Content-Type": "application/json"})
    problem = assert_problem(response, 413, "payload_too_large")
    assert problem["max_bytes"] == MB
    assert body.pulled == 0


async def test_chunked_body_is_refused_as_soon_as_it_passes_the_limit(client, auth, engine):
    """issue 9 item 8: without a Content-Length the body is counted while it arrives and refused at the
    limit: the rest is never read and nothing is written."""
    body = CountingBody(250, 64 * 1024)
    response = await client.post(f"{API}/teams", content=body, headers={**auth.admin,
                                                                        "Content-Type": "application/json"})
    assert_problem(response, 413, "payload_too_large")
    assert body.pulled == MB // (64 * 1024) + 1
    assert await count(engine, teams) == 0


async def test_body_at_the_limit_is_read(client, auth):
    response = await client.post(f"{API}/teams", content=b" " * (MB - 2) + b"{}",
                                 headers={**auth.admin, "Content-Type": "application/json"})
    assert_problem(response, 422, "validation_error", loc=["body", "name"])


async def test_csv_import_has_its_own_larger_limit(client, auth):
    """issue 9 item 8: POST /rms/import takes up to SALES_MAX_IMPORT_BYTES (10 MB)."""
    not_utf8 = await client.post(f"{API}/rms/import", content=b"\xff" * (2 * MB),
                                 headers={**auth.admin, "Content-Type": "text/csv"})
    assert_problem(not_utf8, 422, "validation_error")  # read and parsed: over 1 MB is fine here
    too_large = await client.post(f"{API}/rms/import", content=CountingBody(11, MB),
                                  headers={**auth.admin, "Content-Type": "text/csv", "Content-Length": str(11 * MB)})
    assert_problem(too_large, 413, "payload_too_large")


async def test_limits_are_configurable(settings, engine, auth):
    app = create_app(settings.model_copy(update={"max_body_bytes": 100}), engine=engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as small:
        refused = await small.post(f"{API}/teams", json={"name": "A" * 100, "city": "Pune"}, headers=auth.admin)
        accepted = await small.post(f"{API}/teams", json={"name": "A", "city": "Pune"}, headers=auth.admin)
    assert_problem(refused, 413, "payload_too_large")
    assert accepted.status_code == 201


@pytest.mark.parametrize("path", ["/console/login", "/console", "/console/static/console.js"])
async def test_console_responses_carry_a_strict_csp_and_refuse_framing(client, path):
    """issue 9 item 9: the console could be framed and had no CSP."""
    response = await client.get(path)
    policy = response.headers["content-security-policy"]
    assert policy == CONSOLE_CSP
    directives = {d.split()[0]: d.split()[1:] for d in policy.split("; ")}
    assert directives["default-src"] == ["'self'"] and directives["script-src"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"] and directives["form-action"] == ["'self'"]
    assert directives["base-uri"] == ["'none'"] and directives["object-src"] == ["'none'"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"


async def test_api_responses_are_nosniff_without_console_headers(client, auth):
    """issue 9 item 9: API answers (errors included) are never content-sniffed."""
    for response in (await client.get(f"{API}/teams", headers=auth.admin), await client.get(f"{API}/teams"),
                     await client.get("/healthz")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "content-security-policy" not in response.headers
