"""Period boundaries, the city's time zone, and targets-close with the test clock (issue 13)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tests.allocation_builders import run_job, set_clock
from tests.api.targets.helpers import TARGETS, create, get, sell, start, target, team_of
from tests.builders import API


@pytest.mark.parametrize(("period_type", "period_start", "period_end"), [
    ("DAILY", "2026-01-17", "2026-01-17"),
    ("WEEKLY", "2026-01-12", "2026-01-18"),
    ("MONTHLY", "2026-02-01", "2026-02-28"),
    ("MONTHLY", "2028-02-01", "2028-02-29"),
    ("QUARTERLY", "2026-10-01", "2026-12-31"),
])
async def test_period_end_follows_the_period_type(client, auth, period_type, period_start, period_end):
    await start(client, auth)
    _, [priya] = await team_of(client, auth.admin, "Priya Patel")
    body = await target(client, auth.admin, priya["id"], period_type=period_type, period_start=period_start)
    assert (body["period_start"], body["period_end"], body["status"]) == (period_start, period_end, "ACTIVE")


@pytest.mark.parametrize(("period_type", "period_start"), [
    ("WEEKLY", "2026-01-13"), ("MONTHLY", "2026-01-02"), ("QUARTERLY", "2026-02-01"), ("QUARTERLY", "2026-04-02")])
async def test_a_period_start_off_its_boundary_is_422(client, auth, period_type, period_start):
    await start(client, auth)
    _, [priya] = await team_of(client, auth.admin, "Priya Patel")
    response = await create(client, auth.admin, priya["id"], period_type=period_type, period_start=period_start)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["loc"] == ["body", "period_start"]


async def test_the_period_is_bounded_in_the_citys_time_zone(client, auth):
    plan = await start(client, auth)
    rules = await client.put(f"{API}/allocations/rules", headers=auth.admin,
                             json={"city": "Bangalore", "rules": {"timezone": "Asia/Kolkata"}})
    assert rules.status_code == 200, rules.text
    _, [priya] = await team_of(client, auth.admin, "Priya Patel")
    goal = await target(client, auth.admin, priya["id"], target_value=Decimal("1000.00"))
    # 31 Dec 19:00 UTC is 1 Jan 00:30 in Bangalore: January's; 31 Jan 18:30 UTC is 1 Feb 00:00 there: February's.
    await sell(client, auth, plan, rm_id=priya["id"], amount="100.00", paid_at="2025-12-31T19:00:00Z")
    await sell(client, auth, plan, rm_id=priya["id"], amount="200.00", paid_at="2026-01-31T18:29:59Z")
    await sell(client, auth, plan, rm_id=priya["id"], amount="400.00", paid_at="2026-01-31T18:30:00Z")
    await sell(client, auth, plan, rm_id=priya["id"], amount="800.00", paid_at="2025-12-31T18:29:59Z")
    assert Decimal(str((await get(client, auth.admin, goal["id"]))["achieved_value"])) == Decimal("300.00")


async def test_targets_close_settles_ended_periods_missed_or_achieved(client, auth):
    plan = await start(client, auth, now="2026-01-31T12:00:00Z")
    _, [priya, arjun] = await team_of(client, auth.admin, "Priya Patel", "Arjun Rao")
    missed = await target(client, auth.admin, priya["id"], target_value=Decimal("1000.00"))
    met = await target(client, auth.admin, arjun["id"], target_value=Decimal("1000.00"))
    running = await target(client, auth.admin, priya["id"], period_type="QUARTERLY")
    await sell(client, auth, plan, rm_id=priya["id"], amount="999.99", paid_at="2026-01-10T10:00:00Z")
    await sell(client, auth, plan, rm_id=arjun["id"], amount="1000.00", paid_at="2026-01-10T10:00:00Z")
    assert (await run_job(client, auth.admin, "targets-close"))["settled"] == 0  # January is not over yet
    await set_clock(client, auth.admin, "2026-01-31T23:59:59Z")
    assert (await run_job(client, auth.admin, "targets-close"))["settled"] == 0
    await set_clock(client, auth.admin, "2026-02-01T00:00:00Z")
    assert (await run_job(client, auth.admin, "targets-close"))["settled"] == 2
    first = await get(client, auth.admin, missed["id"])
    assert (first["status"], Decimal(str(first["achievement_percentage"]))) == ("MISSED", Decimal("100.00"))
    # 999.99 of 1000: 99.999 % shows as 100.00 (two places, half-up) yet the target is not met
    assert first["closed_at"] is not None
    assert (await get(client, auth.admin, met["id"]))["status"] == "ACHIEVED"
    assert (await get(client, auth.admin, running["id"]))["status"] == "ACTIVE"
    # a settled target no longer moves, nor takes changes
    await sell(client, auth, plan, rm_id=priya["id"], amount="500.00", paid_at="2026-01-11T10:00:00Z")
    assert (await get(client, auth.admin, missed["id"]))["status"] == "MISSED"
    put = await client.put(f"{TARGETS}/{missed['id']}", headers=auth.admin, json={"status": "CANCELLED"})
    assert put.status_code == 409, put.text
    assert (await run_job(client, auth.admin, "targets-close"))["settled"] == 0
