"""What the public API port exposes besides the API: docs and metrics can leave it (issue 9 item 13)."""
from __future__ import annotations

import httpx
import pytest

from sales.app import create_app
from sales.settings import Settings
from tests.checks import assert_problem


async def _get(settings: Settings, engine, path: str) -> httpx.Response:  # type: ignore[no-untyped-def]
    app = create_app(settings, engine=engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        return await client.get(path)


@pytest.mark.parametrize("path", ["/docs", "/redoc", "/openapi.json"])
async def test_docs_are_served_by_default_and_404_when_disabled(settings, engine, path):
    """issue 9 item 13: SALES_DOCS_ENABLED=false removes the interactive docs and the OpenAPI document."""
    assert (await _get(settings, engine, path)).status_code == 200
    hidden = settings.model_copy(update={"docs_enabled": False})
    assert_problem(await _get(hidden, engine, path), 404, "not_found")


async def test_metrics_leave_the_api_port_when_a_metrics_port_is_set(settings, engine):
    """issue 9 item 13: with SALES_METRICS_PORT, /metrics is only on the internal port (`sales serve`)."""
    public = await _get(settings, engine, "/metrics")
    assert public.status_code == 200 and "sales_http_requests_total" in public.text
    internal = settings.model_copy(update={"metrics_port": 9464})
    assert_problem(await _get(internal, engine, "/metrics"), 404, "not_found")
