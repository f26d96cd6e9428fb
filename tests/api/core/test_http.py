"""HTTP conventions: problem+json errors, 400 for unparsable JSON, request ids, health, metrics, OpenAPI."""
from __future__ import annotations

import pytest

from tests.builders import API, make_rm_with_team
from tests.checks import assert_problem


@pytest.mark.parametrize("body", [b'{"name": "South", ', b"not json", b'{"name": "South"}}'],
                         ids=["truncated", "not-json", "trailing"])
async def test_unparsable_json_is_400_problem(client, auth, engine, body):
    response = await client.post(f"{API}/teams", content=body,
                                 headers={**auth.admin, "Content-Type": "application/json"})
    assert_problem(response, 400, "malformed_json")


async def test_unparsable_json_on_pipeline_stage_change_is_400(client, auth):
    response = await client.patch(f"{API}/pipelines/00000000-0000-4000-8000-000000000001/stage",
                                  content=b"{stage:", headers={**auth.admin, "Content-Type": "application/json"})
    assert_problem(response, 400, "malformed_json")


async def test_unknown_field_is_422_naming_it(client, auth):
    response = await client.post(f"{API}/teams", json={"name": "South", "city": "Pune", "colour": "red"},
                                 headers=auth.admin)
    assert_problem(response, 422, "validation_error", loc=["body", "colour"])


async def test_missing_required_field_is_422_naming_it(client, auth):
    response = await client.post(f"{API}/teams", json={"name": "South"}, headers=auth.admin)
    assert_problem(response, 422, "validation_error", loc=["body", "city"])


@pytest.mark.parametrize("path,loc", [
    ("/teams/not-a-uuid", ["path", "team_id"]),
    ("/rms/123", ["path", "rm_id"]),
    ("/pipelines/xyz", ["path", "pipeline_id"]),
    ("/pipelines/xyz/history", ["path", "pipeline_id"]),
])
async def test_malformed_uuid_in_path_is_422(client, auth, path, loc):
    assert_problem(await client.get(f"{API}{path}", headers=auth.admin), 422, "validation_error", loc=loc)


@pytest.mark.parametrize("query,loc", [
    ("limit=0", ["query", "limit"]), ("limit=501", ["query", "limit"]), ("limit=ten", ["query", "limit"]),
    ("cursor=%25%25", ["query", "cursor"]),
])
async def test_bad_paging_parameters_are_422(client, auth, query, loc):
    assert_problem(await client.get(f"{API}/pipelines?{query}", headers=auth.admin), 422, "validation_error",
                   loc=loc)


async def test_unknown_route_is_404_problem(client, auth):
    assert_problem(await client.get(f"{API}/nothing-here", headers=auth.admin), 404, "not_found")


async def test_wrong_method_is_405_problem(client, auth):
    assert_problem(await client.delete(f"{API}/teams", headers=auth.admin), 405, "method_not_allowed")


async def test_request_id_is_echoed_or_generated(client, auth):
    given = await client.get(f"{API}/teams", headers={**auth.admin, "X-Request-ID": "req-abc-123"})
    assert given.headers["x-request-id"] == "req-abc-123"
    generated = await client.get(f"{API}/teams", headers=auth.admin)
    assert len(generated.headers["x-request-id"]) == 32


async def test_healthz_is_live(client):
    response = await client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


async def test_readyz_checks_the_database(client):
    response = await client.get("/readyz")
    assert response.status_code == 200 and response.json() == {"status": "ready"}


async def test_readyz_is_503_when_the_database_is_unreachable(settings):
    import httpx

    from sales.app import create_app
    from sales.core.db import create_engine

    url = ("sqlite+aiosqlite:////nonexistent-dir/x.db" if settings.is_sqlite
           else "postgresql+asyncpg://postgres@127.0.0.1:1/nowhere")
    broken = create_engine(settings, url=url)
    app = create_app(settings.model_copy(update={"database_url": url}), engine=broken)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        response = await c.get("/readyz")
    await broken.dispose()
    assert response.status_code == 503 and response.json()["status"] == "unavailable"


async def test_metrics_count_requests_per_route_template(client, auth):
    team, rm = await make_rm_with_team(client, auth.admin)
    await client.get(f"{API}/rms/{rm['id']}", headers=auth.admin)
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'sales_http_requests_total{method="GET",route="/api/v1/sales/rms/{rm_id}",status="200"}' in text
    assert 'sales_http_request_duration_seconds_bucket{le="0.1",method="POST",route="/api/v1/sales/teams"}' in text


async def test_openapi_lists_every_endpoint(client):
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    expected = {
        "/teams": {"get", "post"}, "/teams/{team_id}": {"get", "put"},
        "/rms": {"get", "post"}, "/rms/{rm_id}": {"get", "put"}, "/rms/{rm_id}/availability": {"patch"},
        "/rms/{rm_id}/leaves": {"get", "post"}, "/rms/import": {"post"},
        "/pipelines": {"get", "post"}, "/pipelines/{pipeline_id}": {"get", "put"},
        "/pipelines/{pipeline_id}/stage": {"patch"}, "/pipelines/{pipeline_id}/history": {"get"},
        "/pipelines/stats": {"get"}, "/admin/clock": {"get", "put"}, "/admin/jobs/{job}/run": {"post"},
        "/audit": {"get"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[f"{API}{path}"]), path


async def test_docs_page_is_served(client):
    response = await client.get("/docs")
    assert response.status_code == 200 and "swagger" in response.text.lower()
