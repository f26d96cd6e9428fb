"""LAR-006 in the worker: the SLA sweep works through a backlog of expiries in short transactions (issue 19: at
x10 one 200-expiry transaction held lead and RM row locks for ~38 s while the API's allocations waited)."""
from __future__ import annotations

import dataclasses

from sqlalchemy import event

from sales.allocation import jobs as allocation_jobs
from sales.core.jobs import JOBS
from sales.events.config import EventSettings
from sales.worker import Worker
from tests.allocation_builders import advance, city_with_rms, run_job
from tests.api.allocation.helpers import allocated, get_allocation, live_of_lead, start

SLA = 2 * 3600


async def _sweep_recorded(engine, settings) -> tuple[dict, list[str]]:  # type: ignore[no-untyped-def]
    """One sla-sweep slot as the worker runs it, with every statement it sent and "COMMIT" at each commit."""
    sent: list[str] = []
    listeners = {"before_cursor_execute": lambda _c, _cur, sql, *_a: sent.append(" ".join(sql.split())),
                 "commit": lambda _c: sent.append("COMMIT")}
    for name, listener in listeners.items():
        event.listen(engine.sync_engine, name, listener)
    try:
        worker = Worker(settings, EventSettings(), relay=False, consume=False, engine=engine)
        return await worker.run_job(JOBS["sla-sweep"]), sent
    finally:
        for name, listener in listeners.items():
            event.remove(engine.sync_engine, name, listener)


async def test_lar_006_sweep_drains_a_backlog_batch_by_batch(client, auth, engine, settings, monkeypatch):
    monkeypatch.setattr(allocation_jobs, "SWEEP_BATCH", 2)
    await start(client, auth.admin)
    _, rms = await city_with_rms(client, auth.admin, count=2)
    made = [await allocated(client, auth.headers("SERVICE")) for _ in range(5)]
    await advance(client, auth.admin, SLA)

    result, sent = await _sweep_recorded(engine, settings)
    # full batches (2, 2) are followed at once by the next; the third is not full: three transactions, then the
    # job record
    assert result == {"processed": 5, "reallocated": 5, "escalated": 0, "queued": 0, "batches": 3}
    assert sent.count("COMMIT") == 4

    for old in made:
        assert (await get_allocation(client, auth.admin, old["id"]))["status"] == "EXPIRED"
        [new] = await live_of_lead(client, auth.admin, old["lead_id"])
        assert new["rm_id"] != old["rm_id"] and new["reassignment_reason"] == "SLA_BREACH"
    assert (await run_job(client, auth.admin, "sla-sweep"))["processed"] == 0


async def test_lar_006_one_slot_sweeps_at_most_max_batches(client, auth, engine, settings, monkeypatch):
    monkeypatch.setattr(allocation_jobs, "SWEEP_BATCH", 2)
    monkeypatch.setitem(JOBS, "sla-sweep", dataclasses.replace(JOBS["sla-sweep"], max_batches=2))
    await start(client, auth.admin)
    await city_with_rms(client, auth.admin, count=2)
    for _ in range(5):
        await allocated(client, auth.headers("SERVICE"))
    await advance(client, auth.admin, SLA)
    worker = Worker(settings, EventSettings(), relay=False, consume=False, engine=engine)
    assert (await worker.run_job(JOBS["sla-sweep"]))["processed"] == 4  # two full batches: the slot's cap
    assert (await worker.run_job(JOBS["sla-sweep"], budget=0))["processed"] == 1  # the next slot: the rest


async def test_a_job_without_again_runs_one_batch_and_reports_as_before(client, auth, engine, settings):
    await start(client, auth.admin)
    worker = Worker(settings, EventSettings(), relay=False, consume=False, engine=engine)
    assert await worker.run_job(JOBS["overflow-retry"]) == {"processed": 0, "allocated": 0, "still_queued": 0}
    assert await worker.run_job(JOBS["sla-sweep"]) == {"processed": 0, "reallocated": 0, "escalated": 0,
                                                       "queued": 0}


async def test_lar_006_the_admin_run_sweeps_a_whole_slot(client, auth, monkeypatch):
    """`POST /admin/jobs/sla-sweep/run` does what one worker slot does (batch after batch, up to 200), not one
    batch: an operator who runs the sweep sees every due allocation moved."""
    monkeypatch.setattr(allocation_jobs, "SWEEP_BATCH", 2)
    await start(client, auth.admin)
    await city_with_rms(client, auth.admin, count=2)
    made = [await allocated(client, auth.headers("SERVICE")) for _ in range(5)]
    await advance(client, auth.admin, SLA)
    result = await run_job(client, auth.admin, "sla-sweep")
    assert (result["processed"], result["reallocated"]) == (5, 5)
    for old in made:
        assert (await get_allocation(client, auth.admin, old["id"]))["status"] == "EXPIRED"


async def test_lar_006_a_sweep_batch_takes_the_audit_chain_after_every_rm_and_lead(client, auth, engine, settings,
                                                                                  monkeypatch):
    """Issue 19: the audit partition's lock is the last one a job's transaction takes, as in a request. A batch
    that advanced the chain at its first expiry and then claimed the next expiry's RM deadlocked with an allocation
    holding that RM and waiting on the partition (PostgreSQL found it in the 500-user mix)."""
    monkeypatch.setattr(allocation_jobs, "SWEEP_BATCH", 3)
    await start(client, auth.admin)
    await city_with_rms(client, auth.admin, count=2)
    for _ in range(3):
        await allocated(client, auth.headers("SERVICE"))
    await advance(client, auth.admin, SLA)

    result, sent = await _sweep_recorded(engine, settings)
    assert result["processed"] == 3 and result["reallocated"] == 3
    batch = sent[:sent.index("COMMIT")]  # the sweep's transaction (then the job's record)
    chain = [i for i, sql in enumerate(batch) if "audit_chain" in sql]
    locks = [i for i, sql in enumerate(batch) if i not in chain
             and (sql.startswith(("UPDATE rms", "UPDATE leads")) or " FOR UPDATE" in sql)]
    assert chain and len(locks) >= 6 and max(locks) < min(chain)
