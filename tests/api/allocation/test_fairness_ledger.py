"""Issue 17 items 2 and 4: coming back re-enters round robin without a burst (LAR-004), and the fairness ledger
GET /allocations/fairness on a hand-computed period."""
from __future__ import annotations

from collections import Counter

from tests.allocation_builders import advance
from tests.api.allocation.helpers import allocated, start
from tests.builders import API, make_rm, make_team
from tests.checks import assert_problem


async def _availability(client, auth, rm, value):  # type: ignore[no-untyped-def]
    response = await client.patch(f"{API}/rms/{rm['id']}/availability", json={"availability": value},
                                  headers=auth.admin)
    assert response.status_code == 200, response.text


async def _accept(client, auth, allocation):  # type: ignore[no-untyped-def]
    response = await client.patch(f"{API}/allocations/{allocation['id']}/accept",
                                  headers=auth.rm(allocation["rm_id"]))
    assert response.status_code == 200, response.text


async def test_lar_004_coming_back_does_not_bring_a_burst(client, auth):
    await start(client, auth.admin)
    team = await make_team(client, auth.admin)
    a, b, c = [await make_rm(client, auth.admin, team_id=team["id"], name=n) for n in ("A", "B", "C")]
    service = auth.headers("SERVICE")
    await _availability(client, auth, c, "OFFLINE")
    away = Counter([(await allocated(client, service))["rm_id"] for _ in range(20)])
    assert away == {a["id"]: 10, b["id"]: 10}
    await advance(client, auth.admin, 3600)
    await _availability(client, auth, c, "ONLINE")

    after = [await allocated(client, service) for _ in range(6)]
    assert Counter(x["rm_id"] for x in after) == {a["id"]: 2, b["id"]: 2, c["id"]: 2}  # not 6 in a row for C
    trace = {e["rm_id"]: e for e in after[0]["decision"]["candidates"]}
    assert trace[c["id"]]["fairness_offset"] == 10 and trace[c["id"]]["received_today"] == 0
    # The offset is for the order only: the caps and the workload count the leads C really received.
    workload = (await client.get(f"{API}/allocations/workload", headers=auth.admin)).json()
    assert {r["rm_id"]: r["leads_received_today"] for r in workload["rms"]}[c["id"]] == 2


async def test_lar_004_an_rm_back_the_next_day_starts_level_anyway(client, auth):
    await start(client, auth.admin)
    team = await make_team(client, auth.admin)
    a, c = [await make_rm(client, auth.admin, team_id=team["id"], name=n) for n in ("A", "C")]
    service = auth.headers("SERVICE")
    await _availability(client, auth, c, "OFFLINE")
    for _ in range(4):
        await allocated(client, service)
    await advance(client, auth.admin, 24 * 3600)
    await _availability(client, auth, c, "ONLINE")
    after = Counter([(await allocated(client, service))["rm_id"] for _ in range(4)])
    assert after == {a["id"]: 2, c["id"]: 2}


async def _ledger_setup(client, auth):  # type: ignore[no-untyped-def]
    """A (capacity 25, weight 1.2) and B (capacity 50, weight 2.4): 4 leads with both online go B, A, B, B;
    B goes offline (after accepting, so nothing moves) and 2 leads go to A; a supervisor then places 1 lead
    with B by hand. Hand-computed: A expected 4 x 1/3 + 2 = 3.33, received 3; B expected 4 x 2/3 + 1 = 3.67,
    received 4 (1 manual); CV of (3, 4) = 0.5 / 3.5 = 0.1429."""
    await start(client, auth.admin)
    team = await make_team(client, auth.admin)
    a = await make_rm(client, auth.admin, team_id=team["id"], name="A", capacity=25)
    b = await make_rm(client, auth.admin, team_id=team["id"], name="B", capacity=50)
    service = auth.headers("SERVICE")
    first = [await allocated(client, service) for _ in range(4)]
    assert [x["rm_id"] for x in first] == [b["id"], a["id"], b["id"], b["id"]]
    for allocation in first:
        await _accept(client, auth, allocation)
    await _availability(client, auth, b, "OFFLINE")
    assert {(await allocated(client, service))["rm_id"] for _ in range(2)} == {a["id"]}
    manual = await allocated(client, auth.admin, rm_id=b["id"], reason="customer asked for B")
    assert manual["allocation_type"] == "MANUAL"
    return team, a, b


