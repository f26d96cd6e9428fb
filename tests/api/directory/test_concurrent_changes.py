"""issue 9 item 4 (the class): read-then-write paths of the directory under real concurrency, on both databases.

Each request runs in its own task over the ASGI transport with its own database connection.
"""
from __future__ import annotations

import asyncio
import uuid

from sales.directory.models import rm_leaves
from tests.builders import API, make_rm_with_team
from tests.checks import assert_problem, audit_rows, count


async def test_parallel_overlapping_leaves_record_one(client, auth, engine):
    """Ten requests for the same leave at once: one is recorded, nine overlap it (409). (Before:
    the overlap check read without a lock, so several overlapping leaves were recorded.)"""
    _, rm = await make_rm_with_team(client, auth.admin)
    leave = {"start_date": "2026-02-02", "end_date": "2026-02-04", "reason": "Family function"}

    responses = await asyncio.gather(*[client.post(f"{API}/rms/{rm['id']}/leaves", json=leave,
                                                   headers=auth.rm(rm["id"])) for _ in range(10)])

    assert sorted(r.status_code for r in responses) == [201] + [409] * 9, [r.text for r in responses]
    for refused in (r for r in responses if r.status_code == 409):
        assert_problem(refused, 409, "leave_overlaps")
    assert await count(engine, rm_leaves) == 1


async def test_parallel_availability_changes_leave_a_true_audit_trail(client, auth, engine):
    """Twelve availability changes at once: every audit entry's `before` is the `after` of the entry before
    it, and the last `after` is the RM's availability. (Before: `before` was read without a lock,
    so entries claimed transitions that never happened.)"""
    _, rm = await make_rm_with_team(client, auth.admin)
    url = f"{API}/rms/{rm['id']}/availability"
    changes = ["OFFLINE" if i % 2 else "ONLINE" for i in range(12)]

    responses = await asyncio.gather(*[client.patch(url, json={"availability": a}, headers=auth.rm(rm["id"]))
                                       for a in changes])

    assert [r.status_code for r in responses] == [200] * 12
    trail = await audit_rows(engine, action="rm.availability_changed")
    assert trail[0].before == {"availability": "ONLINE"}
    for earlier, later in zip(trail, trail[1:]):
        assert later.before == earlier.after
    final = (await client.get(f"{API}/rms/{rm['id']}", headers=auth.rm(rm["id"]))).json()["availability"]
    assert trail[-1].after == {"availability": final}


async def test_parallel_creations_of_one_rm_create_it_once(client, auth, engine):
    """Five POST /rms with the same id at once: one 201, four 409 rm_exists, never a 500 (before:
    the existence check passed for all, the unique index failed the others). Teams likewise."""
    team = {"id": str(uuid.uuid4()), "name": "Twin", "city": "Pune"}
    teams_made = await asyncio.gather(*[client.post(f"{API}/teams", json=team, headers=auth.admin)
                                        for _ in range(5)])
    assert sorted(r.status_code for r in teams_made) == [201] + [409] * 4, [r.text for r in teams_made]
    rm_id = str(uuid.uuid4())
    body = {"id": rm_id, "name": "Asha Rao", "email": "asha@mysqrft.com", "team_id": team["id"], "city": "Pune",
            "zone": "West", "localities": ["Baner"], "capacity": 10, "base_salary": "40000.00"}

    responses = await asyncio.gather(*[client.post(f"{API}/rms", json=body, headers=auth.admin) for _ in range(5)])

    assert sorted(r.status_code for r in responses) == [201] + [409] * 4, [r.text for r in responses]
    for refused in (r for r in responses if r.status_code == 409):
        assert_problem(refused, 409, "rm_exists")
    assert len(await audit_rows(engine, action="rm.created")) == 1
