"""issue 9 item 4: concurrent stage changes give the same answers on SQLite as on PostgreSQL (no lost updates).

Real parallel requests: one task per request over the ASGI transport, each with its own connection.
"""
from __future__ import annotations

import asyncio

from sales.pipelines.models import pipeline_stage_history
from tests.builders import API, freeze_clock, make_pipeline, make_rm_with_team, move
from tests.checks import assert_problem, events, fetch


async def test_parallel_closes_of_one_new_pipeline_apply_exactly_one(client, auth, engine):
    """15 parallel PATCH /pipelines/{id}/stage on one NEW pipeline, each closing it (won or lost): one
    answers 200, the other 14 find it closed (409); one history row from NEW, one sales.pipeline.closed,
    and the final state is the one the 200 reported. (SQLite before: 15 x 200, 15 history rows, several
    closed events, mixed final state.)"""
    await freeze_clock(client, auth.admin)
    _, rm = await make_rm_with_team(client, auth.admin)
    as_rm = auth.rm(rm["id"])
    pipeline = await make_pipeline(client, as_rm, rm_id=rm["id"])
    closes = [{"stage": "CLOSED_WON", "deal_value": "30000.00"} if i % 2 else
              {"stage": "CLOSED_LOST", "loss_reason": "chose another agent"} for i in range(15)]

    responses = await asyncio.gather(*[move(client, as_rm, pipeline["id"], **close) for close in closes])

    assert sorted(r.status_code for r in responses) == [200] + [409] * 14, [r.text for r in responses]
    [applied] = [r.json() for r in responses if r.status_code == 200]
    for refused in (r for r in responses if r.status_code == 409):
        assert_problem(refused, 409, "pipeline_closed")
    history = await client.get(f"{API}/pipelines/{pipeline['id']}/history", headers=as_rm)
    [row] = history.json()["items"]
    assert (row["from_stage"], row["to_stage"]) == ("NEW", applied["stage"])
    assert len(await events(engine, type="sales.pipeline.closed")) == 1
    assert (await client.get(f"{API}/pipelines/{pipeline['id']}", headers=as_rm)).json() == applied


async def test_parallel_forward_moves_see_each_other(client, auth, engine):
    """Ten RM moves NEW -> CONTACTED at once: the first applies, the other nine find it already there (409)."""
    _, rm = await make_rm_with_team(client, auth.admin)
    as_rm = auth.rm(rm["id"])
    pipeline = await make_pipeline(client, as_rm, rm_id=rm["id"])

    responses = await asyncio.gather(*[move(client, as_rm, pipeline["id"], "CONTACTED") for _ in range(10)])

    assert sorted(r.status_code for r in responses) == [200] + [409] * 9, [r.text for r in responses]
    assert len(await events(engine, type="sales.pipeline.stage_changed")) == 1
    assert len(await fetch(engine, pipeline_stage_history)) == 1
