"""Sales become PENDING ledger lines that explain themselves (issue 13; US-SALE-041; PRD §3.2.5)."""
from __future__ import annotations

import uuid
from decimal import Decimal

from tests.allocation_builders import set_clock
from tests.builders import API, make_pipeline, move
from tests.checks import events
from tests.commerce_builders import send
from tests.commission_builders import COMMISSIONS, commission_plan, lines, sell, seller


async def test_an_order_sold_by_an_rm_is_a_pending_line_with_every_input(client, auth, engine):
    who = await seller(client, auth)
    plan = await commission_plan(client, auth.headers("FINANCE_ADMIN"), rate=Decimal("5.00"))
    await set_clock(client, auth.admin, "2026-01-10T12:00:00Z")
    order_id = await sell(client, auth, who, "12345.67", "2026-01-10T10:00:00Z")
    [line] = await lines(client, who["headers"])
    assert (line["transaction_id"], line["kind"], line["status"], line["commission_type"], line["base_amount"],
            line["commission_rate"], line["commission_amount"], line["final_amount"], line["plan_id"],
            line["plan_version"], line["period"], line["sale_at"], line["earned_at"]) == (
        order_id, "SALE", "PENDING", "PERCENTAGE", 12345.67, 5.0, 617.28, 617.28, plan["id"], 1, "2026-01",
        "2026-01-10T10:00:00Z", "2026-02-09T10:00:00Z")
    assert '"final_amount":617.28' in (await client.get(f"{COMMISSIONS}/{line['id']}", headers=who["headers"])).text
    assert line["rule"] == "PERCENTAGE 5% of 12345.67"
    assert "617.28" in line["explanation"]["text"] and "plan version 1" in line["explanation"]["text"]
    inputs = line["explanation"]["inputs"]
    assert (inputs["base_amount"], inputs["rate"], inputs["plan_version"], inputs["monthly_cap"],
            inputs["month_total_before"]) == (12345.67, 5.0, 1, 120000.0, 0)


async def test_the_same_sale_again_adds_no_line_and_a_new_plan_version_never_rewrites_past_lines(client, auth):
    who = await seller(client, auth)
    finance = auth.headers("FINANCE_ADMIN")
    await commission_plan(client, finance, rate=Decimal("5.00"))
    await sell(client, auth, who, "1000.00", "2026-01-05T10:00:00Z")
    v2 = await commission_plan(client, auth.headers("SALES_ADMIN"), commission_type="FIXED", rate=None,
                               amount=Decimal("250.00"), effective_from="2026-01-06T00:00:00Z")
    assert v2["version"] == 2
    await sell(client, auth, who, "1000.00", "2026-01-07T10:00:00Z")
    first, second = await lines(client, who["headers"])
    assert (first["plan_version"], first["final_amount"]) == (1, 50.0)
    assert (second["plan_version"], second["commission_type"], second["final_amount"]) == (2, "FIXED", 250.0)


async def test_no_plan_for_the_transaction_type_means_no_line(client, auth):
    who = await seller(client, auth)
    await commission_plan(client, auth.headers("FINANCE_ADMIN"), plan_key="SUBSCRIPTION_RENEWAL")
    await sell(client, auth, who, "1000.00", "2026-01-05T10:00:00Z")
    assert await lines(client, who["headers"]) == []


async def test_a_pipeline_closed_won_with_a_deal_value_is_a_sale(client, auth, engine):
    who = await seller(client, auth)
    await commission_plan(client, auth.headers("FINANCE_ADMIN"), rate=Decimal("2.00"))
    await set_clock(client, auth.admin, "2026-01-20T08:00:00Z")
    pipeline = await make_pipeline(client, auth.admin, rm_id=who["rm_id"], deal_value=48000.50)
    assert (await move(client, auth.admin, pipeline["id"], "NEGOTIATION")).status_code == 200
    response = await client.patch(f"{API}/pipelines/{pipeline['id']}/stage",
                                  json={"stage": "CLOSED_WON", "deal_value": 50000.00}, headers=auth.admin)
    assert response.status_code == 200, response.text
    [line] = await lines(client, who["headers"])
    assert (line["transaction_id"], line["transaction_type"], line["base_amount"], line["final_amount"],
            line["status"]) == (pipeline["id"], "SUBSCRIPTION_NEW", 50000.0, 1000.0, "PENDING")
    assert await events(engine, type="sales.commission.earned") == []
    order_id = str(uuid.uuid4())   # the order Billing then records for that deal is not commissioned twice
    body = {"payment_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4()), "user_type": "TENANT",
            "plan_id": who["catalog"]["id"], "amount": Decimal("50000.00"), "currency": "INR",
            "paid_at": "2026-01-20T09:00:00Z", "rm_id": who["rm_id"], "pipeline_id": pipeline["id"]}
    assert (await send(client, "PUT", f"{API}/orders/{order_id}", body, auth.headers("SERVICE"))).status_code == 201
    assert len(await lines(client, who["headers"])) == 1


async def test_an_rm_sees_only_their_own_lines(client, auth):
    who, other = await seller(client, auth), await seller(client, auth)
    await commission_plan(client, auth.headers("FINANCE_ADMIN"))
    await sell(client, auth, who, "1000.00", "2026-01-05T10:00:00Z")
    [line] = await lines(client, who["headers"])
    assert await lines(client, other["headers"]) == []
    assert (await client.get(f"{COMMISSIONS}/{line['id']}", headers=other["headers"])).status_code == 404
    assert (await client.get(f"{COMMISSIONS}/{uuid.uuid4()}", headers=who["headers"])).status_code == 404
    assert len(await lines(client, auth.headers("SALES_ADMIN"), rm_id=who["rm_id"])) == 1
    assert (await client.get(COMMISSIONS, headers=auth.headers("CUSTOMER"))).status_code == 403
    assert (await client.get(COMMISSIONS)).status_code == 401


async def test_a_supervisor_sees_their_teams_lines_and_the_list_filters_and_pages(client, auth):
    from tests.builders import make_team
    team = await make_team(client, auth.admin)
    member = await seller(client, auth, team_id=team["id"])
    outsider = await seller(client, auth)
    await commission_plan(client, auth.headers("FINANCE_ADMIN"))
    for day in range(1, 4):
        await sell(client, auth, member, "1000.00", f"2026-01-0{day}T10:00:00Z")
    [outside] = [await sell(client, auth, outsider, "1000.00", "2026-01-05T10:00:00Z")]
    supervisor = auth.supervisor(uuid.UUID(team["id"]))
    page = await client.get(COMMISSIONS, params={"limit": 2}, headers=supervisor)
    assert len(page.json()["items"]) == 2 and page.json()["next_cursor"]
    rest = await client.get(COMMISSIONS, params={"limit": 2, "cursor": page.json()["next_cursor"]}, headers=supervisor)
    assert len(rest.json()["items"]) == 1 and rest.json()["next_cursor"] is None
    outside_line = (await lines(client, outsider["headers"]))[0]
    assert outside_line["transaction_id"] == outside
    assert (await client.get(f"{COMMISSIONS}/{outside_line['id']}", headers=supervisor)).status_code == 404
    finance = auth.headers("FINANCE_ADMIN")
    assert len(await lines(client, finance, team_id=team["id"])) == 3
    assert len(await lines(client, finance, status="PENDING", period="2026-01")) == 4
    assert await lines(client, finance, status="PAID") == []
    assert (await client.get(COMMISSIONS, params={"period": "2026-13"}, headers=finance)).status_code == 422
    assert (await client.get(COMMISSIONS, params={"cursor": "bogus"}, headers=finance)).status_code == 422