async def test_fairness_ledger_hand_computed_period(client, auth):
    team, a, b = await _ledger_setup(client, auth)
    response = await client.get(f"{API}/allocations/fairness", params={
        "team_id": team["id"], "from": "2026-01-17T10:00:00Z", "to": "2026-01-17T11:00:00Z"},
        headers=auth.supervisor(team["id"]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["from"], body["to"], body["team_id"]) == ("2026-01-17T10:00:00Z", "2026-01-17T11:00:00Z", team["id"])
    rows = {r["rm_id"]: r for r in body["rms"]}
    assert (rows[a["id"]]["leads_received"], rows[a["id"]]["expected_share"], rows[a["id"]]["deficit"]) == (
        3, 3.33, 0.33)
    assert (rows[b["id"]]["leads_received"], rows[b["id"]]["manual_received"], rows[b["id"]]["expected_share"],
            rows[b["id"]]["deficit"]) == (4, 1, 3.67, -0.33)
    assert body["coefficient_of_variation"] == 0.1429
    assert [(g["rms"], g["leads_received"], g["coefficient_of_variation"]) for g in body["groups"]] == [(2, 7, 0.1429)]

    by_day = await client.get(f"{API}/allocations/fairness", params={"team_id": team["id"], "from": "2026-01-17",
                                                                     "to": "2026-01-17"}, headers=auth.admin)
    assert by_day.status_code == 200, by_day.text
    assert (by_day.json()["from"], by_day.json()["to"]) == ("2026-01-17T00:00:00Z", "2026-01-17T23:59:59.999999Z")
    assert by_day.json()["rms"] == body["rms"]

    later = await client.get(f"{API}/allocations/fairness", params={"from": "2026-01-17T10:31:00Z",
                                                                    "to": "2026-01-17T12:00:00Z"}, headers=auth.admin)
    assert later.status_code == 200, later.text
    assert {(r["leads_received"], r["expected_share"]) for r in later.json()["rms"]} == {(0, 0.0)}


async def test_fairness_ledger_defaults_to_today_so_far(client, auth):
    team, a, b = await _ledger_setup(client, auth)
    body = (await client.get(f"{API}/allocations/fairness", headers=auth.admin)).json()
    assert (body["from"], body["to"]) == ("2026-01-17T00:00:00Z", "2026-01-17T10:30:00Z")
    assert sorted(r["leads_received"] for r in body["rms"]) == [3, 4]


async def test_fairness_ledger_scoping(client, auth):
    team, a, b = await _ledger_setup(client, auth)
    other = await make_team(client, auth.admin, city="Mumbai")
    outsider = auth.supervisor(other["id"])
    assert_problem(await client.get(f"{API}/allocations/fairness", params={"team_id": team["id"]},
                                    headers=outsider), 404, "team_not_found")
    mine = (await client.get(f"{API}/allocations/fairness", headers=outsider)).json()
    assert mine["rms"] == [] and mine["coefficient_of_variation"] is None
    for role in ("RM", "FINANCE_ADMIN", "SUPPORT_AGENT", "SERVICE"):
        assert (await client.get(f"{API}/allocations/fairness", headers=auth.headers(role))).status_code == 403
    assert (await client.get(f"{API}/allocations/fairness")).status_code == 401
    assert (await client.get(f"{API}/allocations/fairness", headers=auth.headers("PRODUCT_MANAGER"))).status_code == 200


async def test_fairness_ledger_bad_input_422(client, auth):
    await start(client, auth.admin)
    for params, field in (({"from": "2026-01-17T11:00:00Z", "to": "2026-01-17T10:00:00Z"}, "from"),
                          ({"from": "yesterday"}, "from"), ({"to": "2026-01-17T10:00:00"}, "to"),
                          ({"team_id": "nope"}, "team_id")):
        response = await client.get(f"{API}/allocations/fairness", params=params, headers=auth.admin)
        assert response.status_code == 422, (params, response.text)
        assert field in response.text
