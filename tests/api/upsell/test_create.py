"""POST /upsells through the gating, GET /upsells/decisions (issue 11; PRD §7.2, §6.3 UPR-001/004/005/006)."""
from __future__ import annotations

import uuid

import pytest

from sales.upsell.models import upsell_decisions, upsells
from tests.allocation_builders import advance
from tests.api.upsell.helpers import UPSELLS, body, create, decisions, respond, start
from tests.builders import API, make_lead, make_pipeline, make_rm_with_team, move
from tests.checks import assert_problem, audit_rows, count
from tests.commerce_builders import event, payment, statuses


async def test_creates_a_pending_upsell_and_records_the_decision(client, auth, engine):
    plans = await start(client, auth)
    user = str(uuid.uuid4())
    r = await create(client, auth.headers("PRODUCT_MANAGER"), plans["premium"], user,
                     trigger_context={"campaign": "new-year"}, experiment_variant="B")
    assert r.status_code == 201, r.text
    upsell = r.json()
    assert {k: upsell[k] for k in ("user_id", "user_type", "current_plan_id", "target_plan_id", "trigger_event",
                                   "trigger_context", "status", "channel", "presented_at", "response",
                                   "converted_at", "conversion_value", "experiment_variant", "created_at",
                                   "expires_at")} == {
        "user_id": user, "user_type": "TENANT", "current_plan_id": None, "target_plan_id": plans["premium"]["id"],
        "trigger_event": "MANUAL_CAMPAIGN", "trigger_context": {"campaign": "new-year"}, "status": "PENDING",
        "channel": "IN_APP_BANNER", "presented_at": None, "response": None, "converted_at": None,
        "conversion_value": None, "experiment_variant": "B", "created_at": "2026-01-10T10:00:00Z",
        "expires_at": "2026-01-17T10:00:00Z"}
    assert (await client.get(f"{UPSELLS}/{upsell['id']}", headers=auth.headers("SERVICE"))).json() == upsell
    [decision] = await decisions(client, auth.headers("SALES_ADMIN"), user)
    assert (decision["outcome"], decision["upsell_id"], decision["channel"]) == ("CREATED", upsell["id"],
                                                                                 "IN_APP_BANNER")
    assert [(x["rule"], x["passed"]) for x in decision["rules"]] == [
        ("UPR-001", True), ("UPR-005", True), ("UPR-006", True), ("UPR-004", True), ("STAGE", True)]
    assert len(await audit_rows(engine, action="upsell.created")) == 1


async def test_upr_005_third_upsell_in_7_days_is_created_the_fourth_suppressed_and_kept(client, auth, engine):
    """UPR-005 counts every channel, RM_CALL included; the 409 names the rule and the decision is kept."""
    plans = await start(client, auth)
    user, service = str(uuid.uuid4()), auth.headers("SERVICE")
    for channel in ("IN_APP_BANNER", "EMAIL", "RM_CALL"):
        assert (await create(client, service, plans["premium"], user, channel=channel)).status_code == 201
        await advance(client, auth.admin, 3600)
    r = await create(client, service, plans["prime"], user)
    problem = assert_problem(r, 409, "upsell_suppressed")
    assert problem["blocking_rules"] == ["UPR-005"]
    assert await count(engine, upsells, upsells.c.user_id == uuid.UUID(user)) == 3
    latest = (await decisions(client, service, user))[0]
    assert (latest["id"], latest["outcome"], latest["upsell_id"]) == (problem["decision_id"], "SUPPRESSED", None)
    upr005 = next(x for x in latest["rules"] if x["rule"] == "UPR-005")
    assert upr005 == {"rule": "UPR-005", "passed": False,
                      "figures": {"upsells_in_window": 3, "cap": 3, "window_days": 7}}
    # 7 days after the first one (created 10:00), it leaves the window.
    await advance(client, auth.admin, 7 * 86400 - 3 * 3600)
    assert (await create(client, service, plans["prime"], user)).status_code == 201


async def test_upr_001_dismissal_blocks_for_48_hours_and_exactly_48_hours_later_passes(client, auth):
    plans = await start(client, auth)
    user, service = str(uuid.uuid4()), auth.headers("SERVICE")
    upsell = (await create(client, service, plans["premium"], user)).json()
    assert (await respond(client, auth.headers("CUSTOMER", sub=uuid.UUID(user)), upsell["id"], "DISMISSED")
            ).status_code == 200
    await advance(client, auth.admin, 48 * 3600 - 1)
    problem = assert_problem(await create(client, service, plans["premium"], user), 409, "upsell_suppressed")
    assert problem["blocking_rules"] == ["UPR-001"]
    await advance(client, auth.admin, 1)
    assert (await create(client, service, plans["premium"], user)).status_code == 201


async def test_upr_006_upr_004_opt_outs_fall_back_or_suppress(client, auth):
    plans = await start(client, auth)
    service = auth.headers("SERVICE")
    fallback, opted_out, nothing = (str(uuid.uuid4()) for _ in range(3))
    for user, prefs in ((fallback, {"marketing_opt_out": False, "channels_opted_out": ["IN_APP"]}),
                        (opted_out, {"marketing_opt_out": True, "channels_opted_out": []}),
                        (nothing, {"marketing_opt_out": False,
                                   "channels_opted_out": ["IN_APP", "PUSH_NOTIFICATION", "EMAIL"]})):
        r = await client.put(f"{API}/customers/{user}/preferences", headers=service, json=prefs)
        assert r.status_code == 201, r.text
    r = await create(client, service, plans["premium"], fallback, channel="IN_APP_MODAL")
    assert (r.status_code, r.json()["channel"]) == (201, "PUSH_NOTIFICATION")
    problem = assert_problem(await create(client, service, plans["premium"], opted_out), 409, "upsell_suppressed")
    assert problem["blocking_rules"] == ["UPR-006", "UPR-004"]
    problem = assert_problem(await create(client, service, plans["premium"], nothing), 409, "upsell_suppressed")
    assert problem["blocking_rules"] == ["UPR-004"]
    [decision] = await decisions(client, service, nothing)
    upr004 = next(x for x in decision["rules"] if x["rule"] == "UPR-004")
    assert upr004["figures"] == {"requested": "IN_APP_BANNER", "chosen": None,
                                 "tried": ["IN_APP_BANNER", "PUSH_NOTIFICATION", "EMAIL"]}


