"""Issue 16: POST .../conclude refused (409) before the minimum sample or without a significantly better winner unless
a reason overrides (audited); the winner rolls out 10% -> 50% -> 100% by the experiment-rollout job on the test
clock, each step audited and emitted (sales.experiment.rollout_changed), and rolls back automatically when a
guardrail is significantly worse."""
from __future__ import annotations

from decimal import Decimal

from tests.allocation_builders import advance, run_job
from tests.api.experiments.helpers import (EXPERIMENTS, expose, put, results, start_experiment, users_in,
                                           users_served)
from tests.api.upsell.helpers import create, start
from tests.checks import assert_problem, audit_rows, events
from tests.commerce_builders import send
from tests.events_schema import assert_valid

ROLLOUT = "sales.experiment.rollout_changed"


async def conclude(client, headers, experiment_id, **body):  # type: ignore[no-untyped-def]
    return await send(client, "POST", f"{EXPERIMENTS}/{experiment_id}/conclude", body, headers)


async def significant_experiment(client, auth, plans, **overrides):  # type: ignore[no-untyped-def]
    """RUNNING, minimum sample 23 per variant reached: control 9/24 converted, saving 21/24 (p ~ 0.044)."""
    experiment = await start_experiment(client, auth.headers("PRODUCT_MANAGER"), baseline_rate=Decimal("0.4"),
                                        minimum_detectable_effect=Decimal("1.0"), rollout_stage_hours=24,
                                        **overrides)
    await expose(client, auth, plans["premium"], experiment["trigger"], users_in(experiment, "control", 24),
                 converted=9)
    await expose(client, auth, plans["premium"], experiment["trigger"], users_in(experiment, "saving", 24),
                 converted=21)
    return experiment


async def test_conclude_is_refused_before_the_minimum_sample_unless_a_reason_overrides(client, auth, engine):
    plans = await start(client, auth)
    pm = auth.headers("PRODUCT_MANAGER")
    experiment = await start_experiment(client, pm)
    await expose(client, auth, plans["premium"], experiment["trigger"], users_in(experiment, "control", 3),
                 converted=1)
    await expose(client, auth, plans["premium"], experiment["trigger"], users_in(experiment, "saving", 3),
                 converted=2)
    body = assert_problem(await conclude(client, pm, experiment["id"], winner="saving"), 409, "conclusion_refused")
    assert body["blockers"] == ["the minimum sample per variant is not reached",
                                "saving is not significantly better than the control"]
    assert_problem(await conclude(client, pm, experiment["id"], winner="nope"), 422, "validation_error",
                   loc=["body", "winner"])
    assert (await client.get(f"{EXPERIMENTS}/{experiment['id']}", headers=pm)).json()["status"] == "RUNNING"
    assert await audit_rows(engine, action="experiment.concluded") == []
    r = await conclude(client, pm, experiment["id"], winner="saving", reason="Launch deadline; the copy is on-brand")
    assert r.status_code == 200, r.text
    concluded = r.json()
    assert (concluded["status"], concluded["winner"], concluded["conclusion_overridden"],
            concluded["conclusion_reason"]) == ("CONCLUDED", "saving", True, "Launch deadline; the copy is on-brand")
    assert concluded["rollout"] == {"status": "ROLLING_OUT", "percent": 10, "stage_started_at": "2026-01-10T10:00:00Z",
                                    "next_stage_at": "2026-01-11T10:00:00Z"}
    [audited] = await audit_rows(engine, action="experiment.concluded")
    assert audited.after["blockers_overridden"] == body["blockers"]
    assert_problem(await conclude(client, pm, experiment["id"], winner="saving", reason="again"), 409,
                   "invalid_transition")


async def test_a_significant_winner_concludes_without_a_reason_and_a_control_winner_is_refused(client, auth):
    plans = await start(client, auth)
    pm = auth.headers("PRODUCT_MANAGER")
    experiment = await significant_experiment(client, auth, plans)
    found = await results(client, pm, experiment["id"])
    assert found["enough_data"] is True and found["comparisons"][0]["significant"] is True
    body = assert_problem(await conclude(client, pm, experiment["id"], winner="control"), 409, "conclusion_refused")
    assert body["blockers"] == ["a treatment is significantly better than the control: saving"]
    r = await conclude(client, pm, experiment["id"], winner="saving")
    assert r.status_code == 200, r.text
    assert (r.json()["conclusion_overridden"], r.json()["rollout"]["percent"]) == (False, 10)


async def test_a_draft_or_stopped_experiment_is_not_concluded(client, auth):
    await start(client, auth)
    pm = auth.headers("PRODUCT_MANAGER")
    experiment = await start_experiment(client, pm)
    assert (await put(client, pm, experiment["id"], status="STOPPED")).status_code == 200
    assert_problem(await conclude(client, pm, experiment["id"], winner="saving", reason="x"), 409,
                   "invalid_transition")


