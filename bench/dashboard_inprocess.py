#!/usr/bin/env python3
"""Dashboard service functions in process (issue 18): the team and city dashboards and forecasts of the busiest
RM's team and city, measured live (cold: no snapshot) on a seeded database, each timed; the responses written as
JSON so that two versions of the code can be compared to the byte.

    PYTHONPATH=src SALES_DATABASE_URL=... python bench/dashboard_inprocess.py [--out responses.json]
        [--profile html-prefix] [--repeat 1] [--city Kolkata --team-id ...]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from datetime import datetime

from sqlalchemy import text

from sales.core.clock import business_now
from sales.core.db import create_engine, unit_of_work
from sales.dashboards import service, snapshots
from sales.settings import get_settings
from sales.targets.enums import LeaderboardScope, PeriodType


async def main(args: argparse.Namespace) -> None:
    engine = create_engine(get_settings())
    principal = snapshots.SYSTEM
    out: dict[str, object] = {}
    timings: dict[str, list[float]] = {}
    try:
        async with unit_of_work(engine) as conn:
            if args.team_id and args.city:
                team_id, city = args.team_id, args.city
            else:
                row = (await conn.execute(text(
                    "SELECT r.team_id, r.city, count(*) n FROM sales_pipelines p JOIN rms r ON r.id = p.rm_id "
                    "WHERE r.team_id IS NOT NULL GROUP BY p.rm_id, r.team_id, r.city ORDER BY n DESC LIMIT 1"))).one()
                team_id, city = str(row.team_id), row.city
            now = datetime.fromisoformat(args.now) if args.now else await business_now(conn, frozen_allowed=True)
        from uuid import UUID
        calls = {
            "team": lambda c: service.team_dashboard(c, principal, team_id=UUID(team_id),
                                                     period_type=PeriodType.MONTHLY, period_start=None, now=now),
            "city": lambda c: service.city_dashboard(c, principal, city=city, period_type=PeriodType.MONTHLY,
                                                     period_start=None, now=now),
            "forecast_team": lambda c: service.forecast(c, principal, scope=LeaderboardScope.team, scope_id=team_id,
                                                        period_type=PeriodType.MONTHLY, now=now),
            "forecast_city": lambda c: service.forecast(c, principal, scope=LeaderboardScope.city, scope_id=city,
                                                        period_type=PeriodType.MONTHLY, now=now),
            "forecast_city_q": lambda c: service.forecast(c, principal, scope=LeaderboardScope.city, scope_id=city,
                                                          period_type=PeriodType.QUARTERLY, now=now),
        }
        only = args.only.split(",") if args.only else list(calls)
        for _ in range(args.repeat):
            for name in only:
                profiler = None
                if args.profile:
                    from pyinstrument import Profiler
                    profiler = Profiler(async_mode="enabled")
                    profiler.start()
                started = time.perf_counter()
                async with unit_of_work(engine) as conn:
                    result = await calls[name](conn)
                timings.setdefault(name, []).append(round(time.perf_counter() - started, 3))
                if profiler:
                    profiler.stop()
                    with open(f"{args.profile}-{name}.txt", "w") as fh:
                        fh.write(profiler.output_text(unicode=False, color=False))
                out[name] = json.loads(result.model_dump_json())
    finally:
        await engine.dispose()
    print(json.dumps({"team_id": team_id, "city": city, "now": now.isoformat(), "seconds": timings,
                      "loadavg": os.getloadavg()}))
    if args.out:
        with open(args.out, "w") as fh:
            json.dump(out, fh, indent=1, sort_keys=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--out")
    parser.add_argument("--profile")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--only")
    parser.add_argument("--city")
    parser.add_argument("--team-id")
    parser.add_argument("--now", help="ISO instant with its offset (default: the business clock)")
    asyncio.run(main(parser.parse_args()))
