#!/usr/bin/env python3
"""Issue 19: the client CPU of one statement through SQLAlchemy (`conn.execute`) and through `core.direct.Direct`
(asyncpg directly), on one connection inside one transaction, alternating in blocks. The statement is the pipeline
read GET /pipelines/{id} sends as an RM (one row, 24 columns, sealed notes opened), on a seeded database.

    SALES_DATABASE_URL=... .venv/bin/python bench/direct_statement.py [--calls 2000] [--rounds 5]

Prints process CPU per statement (user and system) for each way and round, then the medians and the load average.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics

import uvloop
from sqlalchemy import select

from sales.core.db import create_engine
from sales.core.direct import Direct
from sales.directory.scoping import OWN
from sales.pipelines import repository
from sales.pipelines.models import sales_pipelines
from sales.settings import get_settings


def _cpu() -> tuple[float, float]:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


async def main(calls: int, rounds: int) -> dict:
    engine = create_engine(get_settings())
    statement = repository._GET_READABLE[OWN, True]  # the RM's read, built once (PostgreSQL columns)
    direct = Direct(statement)
    async with engine.connect() as conn:
        sample = (await conn.execute(select(sales_pipelines.c.id, sales_pipelines.c.rm_id).limit(200))).all()
        params = [{"pipeline_id": row.id, "scope_sub": row.rm_id} for row in sample]
        assert (await conn.execute(statement, params[0])).first() == tuple(await direct.first(conn, params[0]))
        figures: dict[str, list[dict[str, float]]] = {"sqlalchemy": [], "direct": []}
        for _ in range(rounds):
            for way in figures:
                user0, system0 = _cpu()
                for i in range(calls):
                    if way == "direct":
                        await direct.first(conn, params[i % len(params)])
                    else:
                        (await conn.execute(statement, params[i % len(params)])).first()
                user1, system1 = _cpu()
                figures[way].append({"user_us": 1e6 * (user1 - user0) / calls,
                                     "system_us": 1e6 * (system1 - system0) / calls})
                print(json.dumps({"way": way, **{k: round(v, 1) for k, v in figures[way][-1].items()}}))
        await conn.rollback()
    await engine.dispose()
    return {way: {"cpu_us_median": round(statistics.median(f["user_us"] + f["system_us"] for f in rows), 1)}
            for way, rows in figures.items()} | {"load": [round(x, 2) for x in os.getloadavg()]}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(json.dumps(uvloop.run(main(args.calls, args.rounds))))