async def test_the_winner_rolls_out_10_50_100_percent_with_the_test_clock(client, auth, engine):
    plans = await start(client, auth)
    pm = auth.headers("PRODUCT_MANAGER")
    experiment = await significant_experiment(client, auth, plans)
    assert (await conclude(client, pm, experiment["id"], winner="saving")).status_code == 200
    # During the rollout, new upsells of the trigger get the winner under the rollout share, the control above.
    [winner_user] = users_served(experiment, winner=True, percent=10, count=1)
    [control_user] = users_served(experiment, winner=False, percent=10, count=1)
    served = (await create(client, auth.headers("SERVICE"), plans["premium"], winner_user,
                           trigger_event=experiment["trigger"])).json()
    assert (served["experiment_variant"], served["message"]) == ("saving", "Save Rs. 500 with Premium")
    served = (await create(client, auth.headers("SERVICE"), plans["premium"], control_user,
                           trigger_event=experiment["trigger"])).json()
    assert (served["experiment_variant"], served["message"]) == ("control", "Upgrade to Premium")
    assert (await run_job(client, auth.admin, "experiment-rollout"))["processed"] == 0  # the stage is not over
    await advance(client, auth.admin, 24 * 3600 - 1)
    assert (await run_job(client, auth.admin, "experiment-rollout"))["processed"] == 0
    await advance(client, auth.admin, 1)
    assert (await run_job(client, auth.admin, "experiment-rollout")) == {"job": "experiment-rollout",
                                                                          "processed": 1, "advanced": 1,
                                                                          "rolled_back": 0}
    got = (await client.get(f"{EXPERIMENTS}/{experiment['id']}", headers=pm)).json()
    assert got["rollout"]["percent"] == 50 and got["rollout"]["status"] == "ROLLING_OUT"
    await advance(client, auth.admin, 24 * 3600)
    await run_job(client, auth.admin, "experiment-rollout")
    got = (await client.get(f"{EXPERIMENTS}/{experiment['id']}", headers=pm)).json()
    assert got["rollout"] == {"status": "COMPLETED", "percent": 100, "stage_started_at": "2026-01-12T10:00:00Z",
                              "next_stage_at": None}
    assert (await run_job(client, auth.admin, "experiment-rollout"))["processed"] == 0
    everyone = (await create(client, auth.headers("SERVICE"), plans["premium"], control_user,
                             trigger_event=experiment["trigger"])).json()
    assert everyone["experiment_variant"] == "saving"
    emitted = await events(engine, type=ROLLOUT)
    for e in emitted:
        assert_valid(e.envelope)
    assert [(e.envelope["data"]["from_percent"], e.envelope["data"]["to_percent"], e.envelope["data"]["status"])
            for e in emitted] == [(0, 10, "ROLLING_OUT"), (10, 50, "ROLLING_OUT"), (50, 100, "COMPLETED")]
    assert len(await audit_rows(engine, action="experiment.rollout_changed")) == 3
    # the experiment's results stay those of its own phase
    assert [v["users"] for v in (await results(client, pm, experiment["id"]))["variants"]] == [24, 24]


async def test_a_significantly_worse_guardrail_rolls_the_winner_back(client, auth, engine):
    plans = await start(client, auth)
    pm = auth.headers("PRODUCT_MANAGER")
    experiment = await significant_experiment(client, auth, plans)
    assert (await conclude(client, pm, experiment["id"], winner="saving")).status_code == 200
    await advance(client, auth.admin, 3600)
    await expose(client, auth, plans["premium"], experiment["trigger"],
                 users_served(experiment, winner=False, percent=10, count=12))
    await expose(client, auth, plans["premium"], experiment["trigger"],
                 users_served(experiment, winner=True, percent=10, count=8), dismissed=6)
    assert (await run_job(client, auth.admin, "experiment-rollout")) == {"job": "experiment-rollout",
                                                                          "processed": 1, "advanced": 0,
                                                                          "rolled_back": 1}
    got = (await client.get(f"{EXPERIMENTS}/{experiment['id']}", headers=pm)).json()
    assert (got["status"], got["winner"], got["rollout"]["status"], got["rollout"]["percent"]) == (
        "CONCLUDED", "saving", "ROLLED_BACK", 0)
    [_, rollback] = await events(engine, type=ROLLOUT)
    assert_valid(rollback.envelope)
    assert (rollback.envelope["data"]["from_percent"], rollback.envelope["data"]["to_percent"],
            rollback.envelope["data"]["status"]) == (10, 0, "ROLLED_BACK")
    assert rollback.envelope["data"]["reason"].startswith("guardrail worse: dismissal_rate")
    [_, audited] = await audit_rows(engine, action="experiment.rollout_changed")
    assert audited.after["guardrails"][0]["state"] == "WORSE"
    # everyone is back on the control, and nothing moves any more
    [user] = users_served(experiment, winner=True, percent=10, count=1)
    served = (await create(client, auth.headers("SERVICE"), plans["premium"], user,
                           trigger_event=experiment["trigger"])).json()
    assert served["experiment_variant"] is None
    await advance(client, auth.admin, 10 * 24 * 3600)
    assert (await run_job(client, auth.admin, "experiment-rollout"))["processed"] == 0
