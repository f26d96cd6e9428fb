"""PATCH /pipelines/{id}/stage and GET /pipelines/{id}/history: the stage machine through the API."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import event
from sqlalchemy.engine.interfaces import CacheStats

from tests.builders import API, freeze_clock, make_pipeline, make_rm_with_team, move
from tests.checks import assert_problem, audit_rows, events, row_counts
from tests.events_schema import assert_valid


@pytest.fixture
async def setup(client, auth):  # type: ignore[no-untyped-def]
    await freeze_clock(client, auth.admin)
    team, rm = await make_rm_with_team(client, auth.admin)
    pipeline = await make_pipeline(client, auth.rm(rm["id"]), rm_id=rm["id"])
    return team, rm, pipeline


async def test_forward_move_sets_stage_probability_and_history(client, auth, engine, setup):
    _, rm, pipeline = setup
    at = await freeze_clock(client, auth.admin, at="2026-01-17T11:00:00Z")
    response = await move(client, auth.rm(rm["id"]), pipeline["id"], "CONTACTED", reason="called")
    assert response.status_code == 200, response.text
    assert response.json() == {**pipeline, "stage": "CONTACTED", "probability": 30, "stage_changed_at": at,
                               "updated_at": at}
    history = await client.get(f"{API}/pipelines/{pipeline['id']}/history", headers=auth.rm(rm["id"]))
    assert history.json() == {"items": [{"from_stage": "NEW", "to_stage": "CONTACTED", "changed_by": rm["id"],
                                         "changed_at": at, "reason": "called"}], "next_cursor": None}
    [created, changed] = await events(engine)
    assert changed.type == "sales.pipeline.stage_changed" and changed.subject == pipeline["id"]
    assert changed.envelope["time"] == at and changed.envelope["specversion"] == "1.0"
    assert changed.envelope["data"] == {"pipeline_id": pipeline["id"], "lead_id": pipeline["lead_id"],
                                        "rm_id": rm["id"], "old_stage": "NEW", "new_stage": "CONTACTED",
                                        "changed_by": rm["id"], "reason": "called"}
    entry = (await audit_rows(engine, action="pipeline.stage_changed"))[0]
    assert entry.before == {"stage": "NEW", "outcome": "PENDING"} and entry.after["stage"] == "CONTACTED"


@pytest.mark.parametrize("target", ["REQUIREMENTS_CAPTURED", "VISIT_COMPLETED", "AGREEMENT_PENDING"])
async def test_rm_may_skip_stages_forward(client, auth, setup, target):
    _, rm, pipeline = setup
    response = await move(client, auth.rm(rm["id"]), pipeline["id"], target)
    assert response.status_code == 200 and response.json()["stage"] == target


async def test_rm_may_not_move_back(client, auth, engine, setup):
    _, rm, pipeline = setup
    assert (await move(client, auth.rm(rm["id"]), pipeline["id"], "NEGOTIATION")).status_code == 200
    before = await row_counts(engine)
    response = await move(client, auth.rm(rm["id"]), pipeline["id"], "CONTACTED", reason="customer went quiet")
    assert_problem(response, 409, "stage_change_not_allowed")
    assert await row_counts(engine) == before


@pytest.mark.parametrize("who", ["supervisor", "admin"])
async def test_supervisor_or_admin_move_back_with_a_reason(client, auth, setup, who):
    team, rm, pipeline = setup
    headers = {"supervisor": auth.supervisor(uuid.UUID(team["id"])), "admin": auth.admin}[who]
    assert (await move(client, auth.rm(rm["id"]), pipeline["id"], "VISIT_SCHEDULED")).status_code == 200
    response = await move(client, headers, pipeline["id"], "REQUIREMENTS_CAPTURED", reason="visit cancelled")
    assert response.status_code == 200, response.text
    assert (response.json()["stage"], response.json()["probability"]) == ("REQUIREMENTS_CAPTURED", 40)
    history = (await client.get(f"{API}/pipelines/{pipeline['id']}/history", headers=headers)).json()["items"]
    assert [(h["from_stage"], h["to_stage"], h["reason"]) for h in history] == [
        ("NEW", "VISIT_SCHEDULED", None), ("VISIT_SCHEDULED", "REQUIREMENTS_CAPTURED", "visit cancelled")]


@pytest.mark.parametrize("reason", [None, "", "   "])
async def test_moving_back_without_a_reason_is_422(client, auth, engine, setup, reason):
    team, rm, pipeline = setup
    assert (await move(client, auth.rm(rm["id"]), pipeline["id"], "NEGOTIATION")).status_code == 200
    before = await row_counts(engine)
    extra = {} if reason is None else {"reason": reason}
    response = await move(client, auth.supervisor(uuid.UUID(team["id"])), pipeline["id"], "CONTACTED", **extra)
    assert_problem(response, 422, "validation_error", loc=["body", "reason"])
    assert await row_counts(engine) == before


async def test_same_stage_is_409(client, auth, setup):
    _, rm, pipeline = setup
    assert_problem(await move(client, auth.rm(rm["id"]), pipeline["id"], "NEW"), 409, "stage_change_not_allowed")


async def test_closed_lost_needs_a_loss_reason_and_records_it(client, auth, engine, setup):
    _, rm, pipeline = setup
    before = await row_counts(engine)
    assert_problem(await move(client, auth.rm(rm["id"]), pipeline["id"], "CLOSED_LOST"), 422, "validation_error",
                   loc=["body", "loss_reason"])
    assert_problem(await move(client, auth.rm(rm["id"]), pipeline["id"], "CLOSED_LOST", loss_reason=""), 422,
                   "validation_error", loc=["body", "loss_reason"])
    assert await row_counts(engine) == before
    at = await freeze_clock(client, auth.admin, at="2026-01-25T16:00:00Z")
    response = await move(client, auth.rm(rm["id"]), pipeline["id"], "CLOSED_LOST", loss_reason="chose a competitor")
    assert response.status_code == 200, response.text
    assert response.json() == {**pipeline, "stage": "CLOSED_LOST", "outcome": "LOST", "probability": 0,
                               "loss_reason": "chose a competitor", "actual_close_date": "2026-01-25",
                               "stage_changed_at": at, "updated_at": at}
    closed = (await events(engine, type="sales.pipeline.closed"))[0]
    assert closed.envelope["data"] == {"pipeline_id": pipeline["id"], "lead_id": pipeline["lead_id"],
                                       "rm_id": rm["id"], "outcome": "LOST", "value": 25000.0,
                                       "loss_reason": "chose a competitor", "actual_close_date": "2026-01-25"}
    assert_valid(closed.envelope)
    history = (await client.get(f"{API}/pipelines/{pipeline['id']}/history", headers=auth.admin)).json()["items"]
    assert history[-1]["reason"] == "chose a competitor"


async def test_closed_won_with_a_deal_value_given_now(client, auth, engine):
    _, rm = await make_rm_with_team(client, auth.admin)
    pipeline = await make_pipeline(client, auth.admin, rm_id=rm["id"], deal_value=None)
    assert_problem(await move(client, auth.rm(rm["id"]), pipeline["id"], "CLOSED_WON"), 422, "validation_error",
                   loc=["body", "deal_value"])
    at = await freeze_clock(client, auth.admin, at="2026-02-10T12:00:00Z")
    response = await move(client, auth.rm(rm["id"]), pipeline["id"], "CLOSED_WON", deal_value="41000.00")
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["stage"], body["outcome"], body["probability"], body["deal_value"], body["actual_close_date"]) == (
        "CLOSED_WON", "WON", 100, 41000.0, "2026-02-10")
    assert '"deal_value":41000.00,' in response.text and body["stage_changed_at"] == at
    emitted = await events(engine)
    assert [e.type for e in emitted] == ["sales.pipeline.created", "sales.pipeline.stage_changed",
                                         "sales.pipeline.closed"]
    for emitted_event in emitted:
        assert_valid(emitted_event.envelope)
    closed = (await events(engine, type="sales.pipeline.closed"))[0].envelope["data"]
    assert (closed["outcome"], closed["value"], closed["loss_reason"]) == ("WON", 41000.0, None)


async def test_closed_won_with_a_deal_value_already_set(client, auth, setup):
    _, rm, pipeline = setup
    response = await move(client, auth.rm(rm["id"]), pipeline["id"], "CLOSED_WON")
    assert response.status_code == 200 and response.json()["deal_value"] == 25000.0


@pytest.mark.parametrize("closing", [{"stage": "CLOSED_WON"}, {"stage": "CLOSED_LOST", "loss_reason": "budget"}])
@pytest.mark.parametrize("then", [{"stage": "NEGOTIATION", "reason": "reopen"}, {"stage": "CLOSED_WON"},
                                  {"stage": "CLOSED_LOST", "loss_reason": "x"}, {"stage": "NEW", "reason": "again"}])
async def test_closed_pipelines_are_final(client, auth, engine, setup, closing, then):
    _, rm, pipeline = setup
    assert (await move(client, auth.rm(rm["id"]), pipeline["id"], **closing)).status_code == 200
    before = await row_counts(engine)
    response = await move(client, auth.admin, pipeline["id"], **then)
    assert_problem(response, 409, "pipeline_closed")
    assert await row_counts(engine) == before


@pytest.mark.parametrize(("body", "loc"), [
    ({"stage": "DONE"}, ["body", "stage"]), ({}, ["body", "stage"]),
    ({"stage": "CLOSED_WON", "deal_value": -5}, ["body", "deal_value"]),
    ({"stage": "CLOSED_WON", "deal_value": "1.234"}, ["body", "deal_value"]),
    ({"stage": "CONTACTED", "probability": 50}, ["body", "probability"]),
])
async def test_stage_change_bad_input_is_422(client, auth, engine, setup, body, loc):
    _, rm, pipeline = setup
    before = await row_counts(engine)
    response = await client.patch(f"{API}/pipelines/{pipeline['id']}/stage", json=body, headers=auth.rm(rm["id"]))
    assert_problem(response, 422, "validation_error", loc=loc)
    assert await row_counts(engine) == before


async def test_out_of_scope_stage_change_is_404(client, auth, engine, setup):
    _, _, pipeline = setup
    other_team, other = await make_rm_with_team(client, auth.admin)
    before = await row_counts(engine)
    for headers in (auth.rm(other["id"]), auth.supervisor(uuid.UUID(other_team["id"]))):
        assert_problem(await move(client, headers, pipeline["id"], "CONTACTED"), 404, "pipeline_not_found")
    assert_problem(await move(client, auth.admin, str(uuid.uuid4()), "CONTACTED"), 404, "pipeline_not_found")
    assert await row_counts(engine) == before


async def test_history_is_oldest_first_and_paginates(client, auth, setup):
    team, rm, pipeline = setup
    path = ["CONTACTED", "REQUIREMENTS_CAPTURED", "SHORTLIST_SENT", "VISIT_SCHEDULED", "VISIT_COMPLETED"]
    for i, stage in enumerate(path):
        await freeze_clock(client, auth.admin, at=f"2026-01-2{i}T10:00:00Z")
        assert (await move(client, auth.rm(rm["id"]), pipeline["id"], stage)).status_code == 200
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        response = await client.get(f"{API}/pipelines/{pipeline['id']}/history", params=params,
                                    headers=auth.supervisor(uuid.UUID(team["id"])))
        assert response.status_code == 200
        seen += response.json()["items"]
        cursor = response.json()["next_cursor"]
        if cursor is None:
            break
    assert [h["to_stage"] for h in seen] == path
    assert [h["changed_at"] for h in seen] == [f"2026-01-2{i}T10:00:00Z" for i in range(5)]
    assert [h["from_stage"] for h in seen] == ["NEW", *path[:-1]]


async def test_history_of_a_new_pipeline_is_empty(client, auth, setup):
    _, rm, pipeline = setup
    response = await client.get(f"{API}/pipelines/{pipeline['id']}/history", headers=auth.headers("FINANCE_ADMIN"))
    assert response.json() == {"items": [], "next_cursor": None}


async def test_history_bad_cursor_is_422(client, auth, setup):
    _, _, pipeline = setup
    from sales.core.http import encode_cursor

    response = await client.get(f"{API}/pipelines/{pipeline['id']}/history", params={"cursor": encode_cursor("x")},
                                headers=auth.admin)
    assert_problem(response, 422, "validation_error", loc=["query", "cursor"])


async def test_a_stage_change_sends_only_statements_sqlalchemy_caches(client, auth, engine, setup):
    """Issue 19: every statement of a stage change (a move, then a close with its two events) is compiled once per
    process, not on each request: none lacks a cache key (a multi-row VALUES did, and cost ~20% of the request)."""
    _, rm, pipeline = setup
    uncached: list[str] = []

    def check(_conn, _cursor, statement, _params, context, _many):  # type: ignore[no-untyped-def]
        if context.compiled is not None and context.cache_hit == CacheStats.NO_CACHE_KEY:
            uncached.append(statement)

    event.listen(engine.sync_engine, "after_cursor_execute", check)
    try:
        for stage, extra in (("CONTACTED", {}), ("CLOSED_LOST", {"loss_reason": "chose a competitor"})):
            response = await move(client, auth.rm(rm["id"]), pipeline["id"], stage, **extra)
            assert response.status_code == 200, response.text
    finally:
        event.remove(engine.sync_engine, "after_cursor_execute", check)
    assert uncached == []
