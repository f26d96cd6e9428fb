"""A batch that loses a deadlock is run again; one that keeps losing is a 503 with Retry-After, never a 500,
and nothing of it is kept (issue 9's class "no 5xx", found by the ingestion benchmark of issue 10)."""
from __future__ import annotations

import uuid

from sqlalchemy.exc import DBAPIError

from sales.core.tables import inbox_events
from sales.events import inbox
from tests.api.events.helpers import API, cloudevent
from tests.checks import count

EVENTS = f"{API}/events"


class _Deadlock(Exception):
    sqlstate = "40P01"


def _losing(times: int):  # type: ignore[no-untyped-def]
    """inbox.receive that loses a deadlock for its first `times` calls (after writing, like the real thing)."""
    real = inbox.receive
    calls = {"n": 0}

    async def receive(conn, event, **kwargs):  # type: ignore[no-untyped-def]
        outcome = await real(conn, event, **kwargs)
        calls["n"] += 1
        if calls["n"] <= times:
            raise DBAPIError("INSERT INTO inbox_events ...", {}, _Deadlock("deadlock detected"))
        return outcome

    return receive


def _batch() -> list[dict]:
    return [cloudevent("unknown.kind.of.event", {"n": i}, id_=str(uuid.uuid4())) for i in range(3)]


async def test_a_batch_that_lost_a_deadlock_runs_again_and_keeps_each_event_once(client, auth, engine, monkeypatch):
    monkeypatch.setattr(inbox, "receive", _losing(times=2))
    batch = _batch()
    r = await client.post(EVENTS, json=batch, headers=auth.headers("SERVICE"))
    assert r.status_code == 200, r.text
    assert [i["status"] for i in r.json()["items"]] == ["IGNORED"] * 3
    assert await count(engine, inbox_events) == 3


async def test_a_batch_that_keeps_losing_is_503_with_retry_after_and_writes_nothing(client, auth, engine,
                                                                                   monkeypatch):
    monkeypatch.setattr(inbox, "receive", _losing(times=100))
    r = await client.post(EVENTS, json=_batch(), headers=auth.headers("SERVICE"))
    assert r.status_code == 503
    assert r.headers["content-type"] == "application/problem+json" and r.headers["Retry-After"] == "1"
    assert r.json()["code"] == "transient_conflict"
    assert await count(engine, inbox_events) == 0
