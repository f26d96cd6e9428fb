"""Issue 16: experiments CRUD, DRAFT -> RUNNING -> STOPPED | CONCLUDED, only a DRAFT changes its variants, every
change audited; PRODUCT_MANAGER and SALES_ADMIN only; validation 422 naming the field."""
from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from tests.api.experiments.helpers import EXPERIMENTS, create_experiment, experiment_body, put, start_experiment
from tests.api.upsell.helpers import NOW, start
from tests.checks import assert_problem, audit_rows, count
from tests.commerce_builders import send
from sales.experiments.models import upsell_experiments


async def test_create_read_list_and_the_power_calculation(client, auth, engine):
    await start(client, auth)
    pm = auth.headers("PRODUCT_MANAGER", sub=uuid.UUID(int=16))
    created = await create_experiment(client, pm)
    assert created["status"] == "DRAFT" and created["seed"] == created["id"]
    assert created["minimum_sample_per_variant"] == 1471  # p=5%, +50% relative, alpha 0.05, power 0.8
    assert created["variants"][1] == {"key": "saving", "weight": 0.5, "message": "Save Rs. 500 with Premium",
                                      "channel": "IN_APP_MODAL", "delay_minutes": 30, "control": False}
    assert created["guardrails"] == ["dismissal_rate", "opt_out_rate"]
    assert (created["primary_metric"], created["rollout"], created["created_at"]) == ("conversion", None, NOW)
    assert created["created_by"] == str(uuid.UUID(int=16))
    r = await client.get(f"{EXPERIMENTS}/{created['id']}", headers=auth.admin)
    assert (r.status_code, r.json()) == (200, created)
    r = await client.get(EXPERIMENTS, params={"status": "DRAFT", "trigger": created["trigger"]}, headers=pm)
    assert [e["id"] for e in r.json()["items"]] == [created["id"]]
    [row] = await audit_rows(engine, action="experiment.created")
    assert row.entity_id == created["id"]


async def test_lifecycle_draft_running_stopped_and_only_a_draft_changes_variants(client, auth, engine):
    await start(client, auth)
    pm = auth.headers("PRODUCT_MANAGER")
    created = await create_experiment(client, pm, seed="banner-2026")
    variants = experiment_body()["variants"]
    variants[0]["weight"], variants[1]["weight"] = Decimal("0.6"), Decimal("0.4")
    r = await put(client, pm, created["id"], variants=variants, coverage=Decimal("0.5"))
    assert r.status_code == 200, r.text
    assert ([v["weight"] for v in r.json()["variants"]], r.json()["coverage"], r.json()["version"]) == (
        [0.6, 0.4], 0.5, 2)
    r = await put(client, pm, created["id"], status="RUNNING")
    assert (r.status_code, r.json()["status"], r.json()["started_at"]) == (200, "RUNNING", NOW)
    assert_problem(await put(client, pm, created["id"], variants=experiment_body()["variants"]), 409,
                   "experiment_not_draft")
    assert_problem(await put(client, pm, created["id"], coverage=Decimal("1")), 409, "experiment_not_draft")
    # repeating the current values (a full PUT) is no change; the name still changes while RUNNING
    r = await put(client, pm, created["id"], variants=variants, coverage=Decimal("0.5"), name="Renamed")
    assert r.status_code == 200, r.text
    assert r.json()["name"] == "Renamed"
    assert_problem(await put(client, pm, created["id"], status="DRAFT"), 409, "invalid_transition")
    assert_problem(await put(client, pm, created["id"], status="CONCLUDED"), 409, "invalid_transition")
    r = await put(client, pm, created["id"], status="STOPPED")
    assert (r.status_code, r.json()["status"], r.json()["ended_at"]) == (200, "STOPPED", NOW)
    assert_problem(await put(client, pm, created["id"], status="RUNNING"), 409, "invalid_transition")
    assert [a.action for a in await audit_rows(engine, entity_type="upsell_experiment")] == [
        "experiment.created", "experiment.updated", "experiment.started", "experiment.updated",
        "experiment.stopped"]


async def test_stale_version_and_one_running_experiment_per_trigger(client, auth):
    await start(client, auth)
    pm = auth.headers("PRODUCT_MANAGER")
    running = await start_experiment(client, pm)
    other = await create_experiment(client, pm, trigger=running["trigger"])
    assert_problem(await put(client, pm, other["id"], status="RUNNING"), 409, "experiment_trigger_busy")
    assert_problem(await put(client, pm, other["id"], name="x", version=7), 409, "experiment_changed")
    assert (await put(client, pm, running["id"], status="STOPPED")).status_code == 200
    assert (await put(client, pm, other["id"], status="RUNNING", version=1)).status_code == 200


