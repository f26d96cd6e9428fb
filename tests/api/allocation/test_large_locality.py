"""Issue 19: a locality of more than TRACE_ALL_UP_TO (16) RMs, here 70. On PostgreSQL the database judges and
ranks it and the decision trace lists the 10 best-ranked eligible RMs with a `pool` summary of all of them; SQLite
(the embedded default) traces everyone. The choice (LAR-004), the reason, and the fairness ledger are the same on
both."""
from __future__ import annotations

from tests.api.allocation.helpers import allocated, get_allocation, start
from tests.builders import API, make_rm, make_team

RMS, OFFLINE, CAPPED = 70, 4, 2


async def _large_locality(client, auth):  # type: ignore[no-untyped-def]
    await start(client, auth.admin)
    team = await make_team(client, auth.admin)
    made = []
    for i in range(RMS):
        extra = ({"availability": "OFFLINE"} if i < OFFLINE else
                 {"max_leads_per_day": 1} if i < OFFLINE + CAPPED else {})
        made.append(await make_rm(client, auth.admin, team_id=team["id"], name=f"RM {i:02d}", **extra))
    return team, made


async def test_a_large_locality_allocates_the_rm_furthest_behind_and_summarizes_the_pool(client, auth, backend):
    team, made = await _large_locality(client, auth)
    service = auth.headers("SERVICE")
    eligible = sorted(rm["id"] for rm in made[OFFLINE:])
    first = await allocated(client, service)
    # LAR-004: everyone is level (nothing received today, same capacity and load): the lowest id goes first.
    assert first["rm_id"] == eligible[0]
    assert first["allocation_reason"].endswith(f"among {RMS - OFFLINE} eligible")
    assert first["decided_by"] == "ROUND_ROBIN"
    decision = first["decision"]
    if backend == "postgres":
        assert [c["rm_id"] for c in decision["candidates"]] == sorted(eligible[:10])
        assert [c["rank"] for c in sorted(decision["candidates"], key=lambda c: c["rm_id"])] == list(range(1, 11))
        assert decision["pool"] == {"candidates": RMS, "eligible": RMS - OFFLINE, "listed": 10,
                                    "excluded": {"AVAILABILITY": OFFLINE},
                                    "weights": {rm_id: 1.2 for rm_id in eligible}}  # LAR-005: score 70
    else:
        assert "pool" not in decision and len(decision["candidates"]) == RMS
    assert (await get_allocation(client, auth.admin, first["id"]))["decision"] == decision

    # The capped RMs took their one lead of the day: the next two go to the next ids, then the caps show.
    for expected in eligible[1:3]:
        assert (await allocated(client, service))["rm_id"] == expected
    fourth = await allocated(client, service)
    capped = {rm["id"] for rm in made[OFFLINE:OFFLINE + CAPPED]}
    if backend == "postgres":
        assert fourth["decision"]["pool"]["excluded"] == {
            "AVAILABILITY": OFFLINE, **({"DAILY_CAP": len(capped & set(eligible[:3]))}
                                        if capped & set(eligible[:3]) else {})}

    ledger = await client.get(f"{API}/allocations/fairness", params={"team_id": team["id"]}, headers=auth.admin)
    assert ledger.status_code == 200, ledger.text
    rows = {r["rm_id"]: r for r in ledger.json()["rms"]}
    assert sum(r["leads_received"] for r in rows.values()) == 4
    assert all(rows[rm["id"]]["expected_share"] == 0 for rm in made[:OFFLINE])
    assert rows[eligible[-1]]["expected_share"] == 0.06  # 1/66 + 1/66 + 1/66 + 1/(66 - capped who took a lead)