async def rm_with_customer(client, auth, engine, stage=None):  # type: ignore[no-untyped-def]
    _, rm = await make_rm_with_team(client, auth.admin)
    customer = uuid.uuid4()
    lead = await make_lead(engine, customer_id=customer)
    pipeline = await make_pipeline(client, auth.admin, rm_id=rm["id"], lead_id=str(lead["id"]))
    if stage:
        assert (await move(client, auth.admin, pipeline["id"], stage)).status_code == 200
    return rm, str(customer)


@pytest.mark.parametrize("stage", ["NEGOTIATION", "AGREEMENT_PENDING"])
async def test_stage_suppression_no_automated_upsell_while_the_rm_negotiates_but_rm_call_passes(
        client, auth, engine, stage):
    plans = await start(client, auth)
    rm, customer = await rm_with_customer(client, auth, engine, stage)
    problem = assert_problem(await create(client, auth.headers("SERVICE"), plans["premium"], customer), 409,
                             "upsell_suppressed")
    assert problem["blocking_rules"] == ["STAGE"]
    r = await create(client, auth.rm(uuid.UUID(rm["id"])), plans["premium"], customer, channel="RM_CALL")
    assert (r.status_code, r.json()["channel"]) == (201, "RM_CALL")


async def test_rm_creates_rm_call_only_and_only_for_customers_of_their_own_open_pipelines(client, auth, engine):
    plans = await start(client, auth)
    rm, customer = await rm_with_customer(client, auth, engine, "VISIT_SCHEDULED")
    headers = auth.rm(uuid.UUID(rm["id"]))
    assert_problem(await create(client, headers, plans["premium"], customer, channel="IN_APP_BANNER"), 403,
                   "forbidden")
    assert_problem(await create(client, headers, plans["premium"], str(uuid.uuid4()), channel="RM_CALL"), 404,
                   "customer_not_found")
    other_rm, _ = await rm_with_customer(client, auth, engine)
    assert_problem(await create(client, auth.rm(uuid.UUID(other_rm["id"])), plans["premium"], customer,
                                channel="RM_CALL"), 404, "customer_not_found")
    assert (await create(client, headers, plans["premium"], customer, channel="RM_CALL")).status_code == 201


async def test_bad_input_names_the_field_and_writes_nothing(client, auth, engine):
    plans = await start(client, auth)
    user, service = str(uuid.uuid4()), auth.headers("SERVICE")
    paid = payment(plans["premium"], user_id=user, paid_at="2026-01-09T10:00:00Z")
    assert await statuses(client, auth, event("billing.payment.completed", paid)) == ["PROCESSED"]
    assert_problem(await create(client, service, plans["boost"], user, user_type="TENANT"), 422, "validation_error",
                   loc=["body", "target_plan_id"])
    assert_problem(await create(client, service, plans["premium"], user), 422, "validation_error",
                   loc=["body", "target_plan_id"])  # not above the current Premium
    assert_problem(await create(client, service, plans["basic"], user), 422, "validation_error",
                   loc=["body", "target_plan_id"])
    assert_problem(await create(client, service, {"id": str(uuid.uuid4()), "user_type": "TENANT"}, user), 422,
                   "validation_error", loc=["body", "target_plan_id"])
    assert_problem(await create(client, service, plans["prime"], user, user_type="LANDLORD"), 422,
                   "validation_error", loc=["body", "user_type"])
    assert_problem(await create(client, service, plans["prime"], user, channel="FAX"), 422, "validation_error",
                   loc=["body", "channel"])
    assert_problem(await create(client, service, plans["prime"], user, trigger_event="x" * 129), 422,
                   "validation_error", loc=["body", "trigger_event"])
    assert_problem(await create(client, service, plans["prime"], user, trigger_event="a\x00b"), 422,
                   "validation_error", loc=["body", "trigger_event"])
    assert await count(engine, upsells) == 0 and await count(engine, upsell_decisions) == 0
    assert (await create(client, service, plans["prime"], user)).json()["current_plan_id"] == plans["premium"]["id"]


async def test_401_and_403(client, auth):
    plans = await start(client, auth)
    user = str(uuid.uuid4())
    assert_problem(await client.post(UPSELLS, json=body(plans["premium"], user)), 401, "not_authenticated")
    for role in ("CUSTOMER", "FINANCE_ADMIN", "SUPERVISOR", "SUPPORT_AGENT"):
        assert_problem(await create(client, auth.headers(role), plans["premium"], user), 403, "forbidden")


async def test_a_user_holding_no_plan_is_on_the_free_tier_so_the_free_plan_is_not_an_upsell(client, auth, engine):
    plans = await start(client, auth)
    r = await create(client, auth.headers("SERVICE"), plans["basic"], str(uuid.uuid4()))
    assert_problem(r, 422, "validation_error", loc=["body", "target_plan_id"])
    assert await count(engine, upsell_decisions) == 0
