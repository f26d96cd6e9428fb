"""Issue 16: concurrent writes on experiments (compare-and-set on the version, one active experiment per trigger by a
partial unique index), on both databases: one start per trigger, one conclusion, one rollout step per stage."""
from __future__ import annotations

import asyncio

from tests.allocation_builders import advance, run_job
from tests.api.experiments.helpers import EXPERIMENTS, create_experiment, put, start_experiment
from tests.api.upsell.helpers import start
from tests.checks import audit_rows, events
from tests.commerce_builders import send


async def test_concurrent_starts_on_one_trigger_leave_one_running(client, auth):
    await start(client, auth)
    pm = auth.headers("PRODUCT_MANAGER")
    first = await create_experiment(client, pm)
    drafts = [first] + [await create_experiment(client, pm, trigger=first["trigger"]) for _ in range(4)]
    responses = await asyncio.gather(*(put(client, pm, d["id"], status="RUNNING") for d in drafts))
    assert sorted(r.status_code for r in responses) == [200] + [409] * 4, [r.text for r in responses]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"experiment_trigger_busy"}
    listed = (await client.get(EXPERIMENTS, params={"trigger": first["trigger"], "status": "RUNNING"},
                               headers=pm)).json()["items"]
    assert len(listed) == 1


async def test_concurrent_conclusions_conclude_once(client, auth, engine):
    await start(client, auth)
    pm = auth.headers("PRODUCT_MANAGER")
    experiment = await start_experiment(client, pm)
    responses = await asyncio.gather(*(send(client, "POST", f"{EXPERIMENTS}/{experiment['id']}/conclude",
                                            {"winner": "saving", "reason": f"call {i}"}, pm) for i in range(5)))
    assert sorted(r.status_code for r in responses) == [200] + [409] * 4, [r.text for r in responses]
    assert len(await audit_rows(engine, action="experiment.concluded")) == 1
    assert len(await events(engine, type="sales.experiment.rollout_changed")) == 1


async def test_concurrent_rollout_jobs_advance_a_stage_once(client, auth, engine):
    await start(client, auth)
    pm = auth.headers("PRODUCT_MANAGER")
    experiment = await start_experiment(client, pm)
    r = await send(client, "POST", f"{EXPERIMENTS}/{experiment['id']}/conclude",
                   {"winner": "saving", "reason": "ship it"}, pm)
    assert r.status_code == 200, r.text
    await advance(client, auth.admin, 24 * 3600)
    outcomes = await asyncio.gather(*(run_job(client, auth.admin, "experiment-rollout") for _ in range(4)))
    assert sum(o["advanced"] for o in outcomes) == 1
    assert (await client.get(f"{EXPERIMENTS}/{experiment['id']}", headers=pm)).json()["rollout"]["percent"] == 50
    assert len(await events(engine, type="sales.experiment.rollout_changed")) == 2
    assert (await put(client, pm, experiment["id"], name="renamed after")).status_code == 200
