"""Issue 17 item 3 (PRD §11.3, §9.3): the `rebalance` job moves PENDING leads from the most to the least loaded
comparable RMs of a team until the spread is under the threshold; never a lead twice in a day, never one with
less than 30 minutes of SLA left; each move audited and emitted as a reassignment with reason REBALANCED."""
from __future__ import annotations

from collections import Counter

from tests.allocation_builders import advance, run_job
from tests.api.allocation.helpers import allocated, event_data, get_allocation, live_of_lead, start
from tests.api.allocation.test_rules_simulate import _put
from tests.builders import API, make_rm, make_team
from tests.checks import audit_rows
from tests.events_schema import assert_outbox_valid


async def _availability(client, auth, rm, value):  # type: ignore[no-untyped-def]
    response = await client.patch(f"{API}/rms/{rm['id']}/availability", json={"availability": value},
                                  headers=auth.admin)
    assert response.status_code == 200, response.text


async def _loaded(client, auth, leads=6):  # type: ignore[no-untyped-def]
    """A holds `leads` PENDING leads received while B was offline; B is back with none."""
    await start(client, auth.admin)
    team = await make_team(client, auth.admin)
    a = await make_rm(client, auth.admin, team_id=team["id"], name="A")
    b = await make_rm(client, auth.admin, team_id=team["id"], name="B")
    await _availability(client, auth, b, "OFFLINE")
    given = [await allocated(client, auth.headers("SERVICE")) for _ in range(leads)]
    await _availability(client, auth, b, "ONLINE")
    return a, b, given


async def _holders(client, auth, given):  # type: ignore[no-untyped-def]
    return [(await live_of_lead(client, auth.admin, g["lead_id"]))[0] for g in given]


async def test_rebalance_is_off_by_default(client, auth):
    a, b, given = await _loaded(client, auth)
    assert (await run_job(client, auth.admin, "rebalance"))["moved"] == 0
    assert {h["rm_id"] for h in await _holders(client, auth, given)} == {a["id"]}


async def test_rebalance_moves_until_under_the_threshold(client, auth, engine):
    a, b, given = await _loaded(client, auth)
    await _put(client, auth, "Bangalore", rebalance={"enabled": True})
    assert (await run_job(client, auth.admin, "rebalance"))["moved"] == 3  # 6/0 -> 5/1 -> 4/2 -> 3/3
    holders = await _holders(client, auth, given)
    assert Counter(h["rm_id"] for h in holders) == {a["id"]: 3, b["id"]: 3}
    moved = [h for h in holders if h["rm_id"] == b["id"]]
    for new in moved:
        assert (new["status"], new["is_reassignment"], new["reassignment_reason"]) == ("PENDING", True, "REBALANCED")
        assert new["previous_rm_id"] == a["id"] and new["allocation_type"] == "AUTO"
        assert new["sla_deadline"] == "2026-01-17T12:30:00Z"  # the lead keeps its SLA deadline
        old = next(g for g in given if g["lead_id"] == new["lead_id"])
        assert (await get_allocation(client, auth.admin, old["id"]))["status"] == "REASSIGNED"
    reassigned = [e for e in await event_data(engine, "sales.lead.reassigned") if e["reason"] == "REBALANCED"]
    assert sorted(e["lead_id"] for e in reassigned) == sorted(m["lead_id"] for m in moved)
    assert {(e["from_rm_id"], e["to_rm_id"]) for e in reassigned} == {(a["id"], b["id"])}
    assert len(await audit_rows(engine, action="allocation.rebalanced")) == 3
    workload = (await client.get(f"{API}/allocations/workload", headers=auth.admin)).json()
    assert {r["rm_id"]: r["active"] for r in workload["rms"]} == {a["id"]: 3, b["id"]: 3}
    async with engine.connect() as conn:
        assert await assert_outbox_valid(conn) > 0
    assert (await run_job(client, auth.admin, "rebalance"))["moved"] == 0  # balanced: nothing more


async def test_rebalance_leaves_a_spread_under_the_threshold(client, auth):
    a, b, given = await _loaded(client, auth, leads=6)
    await _put(client, auth, "Bangalore", rebalance={"enabled": True, "max_cv": 0.5})
    # 6/0 is 100%; 5/1 is 66.7%; 4/2 is 33.3% <= 50%: two moves.
    assert (await run_job(client, auth.admin, "rebalance"))["moved"] == 2


async def test_rebalance_never_moves_a_lead_twice_in_a_day(client, auth):
    a, b, given = await _loaded(client, auth, leads=4)
    await _put(client, auth, "Bangalore", rebalance={"enabled": True})
    assert (await run_job(client, auth.admin, "rebalance"))["moved"] == 2  # 4/0 -> 2/2
    holders = await _holders(client, auth, given)
    rebalanced = {h["lead_id"] for h in holders if h["rm_id"] == b["id"]}
    # A goes offline: A's two PENDING leads move to B (RM_UNAVAILABLE), B accepts those; A comes back with none.
    await _availability(client, auth, a, "OFFLINE")
    for h in await _holders(client, auth, given):
        if h["lead_id"] not in rebalanced:
            accepted = await client.patch(f"{API}/allocations/{h['id']}/accept", headers=auth.rm(b["id"]))
            assert accepted.status_code == 200, accepted.text
    await _availability(client, auth, a, "ONLINE")
    # 4/0 is over the threshold, but B's only PENDING leads were already rebalanced today.
    assert (await run_job(client, auth.admin, "rebalance"))["moved"] == 0
    assert {h["rm_id"] for h in await _holders(client, auth, given)} == {b["id"]}


async def test_rebalance_never_moves_a_lead_with_less_than_30_minutes_of_sla_left(client, auth):
    await start(client, auth.admin)  # 10:30: SLA 120 minutes
    team = await make_team(client, auth.admin)
    await make_rm(client, auth.admin, team_id=team["id"], name="A")
    b = await make_rm(client, auth.admin, team_id=team["id"], name="B", availability="OFFLINE")
    service = auth.headers("SERVICE")
    early = await allocated(client, service)                     # deadline 12:30
    await advance(client, auth.admin, 3600)
    late = await allocated(client, service)                      # deadline 13:30
    await _availability(client, auth, b, "ONLINE")
    await _put(client, auth, "Bangalore", rebalance={"enabled": True})
    await advance(client, auth.admin, 36 * 60)                   # 12:06: 24 minutes left on the early lead
    assert (await run_job(client, auth.admin, "rebalance"))["moved"] == 1
    [early_now] = await live_of_lead(client, auth.admin, early["lead_id"])
    [late_now] = await live_of_lead(client, auth.admin, late["lead_id"])
    assert (early_now["id"], late_now["rm_id"]) == (early["id"], b["id"])
