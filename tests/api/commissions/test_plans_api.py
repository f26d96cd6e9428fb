"""Versioned commission plans /commissions/plans (issue 13; PRD §3.2.5; CMR-003 tiers, CMR-004 bonus)."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from sales.commissions.models import commission_plans
from tests.checks import assert_problem, audit_rows, count
from tests.commerce_builders import send
from tests.commission_builders import COMMISSIONS, commission_plan, tiered

PLANS = f"{COMMISSIONS}/plans"


async def test_plans_are_versioned_per_key_and_readable_by_staff(client, auth, engine):
    finance = auth.headers("FINANCE_ADMIN")
    first = await commission_plan(client, finance, rate=Decimal("5.25"))
    assert (first["plan_key"], first["version"], first["commission_type"], first["rate"], first["amount"],
            first["exception_above"], first["effective_from"]) == (
        "SUBSCRIPTION_NEW", 1, "PERCENTAGE", 5.25, None, 25000.0, "2026-01-01T00:00:00Z")
    second = await commission_plan(client, auth.headers("SALES_ADMIN"), **tiered())
    other = await commission_plan(client, finance, plan_key="SERVICE_BOOKING", commission_type="FIXED", rate=None,
                                  amount=Decimal("150.00"))
    bonus = await commission_plan(client, finance, plan_key="TEAM_BONUS", commission_type="BONUS", rate=None,
                                  amount=Decimal("2000.00"))
    assert [p["version"] for p in (second, other, bonus)] == [2, 1, 1]
    assert second["tiers"] == [{"min_achievement": 0.0, "rate": 5.0}, {"min_achievement": 100.0, "rate": 7.0},
                               {"min_achievement": 120.0, "rate": 10.0}]
    listed = await client.get(PLANS, params={"plan_key": "SUBSCRIPTION_NEW"}, headers=auth.headers("RM"))
    assert [p["version"] for p in listed.json()["items"]] == [2, 1]
    got = await client.get(f"{PLANS}/{first['id']}", headers=auth.headers("SUPERVISOR"))
    assert got.json() == first
    assert (await client.get(f"{PLANS}/{uuid.uuid4()}", headers=finance)).status_code == 404
    assert len(await audit_rows(engine, action="commission_plan.created")) == 4


async def test_plan_authorization(client, auth, engine):
    body = {"plan_key": "SUBSCRIPTION_NEW", "commission_type": "PERCENTAGE", "rate": Decimal("5.00")}
    for role in ("RM", "SUPERVISOR", "SUPPORT_AGENT", "CUSTOMER"):
        assert (await send(client, "POST", PLANS, body, auth.headers(role))).status_code == 403
    assert (await client.post(PLANS, json={})).status_code == 401
    assert (await client.get(PLANS)).status_code == 401
    assert (await client.get(PLANS, headers=auth.headers("CUSTOMER"))).status_code == 403
    assert await count(engine, commission_plans) == 0


@pytest.mark.parametrize(("body", "field"), [
    ({"commission_type": "PERCENTAGE"}, "rate"),
    ({"commission_type": "FIXED"}, "amount"),
    ({"commission_type": "TIERED"}, "tiers"),
    ({"commission_type": "PERCENTAGE", "rate": Decimal("5.00"), "amount": Decimal("10.00")}, "amount"),
    ({"commission_type": "BONUS", "amount": Decimal("10.00")}, "commission_type"),
    ({"commission_type": "TIERED", "tiers": [{"min_achievement": Decimal("10.00"), "rate": Decimal("5.00")}]},
     "tiers"),
    ({"commission_type": "TIERED", "tiers": [{"min_achievement": Decimal("0.00"), "rate": Decimal("5.00")},
                                             {"min_achievement": Decimal("0.00"), "rate": Decimal("7.00")}]}, "tiers"),
    ({"commission_type": "PERCENTAGE", "rate": Decimal("-1.00")}, "rate"),
    ({"commission_type": "PERCENTAGE", "rate": "5.123"}, "rate"),
    ({"commission_type": "PERCENTAGE", "rate": Decimal("5.00"), "exception_above": -1}, "exception_above"),
    ({"commission_type": "CAPPED", "rate": Decimal("5.00")}, "commission_type"),
])
async def test_plan_bad_input_is_422_naming_the_field_and_writes_nothing(client, auth, engine, body, field):
    response = await send(client, "POST", PLANS, {"plan_key": "SUBSCRIPTION_NEW", **body},
                          auth.headers("FINANCE_ADMIN"))
    problem = assert_problem(response, 422, "validation_error")
    assert field in {str(part) for error in problem["errors"] for part in error["loc"]}, problem
    assert await count(engine, commission_plans) == 0
