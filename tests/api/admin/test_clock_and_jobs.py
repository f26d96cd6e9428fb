"""GET/PUT /admin/clock (ARCHITECTURE.md §2.4) and POST /admin/jobs/{job}/run."""
from __future__ import annotations

import asyncio

import httpx
import pytest

from sales.app import create_app
from sales.core.jobs import JOBS, Job
from sales.settings import Settings
from tests.builders import API, freeze_clock, make_pipeline, make_rm_with_team
from tests.checks import assert_problem, row_counts
from tests.conftest import TEST_SECRET


async def test_clock_reads_wall_time_until_frozen(client, auth):
    from datetime import UTC, datetime

    response = await client.get(f"{API}/admin/clock", headers=auth.admin)
    assert response.status_code == 200
    now = datetime.fromisoformat(response.json()["now"].replace("Z", "+00:00"))
    assert abs((now - datetime.now(UTC)).total_seconds()) < 60


async def test_freeze_then_advance(client, auth):
    frozen = await client.put(f"{API}/admin/clock", json={"now": "2026-01-17T16:00:00+05:30"}, headers=auth.admin)
    assert frozen.status_code == 200 and frozen.json() == {"now": "2026-01-17T10:30:00Z"}
    assert (await client.get(f"{API}/admin/clock", headers=auth.admin)).json() == {"now": "2026-01-17T10:30:00Z"}
    advanced = await client.put(f"{API}/admin/clock", json={"advance_seconds": 7200}, headers=auth.admin)
    assert advanced.json() == {"now": "2026-01-17T12:30:00Z"}
    fractional = await client.put(f"{API}/admin/clock", json={"advance_seconds": 0.5}, headers=auth.admin)
    assert fractional.json() == {"now": "2026-01-17T12:30:00.500000Z"}
    assert (await client.get(f"{API}/admin/clock", headers=auth.admin)).json() == fractional.json()


async def test_frozen_clock_drives_business_timestamps(client, auth):
    await freeze_clock(client, auth.admin, at="2026-03-01T08:00:00Z")
    _, rm = await make_rm_with_team(client, auth.admin)
    pipeline = await make_pipeline(client, auth.admin, rm_id=rm["id"])
    assert (pipeline["created_at"], pipeline["sla_deadline"]) == ("2026-03-01T08:00:00Z", "2026-03-01T10:00:00Z")
    await client.put(f"{API}/admin/clock", json={"advance_seconds": 90}, headers=auth.admin)
    second = await make_pipeline(client, auth.admin, rm_id=rm["id"])
    assert (second["created_at"], second["sla_deadline"]) == ("2026-03-01T08:01:30Z", "2026-03-01T10:01:30Z")


@pytest.mark.parametrize(("body", "loc"), [
    ({}, ["body"]), ({"now": "2026-01-17T10:30:00Z", "advance_seconds": 5}, ["body"]),
    ({"advance_seconds": -1}, ["body", "advance_seconds"]), ({"now": "2026-01-17T10:30:00"}, ["body", "now"]),
    ({"now": "soon"}, ["body", "now"]), ({"advance_seconds": "a while"}, ["body", "advance_seconds"]),
    ({"now": "2026-01-17T10:30:00Z", "tz": "IST"}, ["body", "tz"]),
])
async def test_clock_bad_input_is_422(client, auth, body, loc):
    response = await client.put(f"{API}/admin/clock", json=body, headers=auth.admin)
    assert_problem(response, 422, "validation_error", loc=loc)


@pytest.fixture
async def production_client(settings, engine):  # type: ignore[no-untyped-def]
    prod = Settings(env="production", database_url=settings.database_url, jwt_secret=TEST_SECRET,
                    pii_key="A" * 43 + "=", log_level="WARNING")
    assert prod.is_production
    app = create_app(prod, engine=engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


async def test_clock_is_404_in_production(production_client, auth, engine):
    before = await row_counts(engine)
    assert_problem(await production_client.get(f"{API}/admin/clock", headers=auth.admin), 404, "not_found")
    response = await production_client.put(f"{API}/admin/clock", json={"now": "2026-01-17T10:30:00Z"},
                                           headers=auth.admin)
    assert_problem(response, 404, "not_found")
    assert await row_counts(engine) == before


async def test_production_ignores_a_frozen_clock(client, production_client, auth):
    await freeze_clock(client, auth.admin, at="2020-01-01T00:00:00Z")
    _, rm = await make_rm_with_team(client, auth.admin)
    pipeline = await make_pipeline(production_client, auth.admin, rm_id=rm["id"])
    assert not pipeline["created_at"].startswith("2020-")


async def test_unknown_job_is_404(client, auth):
    body = assert_problem(await client.post(f"{API}/admin/jobs/no-such-job/run", headers=auth.admin), 404, "not_found")
    assert "no-such-job" in body["detail"]


async def test_job_runs_at_business_time_and_reports_what_it_did(client, auth, monkeypatch):
    seen = []

    async def sweep(conn, now):  # type: ignore[no-untyped-def]
        seen.append(now.isoformat())
        return {"processed": 3, "escalated": 1}

    monkeypatch.setitem(JOBS, "test-sweep", Job("test-sweep", sweep, 60))
    await freeze_clock(client, auth.admin, at="2026-01-17T12:31:00Z")
    response = await client.post(f"{API}/admin/jobs/test-sweep/run", headers=auth.admin)
    assert response.status_code == 200
    assert response.json() == {"job": "test-sweep", "processed": 3, "escalated": 1}
    assert seen == ["2026-01-17T12:31:00+00:00"]


async def test_parallel_clock_advances_add_up(client, auth):
    """issue 9 item 4 (the class): advancing the test clock read it, then wrote it; concurrent advances lost
    each other, and concurrent first freezes failed on the clock row's key (500)."""
    responses = await asyncio.gather(*[client.put(f"{API}/admin/clock", json={"now": "2026-01-17T10:00:00Z"},
                                                  headers=auth.admin) for _ in range(5)])
    assert [r.status_code for r in responses] == [200] * 5, [r.text for r in responses]

    responses = await asyncio.gather(*[client.put(f"{API}/admin/clock", json={"advance_seconds": 60},
                                                  headers=auth.admin) for _ in range(10)])

    assert [r.status_code for r in responses] == [200] * 10
    assert sorted(r.json()["now"] for r in responses)[-1] == "2026-01-17T10:10:00Z"
    assert (await client.get(f"{API}/admin/clock", headers=auth.admin)).json() == {"now": "2026-01-17T10:10:00Z"}
