"""Suggestions over a large listings read model (issue 14): GET /pipelines/{id}/suggestions through HTTP.

Fills `inventory_listings` with N synthetic Bangalore listings (all owned by BENCH_OWNER, replaced on each run),
opens a pipeline with requirements through the API, then times sequential requests from one keep-alive client
against `sales serve --workers 1` in production mode, for two typical requirement shapes: localities as a
nice-to-have with a must-have budget, and a must-have `near` radius. Reports median / p95 per shape and the
service's CPU per request (from /proc, independent of other load on the machine).
"""
from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import httpx

from sales.bench.pipeline_list import Timing
from sales.bench.seed import asyncpg_dsn
from sales.bench.server import bench_token, process_tree_cpu, running_service
from sales.settings import Settings

BENCH_OWNER = uuid.UUID("00000000-0000-4000-8000-000000000014")
LOCALITIES = [f"Locality {i:02d}" for i in range(48)]
AMENITIES = ["LIFT", "PARKING", "GYM", "POOL", "POWER_BACKUP", "SECURITY", "CLUBHOUSE", "GARDEN"]
COLUMNS = ["id", "owner_id", "city", "locality", "lat", "lon", "property_type", "deal_type", "bhk", "area_sqft",
           "price", "furnishing", "amenities", "available_from", "status", "listed_at", "updated_at", "created_at"]
SHAPES: dict[str, dict[str, Any]] = {
    "localities_nice_budget_must": {
        "deal_type": "RENT", "property_type": "APARTMENT", "budget_min": "25000.00", "budget_max": "45000.00",
        "localities": ["Locality 09", "Locality 10"], "bhk_min": 2, "bhk_max": 3, "furnishing": "SEMI_FURNISHED",
        "amenities": ["LIFT", "PARKING"], "move_in_by": "2026-03-01",
        "criteria": {"budget": {"must": True}, "location": {"weight": 5}, "bhk": {"weight": 4},
                     "furnishing": {"weight": 2}, "amenities": {"weight": 2}}},
    "near_must": {
        "deal_type": "SALE", "budget_max": "15000000.00", "near": {"lat": 12.97, "lon": 77.62, "radius_km": 3},
        "bhk_min": 3, "amenities": ["GYM", "POOL"],
        "criteria": {"location": {"must": True}, "budget": {"weight": 5}, "bhk": {"weight": 3},
                     "amenities": {"weight": 1}}},
}