@pytest.mark.parametrize("role", ["RM", "SUPERVISOR", "FINANCE_ADMIN", "SUPPORT_AGENT", "CUSTOMER", "SERVICE"])
async def test_only_product_managers_and_sales_admins(client, auth, role):
    await start(client, auth)
    created = await create_experiment(client, auth.admin)
    other = auth.headers(role)
    assert_problem(await send(client, "POST", EXPERIMENTS, experiment_body(), other), 403, "forbidden")
    for path in ("", f"/{created['id']}", f"/{created['id']}/results",
                 f"/{created['id']}/assignment/{uuid.uuid4()}"):
        assert_problem(await client.get(EXPERIMENTS + path, headers=other), 403, "forbidden")
    assert_problem(await put(client, other, created["id"], name="x"), 403, "forbidden")
    assert_problem(await send(client, "POST", f"{EXPERIMENTS}/{created['id']}/conclude", {"winner": "saving"},
                              other), 403, "forbidden")


async def test_without_a_token_401_and_unknown_experiment_404(client, auth):
    await start(client, auth)
    assert_problem(await client.get(EXPERIMENTS), 401, "not_authenticated")
    assert_problem(await send(client, "POST", EXPERIMENTS, experiment_body(), {}), 401, "not_authenticated")
    missing = uuid.uuid4()
    for path in (f"/{missing}", f"/{missing}/results", f"/{missing}/assignment/{uuid.uuid4()}"):
        assert_problem(await client.get(EXPERIMENTS + path, headers=auth.admin), 404, "experiment_not_found")
    assert_problem(await put(client, auth.admin, str(missing), name="x"), 404, "experiment_not_found")


def _variants(*weights_controls):  # type: ignore[no-untyped-def]
    return [{"key": f"v{i}", "weight": Decimal(w), "message": "m", "control": c}
            for i, (w, c) in enumerate(weights_controls)]


@pytest.mark.parametrize("overrides, loc", [
    ({"variants": _variants(("0.5", True), ("0.4", False))}, ["body", "variants"]),
    ({"variants": _variants(("0.5", True), ("0.5", True))}, ["body", "variants"]),
    ({"variants": _variants(("0.5", False), ("0.5", False))}, ["body", "variants"]),
    ({"variants": _variants(("1", True))}, ["body", "variants"]),
    ({"variants": [{"key": "a", "weight": Decimal("0.5"), "message": "m", "control": True},
                   {"key": "a", "weight": Decimal("0.5"), "message": "m"}]}, ["body", "variants"]),
    ({"coverage": Decimal("1.5")}, ["body", "coverage"]),
    ({"coverage": Decimal("-0.1")}, ["body", "coverage"]),
    ({"baseline_rate": Decimal("0")}, ["body", "baseline_rate"]),
    ({"baseline_rate": Decimal("0.6"), "minimum_detectable_effect": Decimal("1")},
     ["body", "minimum_detectable_effect"]),
    ({"guardrails": ["bounce_rate"]}, ["body", "guardrails", 0]),
    ({"trigger": ""}, ["body", "trigger"]),
])
async def test_invalid_experiments_are_422_naming_the_field_and_write_nothing(client, auth, engine, overrides, loc):
    await start(client, auth)
    before = await count(engine, upsell_experiments)
    r = await send(client, "POST", EXPERIMENTS, experiment_body(**overrides), auth.admin)
    assert_problem(r, 422, "validation_error", loc=loc)
    assert await count(engine, upsell_experiments) == before


async def test_invalid_update_is_422_and_changes_nothing(client, auth):
    await start(client, auth)
    created = await create_experiment(client, auth.admin)
    assert_problem(await put(client, auth.admin, created["id"], variants=_variants(("0.7", True), ("0.7", False))),
                   422, "validation_error", loc=["body", "variants"])
    assert_problem(await put(client, auth.admin, created["id"], baseline_rate=Decimal("0.9")), 422,
                   "validation_error", loc=["body", "minimum_detectable_effect"])
    r = await client.get(f"{EXPERIMENTS}/{created['id']}", headers=auth.admin)
    assert r.json() == created
