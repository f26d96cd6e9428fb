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
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from sales.console import repository as console_repository, service as console_service  # noqa: E402
from sales.core.clock import business_now  # noqa: E402
from sales.core.db import create_engine, unit_of_work  # noqa: E402
from sales.settings import Settings  # noqa: E402

PASSWORD = "bench-console-password"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=os.environ.get(
        "SALES_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/sales_bench"))
    parser.add_argument("--loads", type=int, default=7)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    accounts = asyncio.run(_accounts(args.database_url))
    port = _free_port()
    env = {**os.environ, "SALES_DATABASE_URL": args.database_url, "SALES_ENV": "test", "SALES_LOG_LEVEL": "WARNING",
           "PYTHONPATH": str(ROOT / "src")}
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "sales.asgi:app", "--host", "127.0.0.1", "--port",
                               str(port), "--log-level", "warning"], env=env)
    base = f"http://127.0.0.1:{port}"
    results: dict[str, object] = {"database": args.database_url.rsplit("/", 1)[-1], "rm_pipelines": accounts["pipelines"]}
    try:
        for _ in range(100):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=args.chromium, args=ARGS)
            for who, path in (("rm", "/console"), ("supervisor", f"/console/team?team_id={accounts['team_id']}")):
                ctx = browser.new_context(viewport={"width": 1440, "height": 900})
                page = ctx.new_page()
                page.goto(f"{base}/console/login")
                page.get_by_label("Email").fill(accounts[who])
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Sign in").click()
                page.wait_for_load_state("load")
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
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(json.dumps(results, indent=2))
    out = ROOT / "bench" / "results" / "console_render.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
