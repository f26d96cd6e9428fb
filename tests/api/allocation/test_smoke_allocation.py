from tests.allocation_builders import allocate, advance, city_with_rms, run_job, set_clock
from tests.builders import API


async def test_allocation_flow(client, auth):
    await set_clock(client, auth.admin, "2026-01-17T10:30:00Z")
    team, rms = await city_with_rms(client, auth.admin, count=2)
    r = await allocate(client, auth.headers("SERVICE"))
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "PENDING" and body["allocation_type"] == "AUTO"
    assert body["sla_deadline"] == "2026-01-17T12:30:00Z"
    rm_id = body["rm_id"]
    q = await client.get(f"{API}/allocations/rm/{rm_id}/queue", headers=auth.rm(rm_id))
    assert q.status_code == 200, q.text
    assert q.json()["items"][0]["time_left_seconds"] == 7200
    w = await client.get(f"{API}/allocations/workload", headers=auth.supervisor(team["id"]))
    assert w.status_code == 200, w.text
    await advance(client, auth.admin, 7201)
    sweep = await run_job(client, auth.admin, "sla-sweep")
    assert sweep["processed"] == 1 and sweep["reallocated"] == 1, sweep
    old = await client.get(f"{API}/allocations/{body['id']}", headers=auth.admin)
    assert old.json()["status"] == "EXPIRED"
    listing = await client.get(f"{API}/allocations", headers=auth.admin)
    live = [a for a in listing.json()["items"] if a["status"] == "PENDING"]
    assert live[0]["is_reassignment"] and live[0]["previous_rm_id"] == rm_id
    assert live[0]["reassignment_reason"] == "SLA_BREACH"
    rej = await client.patch(f"{API}/allocations/{live[0]['id']}/reject", json={"reason": "busy"},
                             headers=auth.rm(live[0]["rm_id"]))
    assert rej.status_code == 200, rej.text
    assert rej.json()["queued"]["status"] == "QUEUED"
    sim = await client.post(f"{API}/allocations/simulate", json={"leads": [
        {"lead_id": "550e8400-e29b-41d4-a716-446655440000", "city": "Bangalore", "locality": "Koramangala",
         "property_type": "RESIDENTIAL", "segment": "TENANT", "source": "WEBSITE"}]}, headers=auth.admin)
    assert sim.status_code == 200, sim.text
    rules = await client.put(f"{API}/allocations/rules", json={"city": "Bangalore", "rules": {"sla_minutes": 60}},
                             headers=auth.admin)
    assert rules.status_code == 200, rules.text
    assert rules.json()["version"] == 1
