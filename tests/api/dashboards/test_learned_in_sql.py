"""The forecast's learning counted by the database (`repository.learned`, one GROUP BY city and stage) equals the
reference `rules.learn` on a random history, on SQLite and PostgreSQL (issue 18)."""
from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

from sales.core.db import unit_of_work
from sales.dashboards import repository, rules
from tests.api.dashboards.helpers import journey
from tests.api.targets.helpers import at, start, team_of

STAGES = ["CONTACTED", "SHORTLIST_SENT", "VISIT_SCHEDULED", "NEGOTIATION"]


async def test_database_counts_equal_the_reference_learner(client, auth, engine):
    await start(client, auth)
    _, [bangalore] = await team_of(client, auth.admin, "Priya Patel")
    _, [pune] = await team_of(client, auth.admin, "Ravi Kumar", city="Pune")
    draw = random.Random(18)
    history = []
    for i in range(40):
        rm, city = (bangalore, "Bangalore") if i % 3 else (pune, "Pune")
        created = at("2025-06-01T05:00:00Z") + timedelta(days=draw.randint(0, 150), minutes=draw.randint(0, 1440))
        moves, when = [], created
        for stage in draw.sample(STAGES, draw.randint(1, 3)):
            when += timedelta(days=draw.randint(0, 9), hours=draw.randint(0, 23))
            moves.append((stage, when))
        if draw.random() < 0.8:  # most close
            when += timedelta(days=draw.randint(1, 30))
            moves.append(("CLOSED_WON" if draw.random() < 0.5 else "CLOSED_LOST", when))
        await journey(engine, rm_id=rm["id"], created_at=created.isoformat(), deal_value="1000.00",
                      moves=[(s, t.isoformat()) for s, t in moves])
        history.append(rules.Journey(city, Decimal("1000.00"), created, tuple(moves)))
    cuts = [(at("2025-09-01T00:00:00Z"), Decimal(30)), (at("2025-11-15T18:30:00Z"), Decimal("12.5")),
            (at("2026-01-20T10:00:00Z"), Decimal(400))]
    async with unit_of_work(engine) as conn:
        counted = await repository.learned(conn, [(before, days * 86400) for before, days in cuts])
    for (before, days), rows in zip(cuts, counted, strict=True):
        reference = rules.learn(history, before=before)
        model = rules.counted_model(rows, days)
        expected = {key: (c.reached, c.won, sum(1 for d in c.days_to_win if d <= days))
                    for key, c in reference.cells.items()}
        got = {key: (c.reached, c.won, c.won_in_horizon) for key, c in model.cells.items()}
        assert got == expected, before
        assert any(c.reached for c in model.cells.values())
