"""The forecast's walk counted by the database (`repository.walk`) equals the reference walk over journeys
(`rules.open_groups`, `rules.won_value`), and the learning kept per past cut (`forecast_learning_counts`, migration
0032) is dropped by its triggers whenever a change can alter it, on SQLite and PostgreSQL (issue 18)."""
from __future__ import annotations

import random
import uuid
from collections import Counter
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import func, select, update

from sales.core.db import unit_of_work
from sales.dashboards import repository, rules
from sales.dashboards.models import forecast_learning_counts
from sales.directory.models import rms
from sales.targets import repository as targets_repository
from sales.targets import rules as target_rules
from sales.targets.enums import TargetType
from tests.api.dashboards.helpers import customer_pipeline, journey
from tests.api.targets.helpers import at, start, team_of

STAGES = ["CONTACTED", "SHORTLIST_SENT", "VISIT_SCHEDULED", "NEGOTIATION"]
VALUES = ["1000.00", "2500.50", "333.33", "1000.00", "0.01"]


async def _history(client, auth, engine, seed: int) -> tuple[dict, dict, list[rules.Journey]]:
    await start(client, auth)
    _, [bangalore] = await team_of(client, auth.admin, "Priya Patel")
    _, [pune] = await team_of(client, auth.admin, "Ravi Kumar", city="Pune")
    draw = random.Random(seed)
    history = []
    for i in range(40):
        rm, city = (bangalore, "Bangalore") if i % 3 else (pune, "Pune")
        created = at("2025-06-01T05:00:00Z") + timedelta(days=draw.randint(0, 150), minutes=draw.randint(0, 1440))
        value = draw.choice(VALUES)
        moves, when = [], created
        for stage in draw.sample(STAGES, draw.randint(1, 3)):
            when += timedelta(days=draw.randint(0, 9), hours=draw.randint(0, 23))  # 0: a move at creation
            moves.append((stage, when))
        if draw.random() < 0.6:
            when += timedelta(days=draw.randint(1, 30))
            moves.append(("CLOSED_WON" if draw.random() < 0.5 else "CLOSED_LOST", when))
        await journey(engine, rm_id=rm["id"], created_at=created.isoformat(), deal_value=value,
                      moves=[(s, t.isoformat()) for s, t in moves])
        history.append(rules.Journey(city, Decimal(value), created, tuple(moves)))
    # rows without their history (an open pipeline written at CONTACTED, no move): the history decides (NEW)
    for days in (10, 70):
        created = at("2025-06-01T05:00:00Z") + timedelta(days=days)
        await customer_pipeline(engine, rm_id=bangalore["id"], customer_id=uuid.uuid4(), created_at=created.isoformat())
        history.append(rules.Journey("Bangalore", Decimal(0), created, ()))
    return bangalore, pune, history


CUTS = [at("2025-06-01T00:00:00Z"), at("2025-07-15T18:30:00Z"), at("2025-09-01T00:00:00Z"),
        at("2025-10-20T10:00:00Z"), at("2026-03-01T00:00:00Z")]
WINDOWS = [(at("2025-06-01T00:00:00Z"), at("2025-08-01T00:00:00Z")), (at("2025-08-01T00:00:00Z"),
                                                                        at("2025-10-10T12:00:00Z")),
           (at("2025-07-01T00:00:00Z"), at("2026-03-01T00:00:00Z"))]


async def test_database_walk_equals_the_reference_walk(client, auth, engine):
    _, _, history = await _history(client, auth, engine, 18)
    async with unit_of_work(engine) as conn:
        for city in ("Bangalore", "Pune"):
            members = targets_repository.members(TargetType.CITY.value, target_rules.city_id(city), city)
            open_at, won = await repository.walk(conn, members, CUTS, WINDOWS)
            scoped = [j for j in history if j.city == city]
            for cut, groups in zip(CUTS, open_at, strict=True):
                assert Counter({g[:3]: g[3] for g in groups}) == Counter(
                    {g[:3]: g[3] for g in rules.open_groups(scoped, cut)}), (city, cut)
            for (first, last), values in zip(WINDOWS, won, strict=True):
                assert rules.won_grouped(values) == rules.won_value(scoped, first, last)
    assert any(open_at) and any(won)


