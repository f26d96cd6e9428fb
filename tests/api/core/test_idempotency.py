"""Idempotent retries (ARCHITECTURE.md §2.3): the same key answers the first response and writes nothing new."""
from __future__ import annotations

import asyncio
import uuid

import pytest

from sales.core import audit
from sales.core.jobs import JOBS, Job
from sales.core.tables import idempotency_keys
from sales.directory.models import teams
from sales.pipelines.models import sales_pipelines
from tests.builders import API, freeze_clock, make_rm_with_team, make_team
from tests.checks import assert_problem, audit_rows, count, fetch, row_counts


def _pipeline_body(rm_id: str, **overrides):  # type: ignore[no-untyped-def]
    return {"lead_id": str(uuid.uuid4()), "rm_id": rm_id, "source": "INBOUND_CALL", "deal_value": "25000.00",
            **overrides}


async def test_retried_create_returns_the_first_response_and_writes_nothing_new(client, auth, engine):
    await freeze_clock(client, auth.admin)
    _, rm = await make_rm_with_team(client, auth.admin)
    headers = {**auth.rm(rm["id"]), "Idempotency-Key": "create-1"}
    body = _pipeline_body(rm["id"])
    first = await client.post(f"{API}/pipelines", json=body, headers=headers)
    assert first.status_code == 201, first.text
    written = await row_counts(engine)

    retry = await client.post(f"{API}/pipelines", json=body, headers=headers)
    assert retry.status_code == 201
    assert retry.content == first.content
    assert retry.headers["idempotent-replayed"] == "true"
    assert await row_counts(engine) == written
    assert written["sales_pipelines"] == 1 and written["outbox_events"] == 1 and written["idempotency_keys"] == 1


async def test_same_key_with_a_different_body_is_422(client, auth, engine):
    _, rm = await make_rm_with_team(client, auth.admin)
    headers = {**auth.rm(rm["id"]), "Idempotency-Key": "create-2"}
    body = _pipeline_body(rm["id"])
    assert (await client.post(f"{API}/pipelines", json=body, headers=headers)).status_code == 201
    written = await row_counts(engine)
    response = await client.post(f"{API}/pipelines", json={**body, "deal_value": "30000.00"}, headers=headers)
    assert_problem(response, 422, "idempotency_key_reused")
    assert await row_counts(engine) == written


async def test_same_key_on_another_endpoint_is_422(client, auth, engine):
    headers = {**auth.admin, "Idempotency-Key": "k"}
    assert (await client.post(f"{API}/teams", json={"name": "A", "city": "Pune"}, headers=headers)).status_code == 201
    response = await client.put(f"{API}/admin/clock", json={"name": "A", "city": "Pune"}, headers=headers)
    assert_problem(response, 422, "idempotency_key_reused")


async def test_keys_belong_to_one_caller(client, auth, engine):
    body = {"name": "South", "city": "Pune"}
    first = await client.post(f"{API}/teams", json=body, headers={**auth.admin, "Idempotency-Key": "same"})
    second = await client.post(f"{API}/teams", json=body, headers={**auth.admin, "Idempotency-Key": "same"})
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert await count(engine, idempotency_keys) == 2


async def test_a_failed_request_stores_no_key_so_a_corrected_retry_succeeds(client, auth, engine):
    _, rm = await make_rm_with_team(client, auth.admin)
    headers = {**auth.rm(rm["id"]), "Idempotency-Key": "fix-and-retry"}
    bad = await client.post(f"{API}/pipelines", json=_pipeline_body(rm["id"], deal_value="-5.00"), headers=headers)
    assert_problem(bad, 422, "validation_error", loc=["body", "deal_value"])
    assert await count(engine, idempotency_keys) == 0
    good = await client.post(f"{API}/pipelines", json=_pipeline_body(rm["id"]), headers=headers)
    assert good.status_code == 201
    assert await count(engine, sales_pipelines) == 1


async def test_retried_stage_change_is_not_applied_twice(client, auth, engine):
    _, rm = await make_rm_with_team(client, auth.admin)
    created = await client.post(f"{API}/pipelines", json=_pipeline_body(rm["id"]), headers=auth.rm(rm["id"]))
    pipeline_id = created.json()["id"]
    headers = {**auth.rm(rm["id"]), "Idempotency-Key": "move-1"}
    first = await client.patch(f"{API}/pipelines/{pipeline_id}/stage", json={"stage": "CONTACTED"}, headers=headers)
    assert first.status_code == 200
    written = await row_counts(engine)
    retry = await client.patch(f"{API}/pipelines/{pipeline_id}/stage", json={"stage": "CONTACTED"}, headers=headers)
    assert retry.status_code == 200 and retry.content == first.content  # not a 409 "already at CONTACTED"
    assert await row_counts(engine) == written
    assert written["pipeline_stage_history"] == 1


