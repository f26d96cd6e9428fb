"""Console render time at PRD scale (issue 5, PRD §8.1 "dashboard < 2 s, full page render").

Runs the real app (uvicorn) on the benchmark database (`sales bench seed --scale prd`: 1,000 RMs, 250,000
pipelines), signs in with headless Chromium and reads the browser's Navigation Timing for the RM desk (the RM
with the most pipelines) and the supervisor room (that RM's team), several loads each.

    python bench/console_render.py [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/sales_bench]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys

from sqlalchemy import text

from _browser import ROOT, app_server, chromium, sign_in

sys.path.insert(0, str(ROOT / "src"))

from sales.console import repository as console_repository, service as console_service  # noqa: E402
from sales.core.clock import business_now  # noqa: E402
from sales.core.db import create_engine, unit_of_work  # noqa: E402
from sales.settings import Settings  # noqa: E402

PASSWORD = "bench-console-password"
TIMING = """() => { const n = performance.getEntriesByType('navigation')[0];
  return {ttfb: n.responseStart, response_end: n.responseEnd, dom_content_loaded: n.domContentLoadedEventEnd,
          load: n.loadEventEnd, bytes: n.transferSize}; }"""


async def _accounts(url: str) -> dict[str, str]:
    """Console users for the busiest RM and their team's supervisor (created once, reused)."""
    engine = create_engine(Settings(env="test", database_url=url))
    try:
        async with unit_of_work(engine) as conn:
            row = (await conn.execute(text(
                "SELECT p.rm_id, r.team_id, count(*) n FROM sales_pipelines p JOIN rms r ON r.id = p.rm_id "
                "WHERE r.team_id IS NOT NULL GROUP BY p.rm_id, r.team_id ORDER BY n DESC LIMIT 1"))).one()
            now = await business_now(conn, frozen_allowed=True)
            accounts = {"rm": "bench.rm@mysqrft.com", "supervisor": "bench.supervisor@mysqrft.com"}
            for key, email in accounts.items():
                if await console_repository.get_user_by_email(conn, email) is None:
                    await console_service.create_user(
                        conn, None, email=email, password=PASSWORD, role=key.upper(), name=f"Bench {key}",
                        rm_id=row.rm_id if key == "rm" else None, team_ids=[row.team_id] if key != "rm" else [],
                        now=now)
            return {**accounts, "rm_id": str(row.rm_id), "pipelines": str(row.n), "team_id": str(row.team_id)}
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=os.environ.get(
        "SALES_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/sales_bench"))
    parser.add_argument("--loads", type=int, default=7)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    accounts = asyncio.run(_accounts(args.database_url))
    results: dict[str, object] = {"database": args.database_url.rsplit("/", 1)[-1], "rm_pipelines": accounts["pipelines"]}
    with app_server(args.database_url) as base, chromium(args.chromium) as browser:
        for who, path in (("rm", "/console"), ("supervisor", f"/console/team?team_id={accounts['team_id']}")):
            ctx, page = sign_in(browser, base, accounts[who], PASSWORD)
            loads = []
            for _ in range(args.loads):
                page.goto(f"{base}{path}", wait_until="load")
                loads.append(page.evaluate(TIMING))
            ctx.close()
            load_ms = sorted(x["load"] for x in loads)
            results[who] = {"path": path, "loads": len(loads),
                            "load_ms_median": round(statistics.median(load_ms), 1),
                            "load_ms_max": round(load_ms[-1], 1),
                            "ttfb_ms_median": round(statistics.median(x["ttfb"] for x in loads), 1),
                            "bytes": loads[-1]["bytes"]}
    print(json.dumps(results, indent=2))
    out = ROOT / "bench" / "results" / "console_render.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
