"""A simulated day of lead allocation (issue 3): 25,000 leads over 1,000 RMs in 10 cities.

Starts `sales serve --workers 2` in production mode on a fresh PostgreSQL database, loads the RM directory
through the CSV import API, fires the leads from 50 concurrent clients, and reports allocation latency
(p50/p95/p99), throughput and the coefficient of variation of leads received among comparable RMs (same
city, locality and skills).

    .venv/bin/python bench/allocation_day.py [--leads 25000] [--clients 50] [--db sales_bench_alloc] [--mix]

--mix (issue 17) mixes in caps and leaves: 10% of RMs get a daily cap of half their expected share, two cities a
weekly default cap, 5% of RMs are on leave today, and another 5% go OFFLINE after a third of the leads and come
back ONLINE after two thirds. The CV among comparable RMs is then reported for the RMs none of this touched, and
the leads received by the others are compared with their comparable peers'.

Writes bench/results/allocation_day[_uniform][_mix].json. Wall time only measures; nothing here is business time.
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import csv
import io
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
SALES = str(Path(sys.executable).parent / "sales")  # the `sales` of the interpreter running this
CITIES = ["Bangalore", "Mumbai", "Pune", "Delhi", "Hyderabad", "Chennai", "Kolkata", "Ahmedabad", "Noida", "Gurgaon"]
ZONES = ["North", "South", "East", "West"]
SECRET = "bench-secret-0123456789-0123456789-abcdef"
PII_KEY = base64.b64encode(b"b" * 32).decode()


def directory(rng: random.Random, *, uniform: bool) -> tuple[list[dict[str, str]], dict[str, list[str]]]:
    """100 RMs per city: 20 localities (4 zones x 5) with 5 RMs each, 4 regular and 1 backup per zone."""
    rows, localities = [], {}
    for city in CITIES:
        team_localities = []
        for zone in ZONES:
            for n in range(5):
                locality = f"{city[:3]}-{zone}-{n}"
                team_localities.append((zone, locality))
        localities[city] = [loc for _, loc in team_localities]
        for zone, locality in team_localities:
            for k in range(5):
                both = k == 0  # one RM per locality also handles commercial property
                rows.append({
                    "id": str(uuid.uuid4()), "name": f"{city} {locality} RM{k}", "email": f"{uuid.uuid4().hex[:10]}@mysqrft.com",
                    "city": city, "zone": zone, "localities": locality,
                    "property_types": "RESIDENTIAL|COMMERCIAL" if both else "RESIDENTIAL",
                    "segments": "TENANT|OWNER|BUYER", "capacity": "40", "base_salary": "40000.00",
                    "performance_score": "70" if uniform else str(rng.randrange(40, 95)), "is_backup": "false",
                })
    return rows, localities


def lead(rng: random.Random, localities: dict[str, list[str]]) -> dict[str, object]:
    city = rng.choice(CITIES)
    locality = rng.choice(localities[city])
    zone = locality.split("-")[1]
    return {"lead_id": str(uuid.uuid4()),
            "customer": {"name": "Bench Customer", "phone": "+91-9876543210", "email": "bench@example.com"},
            "city": city, "zone": zone, "locality": locality,
            "property_type": "COMMERCIAL" if rng.random() < 0.05 else "RESIDENTIAL",
            "segment": rng.choice(["TENANT", "TENANT", "BUYER", "OWNER"]),
            "expected_deal_value": f"{rng.randrange(2, 200) * 1000}.00", "source": rng.choice(
                ["INBOUND_CALL", "WEBSITE", "MOBILE_APP", "REFERRAL"])}


def token(roles: list[str]) -> str:
    env = {**os.environ, "SALES_ENV": "development", "SALES_JWT_SECRET": SECRET}
    return subprocess.run([SALES, "token", "--role", *roles[:1]], env=env, capture_output=True, text=True,
                          check=True).stdout.strip()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def mix_in(client: httpx.AsyncClient, base: str, admin: dict[str, str], rows: list[dict[str, str]],
                 rng: random.Random, leads: int) -> dict[str, list[str]]:
    """Issue 17: daily caps, weekly city defaults, leaves today and RMs to send OFFLINE for the middle third."""
    regular = [r["id"] for r in rows]
    rng.shuffle(regular)
    tenth, twentieth = len(regular) // 10, len(regular) // 20
    capped, on_leave = regular[:tenth], regular[tenth:tenth + twentieth]
    away = regular[tenth + twentieth:tenth + 2 * twentieth]
    share = max(2, leads // len(rows))
    for rm_id in capped:
        response = await client.put(f"{base}/rms/{rm_id}", json={"max_leads_per_day": max(1, share // 2)},
                                      headers=admin)
        assert response.status_code == 200, response.text
    for city in CITIES[:2]:
        response = await client.put(f"{base}/allocations/rules", json={"city": city, "rules": {
            "max_leads_per_week": share * 3}}, headers=admin)
        assert response.status_code == 200, response.text
    today = time.strftime("%Y-%m-%d", time.gmtime())
    for rm_id in on_leave:
        response = await client.post(f"{base}/rms/{rm_id}/leaves", json={"start_date": today, "end_date": today},
                                     headers=admin)
        assert response.status_code == 201, response.text
    return {"capped": capped, "on_leave": on_leave, "away": away}


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=25000)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--db", default="sales_bench_alloc")
    parser.add_argument("--uniform-performance", action="store_true",
                        help="every RM scores 70, so LAR-005 favours nobody and comparable RMs are truly equal")
    parser.add_argument("--port", type=int, default=0, help="0 = a free port")
    parser.add_argument("--mix", action="store_true", help="caps, leaves and an OFFLINE spell (issue 17)")
    parser.add_argument("--workers", type=int, default=2, help="server processes (1 on a loaded machine: uvicorn's "
                        "supervisor restarts workers that do not answer its health check within 5 s)")
    args = parser.parse_args()
    if not args.port:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            args.port = probe.getsockname()[1]
    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{args.db}"
    subprocess.run(["dropdb", "-h", "127.0.0.1", "-U", "postgres", "--if-exists", args.db], check=True)
    subprocess.run(["createdb", "-h", "127.0.0.1", "-U", "postgres", args.db], check=True)
    env = {**os.environ, "SALES_ENV": "production", "SALES_DATABASE_URL": url, "SALES_JWT_SECRET": SECRET,
           "SALES_PII_KEY": PII_KEY, "SALES_LOG_LEVEL": "WARNING", "SALES_DB_POOL_SIZE": "20",
           "SALES_RATE_LIMITS_ENABLED": "false"}  # one address and one token send everything: measure allocation
    subprocess.run([SALES, "migrate"], env=env, check=True, capture_output=True)
    server = subprocess.Popen([SALES, "serve", "--workers", str(args.workers), "--port", str(args.port)], env=env,
                              start_new_session=True)
    rng = random.Random(42)
    base = f"http://127.0.0.1:{args.port}/api/v1/sales"
    try:
        async with httpx.AsyncClient(timeout=120, limits=httpx.Limits(max_connections=args.clients + 5)) as client:
            last: object = None
            for _ in range(1500):  # up to 5 minutes on a busy machine
                try:
                    ready = await client.get(f"http://127.0.0.1:{args.port}/readyz")
                    if ready.status_code == 200:
                        break
                    last = (ready.status_code, ready.text[:200])
                except httpx.TransportError as exc:
                    last = exc
                await asyncio.sleep(0.2)
            else:
                raise SystemExit(f"the server did not become ready: {last!r}")
            admin = {"Authorization": f"Bearer {token(['SALES_ADMIN'])}"}
            service = {"Authorization": f"Bearer {token(['SERVICE'])}"}
            rows, localities = directory(rng, uniform=args.uniform_performance)
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
            started = time.perf_counter()
            imported = await client.post(f"{base}/rms/import", content=buffer.getvalue().encode(),
                                         headers={**admin, "Content-Type": "text/csv"}, timeout=600)
            assert imported.status_code == 201, imported.text
            print(f"imported {len(rows)} RMs in {time.perf_counter() - started:.1f}s", file=sys.stderr)

            leads = [lead(rng, localities) for _ in range(args.leads)]
            latencies: list[float] = []
            statuses: dict[int, int] = defaultdict(int)
            cursor = iter(leads)
            touched = await mix_in(client, base, admin, rows, rng, args.leads) if args.mix else {}
            away = touched.get("away", [])
            sent = [0]

            async def availability(value: str) -> None:
                for rm_id in away:
                    response = await client.patch(f"{base}/rms/{rm_id}/availability", json={"availability": value},
                                                  headers=admin)
                    assert response.status_code == 200, response.text

            async def worker() -> None:
                for payload in cursor:
                    sent[0] += 1
                    if away and sent[0] == args.leads // 3:
                        await availability("OFFLINE")
                    if away and sent[0] == 2 * args.leads // 3:
                        await availability("ONLINE")
                    t0 = time.perf_counter()
                    response = await client.post(f"{base}/allocations", json=payload, headers=service)
                    latencies.append(time.perf_counter() - t0)
                    statuses[response.status_code] += 1

            cpu0 = time.process_time()
            started = time.perf_counter()
            await asyncio.gather(*[worker() for _ in range(args.clients)])
            elapsed = time.perf_counter() - started
            client_cpu = time.process_time() - cpu0
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{args.db}")
    received = await conn.fetch(
        "SELECT r.id, r.city, r.localities::text AS loc, r.property_types::text AS pt, count(a.id) AS n "
        "FROM rms r LEFT JOIN rm_allocations a ON a.rm_id = r.id GROUP BY r.id")
    over = await conn.fetchval("SELECT count(*) FROM rms WHERE active_leads > capacity")
    await conn.close()
    special = {rm_id: kind for kind, ids in touched.items() for rm_id in ids}
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    per_city: dict[str, list[int]] = defaultdict(list)
    others: list[tuple[str, tuple[str, str, str], int]] = []
    for row in received:
        key = (row["city"], row["loc"], row["pt"])
        if str(row["id"]) in special:
            others.append((special[str(row["id"])], key, row["n"]))
            continue
        groups[key].append(row["n"])
        per_city[row["city"]].append(row["n"])
    versus_peers: dict[str, float] = {}
    for kind in touched:
        ratios = [n / statistics.fmean(groups[key]) for k, key, n in others
                  if k == kind and groups.get(key) and statistics.fmean(groups[key])]
        versus_peers[kind] = round(statistics.fmean(ratios), 3) if ratios else None

    def cv(values: list[int]) -> float | None:
        mean = statistics.fmean(values)
        return statistics.pstdev(values) / mean if len(values) > 1 and mean else None

    group_cvs = [c for c in (cv(v) for v in groups.values()) if c is not None]
    city_cvs = [c for c in (cv(v) for v in per_city.values()) if c is not None]
    result = {
        "leads": args.leads, "clients": args.clients, "rms": len(rows), "seconds": round(elapsed, 1),
        "throughput_rps": round(args.leads / elapsed, 1), "statuses": dict(statuses),
        "latency_ms": {"p50": round(percentile(latencies, .50) * 1000, 1),
                       "p95": round(percentile(latencies, .95) * 1000, 1),
                       "p99": round(percentile(latencies, .99) * 1000, 1),
                       "max": round(max(latencies) * 1000, 1)},
        "cv_comparable_rms": {"groups": len(group_cvs), "mean": round(statistics.fmean(group_cvs), 4),
                              "max": round(max(group_cvs), 4)},
        "cv_per_city_mean": round(statistics.fmean(city_cvs), 4),
        "rms_over_capacity": over, "load_generator_cpu_seconds": round(client_cpu, 1),
        "uniform_performance": args.uniform_performance, "mix": args.mix, "server_workers": args.workers,
        **({"touched_rms": {k: len(v) for k, v in touched.items()},
            "received_vs_comparable_peers": versus_peers, "load_average": list(os.getloadavg())}
           if args.mix else {}),
    }
    name = "allocation_day" + ("_uniform" if args.uniform_performance else "") + ("_mix" if args.mix else "")
    out = ROOT / "bench" / "results" / f"{name}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
