"""Idempotent retries (ARCHITECTURE.md §2.3): the same key answers the first response and writes nothing new."""
from __future__ import annotations

import uuid

from sales.core.tables import idempotency_keys
from sales.pipelines.models import sales_pipelines
from tests.builders import API, freeze_clock, make_rm_with_team
from tests.checks import assert_problem, count, row_counts


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