async def test_reads_ignore_the_header(client, auth, engine):
    response = await client.get(f"{API}/teams", headers={**auth.admin, "Idempotency-Key": "read"})
    assert response.status_code == 200
    assert await count(engine, idempotency_keys) == 0


# --- issue 9: claims, binding to the caller, encryption, expiry --------------------------------------------

TEAM = {"name": "South", "city": "Pune"}


@pytest.mark.parametrize("key", ["k" * 256, "", "tab\tinside", "caf\xe9".encode("latin-1")])
async def test_invalid_key_is_422_naming_the_header(client, auth, engine, key):
    """issue 9 item 2: a key longer than its column was a 500 that leaked a connection (and a non-ASCII byte
    a 500 too); every key that is accepted fits the column."""
    response = await client.post(f"{API}/teams", json=TEAM, headers={**auth.admin, "Idempotency-Key": key})
    assert_problem(response, 422, "validation_error", loc=["header", "Idempotency-Key"])
    assert await count(engine, teams) == 0 and await count(engine, idempotency_keys) == 0
    assert engine.pool.checkedout() == 0


async def test_key_of_255_characters_is_accepted(client, auth, engine):
    headers = {**auth.admin, "Idempotency-Key": "k" * 255}
    first = await client.post(f"{API}/teams", json=TEAM, headers=headers)
    retry = await client.post(f"{API}/teams", json=TEAM, headers=headers)
    assert first.status_code == retry.status_code == 201 and retry.content == first.content


async def test_replay_has_the_content_type_of_the_first_response(client, auth, engine):
    headers = {**auth.admin, "Idempotency-Key": "ctype"}
    first = await client.post(f"{API}/teams", json=TEAM, headers=headers)
    retry = await client.post(f"{API}/teams", json=TEAM, headers=headers)
    assert retry.headers["idempotent-replayed"] == "true"
    assert retry.headers["content-type"] == first.headers["content-type"] == "application/json"


async def test_replay_is_given_only_to_the_same_caller_with_the_same_roles(client, auth, engine):
    """issue 9 item 11: the same `sub` with another role set (or other teams) reusing a key is refused
    (422 idempotency_key_reused), never served the first caller's response."""
    sub = uuid.uuid4()
    admin = {**auth.headers("SALES_ADMIN", sub=sub), "Idempotency-Key": "bound"}
    first = await client.post(f"{API}/teams", json=TEAM, headers=admin)
    assert first.status_code == 201
    for other in (auth.headers("SALES_ADMIN", "SUPPORT_AGENT", sub=sub), auth.headers("SUPPORT_AGENT", sub=sub),
                  auth.headers("SALES_ADMIN", sub=sub, teams=[uuid.uuid4()])):
        response = await client.post(f"{API}/teams", json=TEAM, headers={**other, "Idempotency-Key": "bound"})
        assert_problem(response, 422, "idempotency_key_reused")
    again = await client.post(f"{API}/teams", json=TEAM, headers=admin)
    assert again.status_code == 201 and again.content == first.content
    assert await count(engine, teams) == 1


async def test_stored_response_is_encrypted(client, auth, engine):
    """issue 9 item 6: idempotency records keep no PII in plaintext (the response of POST /rms holds a phone
    and an email); the replay is still the exact first response."""
    headers = {**auth.admin, "Idempotency-Key": "rm-1"}
    team = await make_team(client, auth.admin)
    body = {"id": str(uuid.uuid4()), "name": "Asha Rao", "email": "asha.rao@mysqrft.com", "phone": "+91-9822222222",
            "team_id": team["id"], "city": "Bangalore", "zone": "South", "localities": ["HSR Layout"],
            "property_types": ["RESIDENTIAL"], "segments": ["TENANT"], "capacity": 10, "base_salary": "40000.00",
            "performance_score": 70}
    first = await client.post(f"{API}/rms", json=body, headers=headers)
    assert first.status_code == 201 and "9822222222" in first.text
    [record] = await fetch(engine, idempotency_keys)
    assert "9822222222" not in record.response_body and "asha.rao" not in record.response_body
    assert "Asha" not in record.response_body
    retry = await client.post(f"{API}/rms", json=body, headers=headers)
    assert retry.content == first.content