def _centre(i: int) -> tuple[float, float]:
    return 12.85 + (i % 8) * 0.035, 77.50 + (i // 8) * 0.045


def _rows(n: int, seed: int) -> list[tuple[Any, ...]]:
    rng = random.Random(seed)
    now = datetime(2026, 1, 15, tzinfo=UTC)
    rows = []
    for _ in range(n):
        i = rng.randrange(len(LOCALITIES))
        lat, lon = _centre(i)
        deal = "RENT" if rng.random() < 0.6 else "SALE"
        bhk = rng.choice([1, 2, 2, 3, 3, 4])
        price = (rng.randrange(8, 40) * 1000 * bhk if deal == "RENT" else rng.randrange(25, 90) * 100000 * bhk)
        status = rng.choices(["AVAILABLE", "LET_OUT" if deal == "RENT" else "SOLD", "INACTIVE"], [80, 15, 5])[0]
        listed = now - timedelta(days=rng.randrange(200), minutes=rng.randrange(1440))
        rows.append((uuid.UUID(bytes=rng.randbytes(16), version=4), BENCH_OWNER, "Bangalore", LOCALITIES[i],
                     Decimal(f"{lat + rng.uniform(-0.012, 0.012):.6f}"), Decimal(f"{lon + rng.uniform(-0.012, 0.012):.6f}"),
                     rng.choices(["APARTMENT", "VILLA", "INDEPENDENT_HOUSE"], [75, 10, 15])[0], deal, bhk,
                     300 + bhk * rng.randrange(350, 600), Decimal(price),
                     rng.choice(["FURNISHED", "SEMI_FURNISHED", "UNFURNISHED"]),
                     json.dumps(rng.sample(AMENITIES, rng.randrange(0, 6))),
                     date(2026, 1, 1) + timedelta(days=rng.randrange(120)), status, listed, listed, listed))
    return rows


async def _fill(dsn: str, n: int, seed: int) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            await conn.execute("DELETE FROM inventory_listings WHERE owner_id = $1", BENCH_OWNER)
            await conn.copy_records_to_table("inventory_listings", records=_rows(n, seed), columns=COLUMNS)
        await conn.execute("ANALYZE inventory_listings")
        return await conn.fetchval("SELECT count(*) FROM inventory_listings")
    finally:
        await conn.close()


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 300:
        raise RuntimeError(f"{response.request.method} {response.request.url}: {response.status_code} {response.text}")
    return response.json()


def _pipeline(client: httpx.Client, shape: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """An RM, a pipeline and its requirements, through the API."""
    admin = {"Authorization": f"Bearer {bench_token(uuid.uuid4(), ['SALES_ADMIN'])}"}
    rm_id = str(uuid.uuid4())
    _ok(client.post("/api/v1/sales/rms", headers=admin, json={
        "id": rm_id, "name": "Bench Journey RM", "email": f"journey-{rm_id[:8]}@bench.mysqrft.com",
        "phone": "+91-9811111111", "city": "Bangalore", "zone": "Central", "localities": LOCALITIES[:4],
        "property_types": ["RESIDENTIAL"], "segments": ["TENANT", "BUYER"], "capacity": 25,
        "base_salary": "40000.00"}))
    pipeline = _ok(client.post("/api/v1/sales/pipelines", headers=admin, json={
        "lead_id": str(uuid.uuid4()), "rm_id": rm_id, "source": "INBOUND_CALL"}))
    rm = {"Authorization": f"Bearer {bench_token(rm_id, ['RM'])}"}
    _ok(client.put(f"/api/v1/sales/pipelines/{pipeline['id']}/requirements", headers=rm, json=shape))
    return pipeline["id"], rm


def run(settings: Settings, *, listings: int = 50_000, requests: int = 200, rounds: int = 3, warmup: int = 20,
        limit: int = 20, seed: int = 14) -> dict[str, Any]:
    dsn = asyncpg_dsn(settings.database_url)
    total = asyncio.run(_fill(dsn, listings, seed))
    out: dict[str, Any] = {"listings_total": total, "bench_listings": listings, "limit": limit, "shapes": {}}
    with running_service(settings, settings.database_url, workers=1, with_worker=False) as service, \
            httpx.Client(base_url=service["url"], timeout=30.0) as client:
        for name, shape in SHAPES.items():
            pipeline_id, headers = _pipeline(client, shape)
            url = f"/api/v1/sales/pipelines/{pipeline_id}/suggestions?limit={limit}"
            items = _ok(client.get(url, headers=headers))["items"]
            for _ in range(warmup):
                _ok(client.get(url, headers=headers))
            timings, cpu = [], 0.0
            for _ in range(rounds):
                samples = []
                cpu0 = process_tree_cpu(service["pids"])
                for _ in range(requests):
                    t = time.perf_counter()
                    response = client.get(url, headers=headers)
                    samples.append(time.perf_counter() - t)
                    if response.status_code != 200:
                        raise RuntimeError(f"suggestions answered {response.status_code}: {response.text[:200]}")
                cpu += process_tree_cpu(service["pids"]) - cpu0
                timings.append(Timing.of(samples))
            out["shapes"][name] = {
                "suggestions": len(items), "top_score": items[0]["score"] if items else None,
                "median_ms": sorted(t.median_ms for t in timings)[len(timings) // 2],
                "p95_ms": sorted(t.p95_ms for t in timings)[len(timings) // 2],
                "round_p95_ms": [t.p95_ms for t in timings],
                "service_cpu_ms_per_request": round(1000 * cpu / (rounds * requests), 2)}
    return out