async def test_grouped_forecast_equals_the_reference_to_the_cent(client, auth, engine):
    _, _, history = await _history(client, auth, engine, 7)
    cut, until = at("2025-09-01T00:00:00Z"), at("2025-10-01T00:00:00Z")
    model = rules.learn(history, before=cut)
    assert rules.forecast_grouped(rules.open_groups(history, cut), model, cut, until) == rules.forecast(
        history, model, cut, until)


async def _memo_rows(engine) -> int:
    async with unit_of_work(engine) as conn:
        return (await conn.execute(select(func.count()).select_from(forecast_learning_counts))).scalar_one()


async def test_learning_kept_per_past_cut_is_dropped_when_a_change_can_alter_it(client, auth, engine):
    bangalore, pune, _ = await _history(client, auth, engine, 18)
    now = at("2026-06-01T10:00:00Z")
    # made today, before `now`: counted with the rows closed since the day started
    await journey(engine, rm_id=bangalore["id"], created_at="2026-05-20T05:00:00Z", deal_value="10.00",
                  moves=[("CONTACTED", "2026-05-21T05:00:00Z"), ("CLOSED_WON", "2026-06-01T05:00:00Z")])
    cuts = [(at("2025-09-01T00:00:00Z"), Decimal(30 * 86400)), (at("2026-01-01T00:00:00Z"), Decimal(31 * 86400)),
            (now, Decimal("1036800.5")), (now, Decimal(31 * 86400)), (now, Decimal(0))]
    # the cuts at `now` use the per-day counts kept for 2026-06-01T00:00Z (12 days, 31 days and 0 days horizons:
    # the 12-day and 31-day boundaries fall inside the histogram's days)

    async def kept_and_fresh() -> tuple[list, list]:
        async with unit_of_work(engine) as conn:
            kept = await repository.learned(conn, cuts, now=now)
            fresh = await repository.learned(conn, cuts)
        return [sorted(c) for c in kept], [sorted(c) for c in fresh]

    kept, fresh = await kept_and_fresh()
    assert kept == fresh and await _memo_rows(engine) == 3  # two past cuts, the day's histogram
    assert (await kept_and_fresh())[0] == fresh  # read back from the kept counts
    # a pipeline closed (backdated) between the two cuts: the later cut's and the day's counts are dropped
    await journey(engine, rm_id=pune["id"], created_at="2025-10-01T05:00:00Z", deal_value="10.00",
                  moves=[("CONTACTED", "2025-10-02T05:00:00Z"), ("CLOSED_WON", "2025-10-05T05:00:00Z")])
    assert await _memo_rows(engine) == 1
    kept, changed = await kept_and_fresh()
    assert kept == changed and changed[0] == fresh[0] and changed[1] != fresh[1] and changed[2] != fresh[2]
    # an RM moved to another city: every kept cut is dropped
    async with unit_of_work(engine) as conn:
        await conn.execute(update(rms).where(rms.c.id == uuid.UUID(pune["id"])).values(city="Mumbai"))
    assert await _memo_rows(engine) == 0
    kept, moved = await kept_and_fresh()
    assert kept == moved and moved[0] != changed[0]
    # a learning row deleted (archived): the cuts after its close are dropped
    async with unit_of_work(engine) as conn:
        await conn.execute(repository.forecast_learning.delete().where(
            repository.forecast_learning.c.closed_at < at("2025-12-01T00:00:00Z")))
    assert await _memo_rows(engine) == 0
    kept, fresh = await kept_and_fresh()
    assert kept == fresh
