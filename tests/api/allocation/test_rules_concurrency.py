"""issue 9 item 4 (the class): concurrent rule changes of one city, on both databases."""
from __future__ import annotations

import asyncio

from tests.builders import API

CHANGES = [{"sla_minutes": 90}, {"max_sla_breaches": 3}, {"overflow_to_backup": False}, {"queue_depth_alert": 7},
           {"capacity_weighted_round_robin": False}, {"timezone": "Asia/Kolkata"}]


async def test_parallel_partial_rule_changes_each_get_a_version_and_all_apply(client, auth, engine):
    """Six partial changes of one city's rules at once: each is saved as its own version (1..6), each merged
    over the one before, so the current rules hold all six. (Before, on both databases: changes computed the same
    next version, a unique violation answered 500, and merges lost each other's keys.)"""
    responses = await asyncio.gather(*[client.put(f"{API}/allocations/rules", json={"city": "Pune", "rules": c},
                                                  headers=auth.admin) for c in CHANGES])

    assert [r.status_code for r in responses] == [200] * len(CHANGES), [r.text for r in responses]
    assert sorted(r.json()["version"] for r in responses) == list(range(1, len(CHANGES) + 1))
    current = (await client.get(f"{API}/allocations/rules", params={"city": "Pune"}, headers=auth.admin)).json()
    assert current["version"] == len(CHANGES)
    for change in CHANGES:
        assert change.items() <= current["rules"].items()
