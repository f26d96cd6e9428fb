"""The forecast's learning table (`forecast_learning`, issue 18) kept by the closing move's hook equals a recomputation
from the pipelines' stage history after a random history made through the API, on SQLite and PostgreSQL. A closed
pipeline cannot be reopened (its stage change is refused, 409), so its rows never change once written."""
from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from sales.core.db import unit_of_work
from sales.dashboards import repository
from sales.dashboards.models import forecast_learning
from tests.builders import freeze_clock, make_pipeline, make_rm_with_team, move

OPEN_STAGES = ["CONTACTED", "REQUIREMENTS_CAPTURED", "SHORTLIST_SENT", "VISIT_SCHEDULED", "VISIT_COMPLETED",
               "NEGOTIATION"]


async def _stored(engine) -> set[tuple]:
    async with unit_of_work(engine) as conn:
        stored = (await conn.execute(select(forecast_learning))).all()
        recomputed = (await conn.execute(repository.learning_rows())).all()
    assert {tuple(r) for r in stored} == {tuple(r) for r in recomputed}
    return {tuple(r) for r in stored}


async def test_maintained_learning_equals_recomputation_from_history(client, auth, engine):
    draw = random.Random(1818)
    _, bangalore = await make_rm_with_team(client, auth.admin)
    _, pune = await make_rm_with_team(client, auth.admin, city="Pune", name="Ravi Kumar")
    clock = datetime(2025, 9, 1, 5, 0, tzinfo=UTC)
    await freeze_clock(client, auth.admin, at=clock.isoformat())
    pipelines = []
    for i in range(12):
        rm = bangalore if i % 3 else pune
        pipelines.append((await make_pipeline(client, auth.rm(rm["id"]), rm_id=rm["id"]), rm))
    closed = []
    for pipeline, rm in pipelines:
        as_rm = auth.rm(rm["id"])
        for stage in sorted(draw.sample(OPEN_STAGES, draw.randint(0, 3)), key=OPEN_STAGES.index):
            clock += timedelta(days=draw.randint(0, 5), hours=draw.randint(1, 23))
            await freeze_clock(client, auth.admin, at=clock.isoformat())
            assert (await move(client, as_rm, pipeline["id"], stage)).status_code == 200
        if draw.random() < 0.75:
            clock += timedelta(days=draw.randint(1, 20), minutes=draw.randint(1, 600))
            await freeze_clock(client, auth.admin, at=clock.isoformat())
            close = ({"deal_value": "30000.00"} if draw.random() < 0.5 else {"loss_reason": "chose another agent"})
            stage = "CLOSED_WON" if "deal_value" in close else "CLOSED_LOST"
            assert (await move(client, as_rm, pipeline["id"], stage, **close)).status_code == 200
            closed.append((pipeline, rm))
    rows = await _stored(engine)
    assert {r[0] for r in rows} == {uuid.UUID(p["id"]) for p, _ in closed}  # closed ones only, open ones not yet
    assert {r[0] for r in rows if r[1] == "NEW"} == {r[0] for r in rows}  # each counted from its creation
    # Reopening does not exist: a closed pipeline's stage change is refused and its learning rows stay as they were.
    pipeline, rm = closed[0]
    clock += timedelta(days=1)
    await freeze_clock(client, auth.admin, at=clock.isoformat())
    refused = await move(client, auth.rm(rm["id"]), pipeline["id"], "NEGOTIATION", reason="customer came back")
    assert refused.status_code == 409, refused.text
    assert await _stored(engine) == rows
