"""Issue 17 item 7: the team room highlights RMs and teams whose PENDING queue is over the alert threshold."""
from __future__ import annotations

from tests.allocation_builders import city_with_rms
from tests.api.allocation.helpers import allocated, start
from tests.api.console.test_console_auth import _sign_in, _user
from tests.builders import API


async def test_team_room_highlights_queues_over_the_threshold(client, auth, engine):
    await start(client, auth.admin)
    r = await client.put(f"{API}/allocations/rules", json={"city": "Bangalore", "rules": {
        "queue_depth_alert": 1, "team_queue_depth_alert": 2}}, headers=auth.admin)
    assert r.status_code == 200, r.text
    team, [rm] = await city_with_rms(client, auth.admin, count=1)
    await _sign_in(client, await _user(engine))
    quiet = await client.get("/console/team", params={"team_id": team["id"]})
    assert quiet.status_code == 200 and 'id="queue-alerts"' not in quiet.text
    for _ in range(3):
        await allocated(client, auth.headers("SERVICE"))
    page = await client.get("/console/team", params={"team_id": team["id"]})
    assert page.status_code == 200
    assert 'id="queue-alerts"' in page.text and 'class="row-warn"' in page.text
    assert f"the team {team['name']} has 3 leads waiting" in page.text and "RM 0 has 3 waiting" in page.text
