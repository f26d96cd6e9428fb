"""`sales customers erase USER_ID` (issue 20, PRD §8.5 GDPR / Indian data protection): the customer anonymized
everywhere, orders/refunds/commissions intact and explainable, audited, idempotent."""
from __future__ import annotations

import asyncio
import uuid

from click.testing import CliRunner
from sqlalchemy import func, select

from sales import cli
from sales.commissions.models import commissions
from sales.core.audit_chain import verify
from sales.customers.models import customer_preferences, customer_property_views
from sales.journey.models import shares
from sales.orders.models import orders
from sales.refunds.models import refunds
from sales.settings import get_settings
from tests.api.privacy.world import EMAIL, NAME, PHONE, customer_world, every_text, mentions
from tests.builders import API
from tests.checks import audit_rows, count


async def _money(engine) -> dict[str, object]:  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return {
            "orders": (await conn.execute(select(func.count(), func.sum(orders.c.amount),
                                                 func.sum(orders.c.refunded_amount)))).one(),
            "refunds": (await conn.execute(select(func.count(), func.sum(refunds.c.requested_amount),
                                                  func.sum(refunds.c.refundable_amount),
                                                  func.sum(refunds.c.amount)))).one(),
            "commissions": (await conn.execute(select(func.count(), func.sum(commissions.c.base_amount),
                                                      func.sum(commissions.c.final_amount)))).one(),
        }


async def _erase(settings, monkeypatch, user_id: str):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SALES_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SALES_ENV", "test")
    get_settings.cache_clear()
    try:
        return await asyncio.to_thread(CliRunner().invoke, cli.main, ["customers", "erase", user_id])
    finally:
        get_settings.cache_clear()


async def test_after_erase_no_table_holds_the_customers_name_phone_or_email(client, auth, engine, settings,
                                                                          monkeypatch):
    world = await customer_world(client, auth)
    before = mentions(await every_text(engine))
    assert {t for t, _, _ in before} >= {"leads", "sales_pipelines", "refunds", "refund_events", "journey_feedback",
                                         "sales_tasks", "sales_handoffs", "journey_shortlists", "audit_log"}
    money = await _money(engine)

    result = await _erase(settings, monkeypatch, world["user_id"])
    assert result.exit_code == 0, result.output
    assert f"customer {world['user_id']} erased" in result.output and "leads: 1 rows" in result.output

    assert mentions(await every_text(engine)) == []  # every text and JSON column of every table, sealed ones opened
    assert await _money(engine) == money  # every amount, count and total unchanged


async def test_another_customer_of_the_same_name_keeps_their_data(client, auth, engine, settings, monkeypatch):
    erased, kept = await customer_world(client, auth), await customer_world(client, auth)
    assert (await _erase(settings, monkeypatch, erased["user_id"])).exit_code == 0
    refund = (await client.get(f"{API}/refunds/{kept['refund_id']}", headers=kept["customer"])).json()
    assert refund["reason"] == f"{NAME}: nobody called {PHONE} or wrote to {EMAIL}"
    pipeline = (await client.get(f"{API}/pipelines/{kept['pipeline_id']}", headers=auth.admin)).json()
    assert pipeline["customer"]["name"] == NAME and pipeline["notes"] == f"Called {NAME} on {PHONE}; mail {EMAIL}"


async def test_erase_keeps_financial_records_explainable_and_audits_once(client, auth, engine, settings, monkeypatch):
    world = await customer_world(client, auth)
    result = await _erase(settings, monkeypatch, world["user_id"])
    assert result.exit_code == 0, result.output
    assert mentions(await every_text(engine)) == []

    refund = (await client.get(f"{API}/refunds/{world['refund_id']}", headers=auth.admin)).json()
    assert refund["reason"] == "[erased]: nobody called [erased] or wrote to [erased]"
    assert (refund["order_id"], refund["requested_amount"], refund["status"]) == (
        world["order_id"], 1465.69, "PENDING_APPROVAL")
    pipeline = (await client.get(f"{API}/pipelines/{world['pipeline_id']}", headers=auth.admin)).json()
    assert pipeline["notes"] is None and pipeline["customer"]["name"] is None and pipeline["customer"]["phone"] is None
    assert await count(engine, customer_preferences, customer_preferences.c.user_id == uuid.UUID(world["user_id"])) == 0
    assert await count(engine, customer_property_views,
                       customer_property_views.c.user_id == uuid.UUID(world["user_id"])) == 0
    assert (await client.get(f"/s/{world['token']}")).status_code == 404  # the shared link stops working
    assert await count(engine, shares) == 1

    [erased] = await audit_rows(engine, action="customer.erased")
    assert erased.entity_id == world["user_id"] and erased.actor_roles == ["SYSTEM"]
    assert erased.after["tables"]["refunds"] == 1 and erased.after["tables"]["leads"] == 1
    async with engine.connect() as conn:
        assert (await verify(conn)).intact  # redacted rows re-sealed, the erase row on the chain

    again = await _erase(settings, monkeypatch, world["user_id"])  # idempotent
    assert again.exit_code == 0 and "nothing left to erase" in again.output, again.output
    assert len(await audit_rows(engine, action="customer.erased")) == 1


async def test_erase_refuses_a_user_id_that_is_not_a_uuid(settings, monkeypatch):
    result = await _erase(settings, monkeypatch, "not-a-uuid")
    assert result.exit_code == 2 and "must be a UUID" in result.output


async def test_erasing_an_unknown_customer_changes_nothing(client, auth, engine, settings, monkeypatch):
    await customer_world(client, auth)
    found = await every_text(engine)
    result = await _erase(settings, monkeypatch, str(uuid.uuid4()))
    assert result.exit_code == 0 and "nothing left to erase" in result.output, result.output
    assert sorted(await every_text(engine)) == sorted(found)
