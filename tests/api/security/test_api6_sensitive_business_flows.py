"""OWASP API6:2023 Unrestricted Access to Sensitive Business Flows (issue 20): allocation and refunds have their
own, tighter budgets than other writes, so one principal cannot drain RMs' capacity or fire refunds in a burst;
with the production defaults the 61st allocation write in a minute is refused. (Console sign-in is throttled per
account and address: tests/api/console.)"""
from __future__ import annotations

import httpx
import pytest

from sales.app import create_app
from sales.settings import RateBudget, Settings
from tests.builders import API
from tests.checks import assert_problem

pytestmark = pytest.mark.usefixtures("still_rate_window")  # counted tests never straddle a window


def test_sensitive_flows_have_tighter_default_budgets():
    for budget in (Settings().rate_limit_principal, Settings().rate_limit_address):
        assert budget.allocation < budget.writes and budget.refunds < budget.writes
    assert RateBudget().refunds <= 20 and RateBudget().allocation <= 60


async def test_a_burst_of_allocations_by_one_principal_is_cut_at_the_default_budget(settings, engine, auth):
    app = create_app(settings.model_copy(update={"rate_limits_enabled": True}), engine=engine)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("10.66.0.1", 5000))
    admin = auth.admin
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        answers = [(await client.post(f"{API}/allocations", json={}, headers=admin)).status_code for _ in range(61)]
        assert set(answers[:60]) == {422}  # refused on their merits, each counted
        refused = await client.post(f"{API}/allocations/bulk-reassign", json={}, headers=admin)
        problem = assert_problem(refused, 429, "rate_limited")
        assert problem["route_class"] == "allocation" and problem["limit"] == RateBudget().allocation
        assert (await client.post(f"{API}/teams", json={"name": "T", "city": "Pune"}, headers=admin)).status_code == 201