async def test_expired_key_is_a_new_key_and_the_prune_job_deletes_expired_records(client, auth, engine):
    """issue 9 item 6: records expire after SALES_IDEMPOTENCY_TTL_HOURS (24 h by default)."""
    await freeze_clock(client, auth.admin)
    headers = {**auth.headers("SALES_ADMIN", sub=uuid.uuid4()), "Idempotency-Key": "daily"}
    first = await client.post(f"{API}/teams", json=TEAM, headers=headers)
    await _advance(client, auth, hours=23)
    assert (await client.post(f"{API}/teams", json=TEAM, headers=headers)).content == first.content
    await _advance(client, auth, hours=2)
    second = await client.post(f"{API}/teams", json=TEAM, headers=headers)
    assert second.status_code == 201 and second.json()["id"] != first.json()["id"]
    assert await count(engine, teams) == 2 and await count(engine, idempotency_keys) == 1

    await _advance(client, auth, hours=23)
    pruned = await client.post(f"{API}/admin/jobs/idempotency-prune/run", headers=auth.admin)
    assert pruned.json() == {"job": "idempotency-prune", "processed": 0}
    await _advance(client, auth, hours=2)
    pruned = await client.post(f"{API}/admin/jobs/idempotency-prune/run", headers=auth.admin)
    assert pruned.json() == {"job": "idempotency-prune", "processed": 1}
    assert await count(engine, idempotency_keys) == 0


async def _advance(client, auth, *, hours: int) -> None:  # type: ignore[no-untyped-def]
    response = await client.put(f"{API}/admin/clock", json={"advance_seconds": hours * 3600}, headers=auth.admin)
    assert response.status_code == 200, response.text


@pytest.fixture
def gated_job(monkeypatch):  # type: ignore[no-untyped-def]
    """A job that writes, then waits until the test opens its gate; counts its runs."""
    gate, runs = asyncio.Event(), []

    async def gated(conn, now):  # type: ignore[no-untyped-def]
        runs.append(now)
        await audit.record(conn, None, action="test.gated", entity_type="test", entity_id="1", at=now)
        await gate.wait()
        return {"processed": len(runs)}

    monkeypatch.setitem(JOBS, "test-gated", Job("test-gated", gated, 60))
    return gate, runs


async def test_duplicate_arriving_while_the_first_runs_waits_or_is_409_never_runs_twice(client, auth, engine,
                                                                                         gated_job):
    """issue 9 item 2: a concurrent duplicate is answered 409 idempotency_in_progress (PostgreSQL) or waits
    for the first and gets its response (SQLite, where the first holds the write lock); it never runs."""
    gate, runs = gated_job
    headers = {**auth.admin, "Idempotency-Key": "slow"}
    url = f"{API}/admin/jobs/test-gated/run"
    first = asyncio.create_task(client.post(url, headers=headers))
    while not runs:
        await asyncio.sleep(0.01)
    duplicate = asyncio.create_task(client.post(url, headers=headers))
    await asyncio.sleep(0.2)
    gate.set()
    first_response, duplicate_response = await first, await duplicate
    assert first_response.status_code == 200
    if duplicate_response.status_code == 409:
        assert_problem(duplicate_response, 409, "idempotency_in_progress")
        assert duplicate_response.headers["retry-after"] == "1"
    else:
        assert duplicate_response.content == first_response.content
    assert len(runs) == 1 and len(await audit_rows(engine, action="test.gated")) == 1
    retry = await client.post(url, headers=headers)
    assert retry.status_code == 200 and retry.content == first_response.content and len(runs) == 1


async def test_request_failing_unexpectedly_ends_its_transaction_and_frees_its_key(client, auth, engine,
                                                                                  monkeypatch):
    """issue 9 item 2: every exception path ends the unit of work and gives the key up; on SQLite the write
    lock is free again (a later write succeeds)."""
    async def broken(conn, now):  # type: ignore[no-untyped-def]
        await audit.record(conn, None, action="test.broken", entity_type="test", entity_id="1", at=now)
        raise RuntimeError("bug")

    monkeypatch.setitem(JOBS, "test-broken", Job("test-broken", broken, 60))
    headers = {**auth.admin, "Idempotency-Key": "broken"}
    response = await client.post(f"{API}/admin/jobs/test-broken/run", headers=headers)
    assert_problem(response, 500, "internal_error")
    assert await count(engine, idempotency_keys) == 0 and await audit_rows(engine, action="test.broken") == []
    assert engine.pool.checkedout() == 0
    assert (await client.post(f"{API}/teams", json=TEAM, headers=headers)).status_code == 201
