"""A 12-stop visit plan answers in < 1 s (issue 15, "Done when").

Runs the real app (uvicorn) on a database of its own (migrated here), seeds a team, an RM and 12 listings spread
over ~10 km of a city (a fixed seed), and POSTs /pipelines/{id}/visit-plans with all 12 stops (a third of them
with owner windows) on a fresh pipeline each round, timing each answer from the client (request sent to response
read). It also times the planner alone (sales.visits.planner.plan) on the same problem. Not a unit test: the
machine's load decides the numbers, so run it on a quiet machine and report `uptime` with them.

    python bench/visit_planner.py [--database-url postgresql+asyncpg://postgres@127.0.0.1:5432/visit_bench]
                                  [--rounds 15]
"""
from __future__ import annotations

import argparse
import json
import math
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime

import httpx

from _browser import ROOT, app_server

sys.path.insert(0, str(ROOT / "src"))

from sales import migrate  # noqa: E402
from sales.core.auth import issue_token  # noqa: E402
from sales.settings import Settings  # noqa: E402
from sales.visits import planner  # noqa: E402
from sales.visits.travel import HaversineTravelTimes, Point  # noqa: E402

SECRET = "bench-visit-planner-secret-0123456789"
API = "/api/v1/sales"
CENTRE = (18.5204, 73.8567)  # Pune
STOPS = 12


def _spots(rng: random.Random) -> list[tuple[float, float]]:
    """12 points within about 5 km of the centre."""
    return [(round(CENTRE[0] + rng.uniform(-0.045, 0.045), 6), round(CENTRE[1] + rng.uniform(-0.045, 0.045), 6))
            for _ in range(STOPS)]


def _body(listing_ids: list[str]) -> dict:
    stops = []
    for n, listing_id in enumerate(listing_ids):
        stop = {"listing_id": listing_id}
        if n % 3 == 0:  # every third owner receives in one two-hour slot
            opens = 9 + (n // 3) * 2
            stop.update(owner_window_start=f"{opens:02d}:00", owner_window_end=f"{opens + 2:02d}:00")
        stops.append(stop)
    return {"date": "2026-03-03", "window_start": "09:00", "window_end": "19:00",
            "start": {"lat": CENTRE[0], "lon": CENTRE[1]}, "visit_minutes": 30, "stops": stops}


class Client:
    def __init__(self, base: str, url: str) -> None:
        self.base = base
        self.settings = Settings(env="test", database_url=url, jwt_secret=SECRET)
        self.admin = self.token("SALES_ADMIN")

    def token(self, *roles: str, sub: str | None = None) -> str:
        return issue_token(self.settings, sub=uuid.UUID(sub) if sub else uuid.uuid4(), roles=list(roles))

    def call(self, method: str, path: str, *, token: str | None = None, **kwargs) -> httpx.Response:
        return httpx.request(method, f"{self.base}{API}{path}", timeout=60,
                             headers={"Authorization": f"Bearer {token or self.admin}"}, **kwargs)

    def ok(self, method: str, path: str, **kwargs) -> dict:
        response = self.call(method, path, **kwargs)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()


def _solver_ms(spots: list[tuple[float, float]], body: dict, speed_kmh: float, repeats: int = 5) -> float:
    """The planner alone on the same stops and windows (median of `repeats`)."""
    points = [Point(*CENTRE)] + [Point(*s) for s in spots]
    matrix = HaversineTravelTimes(speed_kmh=speed_kmh).minutes(points)
    windows = []
    for stop in body["stops"]:
        if "owner_window_start" in stop:
            opens = (int(stop["owner_window_start"][:2]) - 9) * 60
            windows.append([(opens, opens + 120)])
        else:
            windows.append([])
    problem = planner.Problem(travel=matrix, windows=windows, visit_minutes=30, horizon=600)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = planner.plan(problem)
        times.append((time.perf_counter() - started) * 1000)
    assert not result.dropped, result
    return round(statistics.median(times), 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url", default=os.environ.get("SALES_BENCH_DATABASE_URL"))
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    url = args.database_url or f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='visit-bench-')}/sales.db"
    migrate.upgrade(url)
    with app_server(url, env={"SALES_JWT_SECRET": SECRET}) as base:
        client = Client(base, url)
        client.ok("PUT", "/admin/clock", json={"now": "2026-03-02T09:00:00Z"})
        tag = uuid.uuid4().hex[:6]
        city = f"Pune{tag}"
        team = client.ok("POST", "/teams", json={"name": f"Bench {tag}", "city": city})
        rm_id = str(uuid.uuid4())
        client.ok("POST", "/rms", json={"id": rm_id, "name": "Bench RM", "email": f"rm.{tag}@mysqrft.com",
                                        "team_id": team["id"], "city": city, "zone": "West", "localities": ["Baner"],
                                        "capacity": 1000, "base_salary": "40000.00"})
        spots = _spots(random.Random(15))
        listing_ids = []
        for lat, lon in spots:
            listing_id = str(uuid.uuid4())
            client.ok("PUT", f"/inventory/listings/{listing_id}", json={
                "owner_id": str(uuid.uuid4()), "city": "Pune", "locality": "Baner", "lat": lat, "lon": lon,
                "property_type": "APARTMENT", "deal_type": "RENT", "bhk": 2, "area_sqft": 1000, "price": "35000.00",
                "furnishing": "SEMI_FURNISHED", "amenities": [], "available_from": "2026-03-01",
                "status": "AVAILABLE", "listed_at": "2026-01-05T09:00:00Z"})
            listing_ids.append(listing_id)
        body = _body(listing_ids)
        rm_token = client.token("RM", sub=rm_id)
        latencies = []
        for _ in range(args.rounds + 1):  # the first round warms the server up and is not counted
            pipeline = client.ok("POST", "/pipelines", json={"lead_id": str(uuid.uuid4()), "rm_id": rm_id,
                                                             "source": "REFERRAL", "deal_value": "100000.00"})
            started = time.perf_counter()
            response = client.call("POST", f"/pipelines/{pipeline['id']}/visit-plans", token=rm_token, json=body)
            latencies.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 201, response.text
            plan = response.json()
            assert len(plan["itinerary"]) == STOPS and not plan["unscheduled"], plan
        latencies = sorted(latencies[1:])
        results = {
            "measured_at": datetime.now().astimezone().isoformat(timespec="seconds"),
            "database": url.split("://", 1)[0], "stops": STOPS, "rounds": len(latencies),
            "answer_ms_median": round(statistics.median(latencies), 1),
            "answer_ms_p95": round(latencies[math.ceil(len(latencies) * 0.95) - 1], 1),
            "answer_ms_max": round(latencies[-1], 1),
            "solver_ms_median": _solver_ms(spots, body, Settings().visit_speed_kmh),
            "total_minutes": plan["total_minutes"], "travel_minutes": plan["travel_minutes"],
            "uptime": subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip(),
        }
    print(json.dumps(results, indent=2))
    out = ROOT / "bench" / "results" / "visit_planner.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
