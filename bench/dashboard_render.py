"""Dashboard page render time (issue 18, PRD §8.1 "dashboard < 2 s, full page render").

Runs the real app (uvicorn) on a benchmark database (`sales bench seed --scale prd|x10`), signs in with headless
Chromium as SALES_ADMIN (and as the busiest RM) and reads the browser's Navigation Timing (`loadEventEnd`: HTML,
CSS, Chart.js and the charts drawn) for the RM, team, city and forecast pages of the busiest RM, their team and
their city: the first load with no snapshot (`cold`: measured live, as the API does, then stored) and the next loads
(`warm`: served from the snapshot the dashboards-refresh job keeps fresh).

    python bench/dashboard_render.py [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/sales_bench]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import text

from _browser import ROOT, app_server, chromium, sign_in

sys.path.insert(0, str(ROOT / "src"))

from sales.console import repository as console_repository, service as console_service  # noqa: E402
from sales.core.clock import business_now  # noqa: E402
from sales.core.db import create_engine, unit_of_work  # noqa: E402
from sales.settings import Settings  # noqa: E402

PASSWORD = "bench-dashboard-password"
TIMING = """() => { const n = performance.getEntriesByType('navigation')[0];
  return {ttfb: n.responseStart, load: n.loadEventEnd, bytes: n.transferSize}; }"""


async def _accounts(url: str) -> dict[str, str]:
    """Console users for the busiest RM and a SALES_ADMIN (created once, reused); snapshots emptied (cold start)."""
    engine = create_engine(Settings(env="test", database_url=url))
    try:
        async with unit_of_work(engine) as conn:
            row = (await conn.execute(text(
                "SELECT p.rm_id, r.team_id, r.city, count(*) n FROM sales_pipelines p JOIN rms r ON r.id = p.rm_id "
                "WHERE r.team_id IS NOT NULL GROUP BY p.rm_id, r.team_id, r.city ORDER BY n DESC LIMIT 1"))).one()
            counts = (await conn.execute(text(
                "SELECT (SELECT count(*) FROM sales_pipelines), (SELECT count(*) FROM sales_pipelines "
                "WHERE outcome <> 'PENDING'), (SELECT count(*) FROM rms WHERE city = :c)"), {"c": row.city})).one()
            await conn.execute(text("DELETE FROM dashboard_snapshots"))
            now = await business_now(conn, frozen_allowed=True)
            accounts = {"rm": "bench.dash.rm@mysqrft.com", "admin": "bench.dash.admin@mysqrft.com"}
            for key, email in accounts.items():
                if await console_repository.get_user_by_email(conn, email) is None:
                    await console_service.create_user(
                        conn, None, email=email, password=PASSWORD, role="RM" if key == "rm" else "SALES_ADMIN",
                        name=f"Bench {key}", rm_id=row.rm_id if key == "rm" else None, team_ids=[], now=now)
            return {**accounts, "rm_id": str(row.rm_id), "team_id": str(row.team_id), "city": row.city,
                    "rm_pipelines": row.n, "pipelines": counts[0], "closed": counts[1], "city_rms": counts[2]}
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=os.environ.get(
        "SALES_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/sales_bench"))
    parser.add_argument("--loads", type=int, default=7, help="warm loads per page")
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "dashboard_render.json"))
    args = parser.parse_args()
    accounts = asyncio.run(_accounts(args.database_url))
    city = quote(accounts["city"], safe="")
    pages = [("rm", "rm", f"/console/dashboards/rm/{accounts['rm_id']}"),
             ("admin", "team", f"/console/dashboards/team/{accounts['team_id']}"),
             ("admin", "city", f"/console/dashboards/city/{city}"),
             ("admin", "forecast_team", f"/console/dashboards/forecast?scope=team&scope_id={accounts['team_id']}"),
             ("admin", "forecast_city", f"/console/dashboards/forecast?scope=city&scope_id={city}")]
    results: dict[str, object] = {"database": args.database_url.rsplit("/", 1)[-1],
                                  **{k: accounts[k] for k in ("pipelines", "closed", "rm_pipelines", "city_rms")},
                                  "loadavg_before": os.getloadavg()}
    with app_server(args.database_url, uvicorn_args=("--timeout-keep-alive", "600")) as base, \
            chromium(args.chromium) as browser:
        sessions = {who: sign_in(browser, base, accounts[who], PASSWORD, timeout_ms=600_000)
                    for who in ("rm", "admin")}
        for who, name, path in pages:
            page = sessions[who][1]
            page.goto(f"{base}{path}", wait_until="load")
            cold = page.evaluate(TIMING)
            warm = []
            for _ in range(args.loads):
                page.goto(f"{base}{path}", wait_until="load")
                warm.append(page.evaluate(TIMING))
            load_ms = sorted(x["load"] for x in warm)
            results[name] = {"path": path, "cold_load_ms": round(cold["load"], 1), "warm_loads": len(warm),
                             "warm_load_ms_median": round(statistics.median(load_ms), 1),
                             "warm_load_ms_max": round(load_ms[-1], 1),
                             "warm_ttfb_ms_median": round(statistics.median(x["ttfb"] for x in warm), 1),
                             "bytes": warm[-1]["bytes"], "loadavg": os.getloadavg()}
            print(name, json.dumps(results[name]), flush=True)
        for ctx, _ in sessions.values():
            ctx.close()
    print(json.dumps(results, indent=2))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
