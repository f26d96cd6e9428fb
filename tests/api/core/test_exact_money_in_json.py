"""Money stays exact inside JSON columns too: event envelopes and audit snapshots keep 25000.00."""
from __future__ import annotations

import re

from sqlalchemy import text

from tests.builders import API, make_pipeline, make_rm, make_team


async def test_event_and_audit_keep_two_decimals(client, auth, engine):
    team = await make_team(client, auth.admin)
    rm = await make_rm(client, auth.admin, team_id=team["id"])
    await make_pipeline(client, auth.admin, rm_id=rm["id"], deal_value="25000.10")
    async with engine.connect() as conn:
        cast = "::text" if conn.dialect.name == "postgresql" else ""
        envelope = (await conn.execute(text(
            f"SELECT envelope{cast} FROM outbox_events WHERE type = 'sales.pipeline.created'"))).scalar()
        after = (await conn.execute(text(
            f"SELECT after{cast} FROM audit_log WHERE action = 'pipeline.created'"))).scalar()
    assert re.search(r'"deal_value":\s*25000\.10\b', envelope), envelope
    assert re.search(r'"deal_value":\s*25000\.10\b', after), after

    feed = await client.get(f"{API}/events/feed", headers=auth.headers("SERVICE"))
    assert feed.status_code == 200, feed.text
    assert '"deal_value":25000.10' in feed.text
