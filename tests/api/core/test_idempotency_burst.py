"""issue 9 item 2: one burst of concurrent duplicates and bad requests must not take the service down.

Real parallel requests: every request runs in its own task over the ASGI transport, each with its own
database connection (asyncpg on PostgreSQL, an aiosqlite thread on SQLite).
"""
from __future__ import annotations

import asyncio

from sqlalchemy import text

from tests.builders import API, make_rm_with_team
from tests.checks import assert_problem, audit_rows


async def test_burst_of_one_key_and_bad_requests_leaves_every_connection_free(client, auth, engine, backend):
    """100 identical PATCH /rms/{id}/availability with one Idempotency-Key, as that RM, alongside over-long
    keys and malformed bodies: the change happens once, duplicates get its response or 409
    idempotency_in_progress, nothing answers 5xx, and afterwards reads and writes work, the pool is whole and
    PostgreSQL shows no session idle in transaction (before: 500s, 503s, then every request 503)."""
    _, rm = await make_rm_with_team(client, auth.admin)
    url = f"{API}/rms/{rm['id']}/availability"
    as_rm = auth.rm(rm["id"])
    same = [client.patch(url, json={"availability": "OFFLINE"}, headers={**as_rm, "Idempotency-Key": "burst"})
            for _ in range(100)]
    too_long = [client.patch(url, json={"availability": "OFFLINE"}, headers={**as_rm, "Idempotency-Key": "k" * 300})
                for _ in range(10)]
    malformed = [client.patch(url, content=b'{"availability":', headers={
        **as_rm, "Idempotency-Key": f"bad-{i}", "Content-Type": "application/json"}) for i in range(10)]

    responses = await asyncio.gather(*same, *too_long, *malformed)

    duplicates, over_long, broken = responses[:100], responses[100:110], responses[110:]
    assert [r.text for r in responses if r.status_code >= 500] == []
    done = [r for r in duplicates if r.status_code == 200]
    assert done and all(r.content == done[0].content for r in done)
    assert done[0].json()["availability"] == "OFFLINE"
    for response in duplicates:
        if response.status_code != 200:
            assert_problem(response, 409, "idempotency_in_progress")
    for response in over_long:
        assert_problem(response, 422, "validation_error", loc=["header", "Idempotency-Key"])
    for response in broken:
        assert_problem(response, 400, "malformed_json")
    assert len(await audit_rows(engine, action="rm.availability_changed")) == 1

    assert (await client.get(f"{API}/rms/{rm['id']}", headers=as_rm)).json()["availability"] == "OFFLINE"
    later = await client.patch(url, json={"availability": "ONLINE"}, headers=as_rm)
    assert later.status_code == 200, later.text
    if backend == "postgres":
        async with engine.connect() as conn:
            stuck = (await conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND state LIKE 'idle in transaction%'"))).scalar()
        assert stuck == 0
    assert engine.pool.checkedout() == 0
