"""Several domains react to one event type: all its handlers run in the event's one transaction, in a stable
order; one failing handler undoes the others' writes, the event is retried, then parked (issue 10 §1)."""
from __future__ import annotations

from uuid import UUID

from sales.events import registry
from sales.events.registry import handles, handlers_for
from sales.pipelines import service as pipelines_service
from sales.pipelines.enums import Stage
from tests.allocation_builders import advance, run_job, set_clock
from tests.api.events.helpers import API, cloudevent
from tests.builders import make_pipeline, make_rm, make_team

EVENTS = f"{API}/events"
TYPE = "test.several.handled"


def test_every_domain_registers_its_own_handlers_without_a_central_list():
    modules = {fn.__module__ for type_ in ("leads.lead.created", "leads.lead.qualified",
                                            "scheduling.visit.completed") for fn in handlers_for(type_)}
    assert modules == {"sales.allocation.handlers", "sales.pipelines.handlers", "sales.visits.handlers"}  # issue 15


def test_handlers_of_one_type_run_in_module_then_name_order(monkeypatch):
    monkeypatch.setitem(registry._HANDLERS, TYPE, [])

    async def zeta(conn, event): ...

    async def alpha(conn, event): ...

    handles(TYPE)(zeta)
    handles(TYPE)(alpha)
    handles(TYPE)(alpha)  # registering twice is a no-op
    assert handlers_for(TYPE) == [alpha, zeta]


async def test_one_failing_handler_undoes_the_others_then_the_event_retries_and_succeeds(client, auth, monkeypatch):
    await set_clock(client, auth.admin, "2026-01-10T10:00:00Z")
    team = await make_team(client, auth.admin)
    rm = await make_rm(client, auth.admin, team_id=team["id"])
    pipeline = await make_pipeline(client, auth.admin, rm_id=rm["id"])
    calls: list[str] = []
    failing = {"on": True}

    async def moves_the_pipeline(conn, event):
        calls.append("moves")
        await pipelines_service.advance_to(conn, lead_id=None, pipeline_id=UUID(event.data["pipeline_id"]),
                                           stage=Stage.REQUIREMENTS_CAPTURED, now=event.now,
                                           actor=event.principal, reason="several handlers")

    async def then_fails(conn, event):
        calls.append("fails")
        if failing["on"]:
            raise RuntimeError("downstream not ready")

    monkeypatch.setitem(registry._HANDLERS, TYPE, [moves_the_pipeline, then_fails])
    event = cloudevent(TYPE, {"pipeline_id": pipeline["id"]})

    r = await client.post(EVENTS, json=event, headers=auth.headers("SERVICE"))
    assert r.status_code == 200
    assert r.json()["items"][0]["status"] == "FAILED" and "downstream not ready" in r.json()["items"][0]["error"]
    assert calls == ["moves", "fails"]
    got = (await client.get(f"{API}/pipelines/{pipeline['id']}", headers=auth.admin)).json()
    assert got["stage"] == "NEW"  # the first handler's change was rolled back with the event
    history = (await client.get(f"{API}/pipelines/{pipeline['id']}/history", headers=auth.admin)).json()
    assert history.get("items", history) == []

    failing["on"] = False
    await advance(client, auth.admin, 3600)
    assert (await run_job(client, auth.admin, "inbox-retry"))["processed"] == 1
    got = (await client.get(f"{API}/pipelines/{pipeline['id']}", headers=auth.admin)).json()
    assert got["stage"] == "REQUIREMENTS_CAPTURED"
    assert calls == ["moves", "fails", "moves", "fails"]


async def test_a_handler_failing_every_time_parks_the_whole_event(client, auth, monkeypatch):
    await set_clock(client, auth.admin, "2026-01-10T10:00:00Z")

    async def fine(conn, event): ...

    async def broken(conn, event):
        raise RuntimeError("always")

    monkeypatch.setitem(registry._HANDLERS, TYPE, [fine, broken])
    event = cloudevent(TYPE, {"n": 1})
    for _ in range(5):
        r = await client.post(EVENTS, json=event, headers=auth.headers("SERVICE"))
    assert r.json()["items"][0]["status"] == "PARKED" and r.json()["items"][0]["attempts"] == 5
