"""One RM's 250-pipeline list among all pipelines: through the HTTP API and as the raw query (ISSUE 2).

Sequential requests from one keep-alive client against `sales serve --workers 1` in production mode, so
the figure is the latency of one request on an otherwise idle service; rounds of HTTP and raw timing
alternate so both see the same background noise (other test suites share this machine).
"""
from __future__ import annotations

import asyncio
import statistics
import time
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
from sqlalchemy.dialects import postgresql

from sales.directory.scoping import OWN
from sales.pipelines.repository import JSON_PAGE
from sales.bench.seed import asyncpg_dsn, bench_rm
from sales.bench.server import bench_token, running_service
from sales.settings import Settings

def raw_list() -> str:
    """The statement the service runs for an RM's own page of 250 on PostgreSQL (pipelines.repository.json_page,
    prebuilt), as asyncpg is sent it; its values are raw_list_args'."""
    return str(JSON_PAGE[OWN, False].statement.compile(dialect=postgresql.asyncpg.dialect()))


def raw_list_args(rm_id: str) -> tuple:
    """page_size, pii_everyone, pii_sub, pii_teams, scope_sub, page_rows: an RM reading their own 250."""
    return 250, False, rm_id, [], rm_id, 251


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class Timing:
    median_ms: float
    p95_ms: float
    mean_ms: float
    samples: int

    @classmethod
    def of(cls, seconds: list[float]) -> "Timing":
        ms = [s * 1000 for s in seconds]
        return cls(round(statistics.median(ms), 2), round(percentile(ms, 95), 2), round(statistics.fmean(ms), 2),
                   len(ms))


def _http_round(client: httpx.Client, url: str, headers: dict[str, str], n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        response = client.get(url, headers=headers)
        body = response.content
        out.append(time.perf_counter() - t)
        if response.status_code != 200 or not body:
            raise RuntimeError(f"pipeline list answered {response.status_code}: {body[:200]!r}")
    return out


async def _raw_round(conn: asyncpg.Connection, stmt: Any, rm_id: str, n: int) -> list[float]:
    out = []
    for _ in range(n):
        t = time.perf_counter()
        rows = await stmt.fetch(*raw_list_args(rm_id))
        out.append(time.perf_counter() - t)
        if not rows:
            raise RuntimeError("raw pipeline list returned no rows")
    return out


def run(settings: Settings, *, requests: int = 200, rounds: int = 5, warmup: int = 30) -> dict[str, Any]:
    """Median/p95 of the HTTP list and of the raw query; the medians of `rounds` rounds are reported."""
    dsn = asyncpg_dsn(settings.database_url)
    rm_id, count = asyncio.run(bench_rm(dsn))
    token = bench_token(rm_id, ["RM"])
    headers = {"Authorization": f"Bearer {token}"}
    loop = asyncio.new_event_loop()
    conn = loop.run_until_complete(asyncpg.connect(dsn))
    stmt = loop.run_until_complete(conn.prepare(raw_list()))
    total = loop.run_until_complete(conn.fetchval("SELECT count(*) FROM sales_pipelines"))
    http_rounds: list[Timing] = []
    raw_rounds: list[Timing] = []
    size = 0
    try:
        with running_service(settings, settings.database_url, workers=1, with_worker=False) as service, \
                httpx.Client(base_url=service["url"], timeout=30.0) as client:
            url = "/api/v1/sales/pipelines?limit=250"
            first = client.get(url, headers=headers)
            items = first.json()["items"]
            size = len(first.content)
            # The worker's SLA sweep may have moved a seeded pipeline to or from this RM since the seed.
            if len(items) != min(count, 250):
                raise RuntimeError(f"expected {min(count, 250)} pipelines, the API listed {len(items)}")
            _http_round(client, url, headers, warmup)
            loop.run_until_complete(_raw_round(conn, stmt, rm_id, warmup))
            for _ in range(rounds):
                http_rounds.append(Timing.of(_http_round(client, url, headers, requests)))
                raw_rounds.append(Timing.of(loop.run_until_complete(_raw_round(conn, stmt, rm_id, requests))))
    finally:
        loop.run_until_complete(conn.close())
        loop.close()

    def summary(rs: list[Timing]) -> dict[str, Any]:
        return {"median_ms": round(statistics.median(r.median_ms for r in rs), 2),
                "p95_ms": round(statistics.median(r.p95_ms for r in rs), 2),
                "mean_ms": round(statistics.median(r.mean_ms for r in rs), 2),
                "round_medians_ms": [r.median_ms for r in rs]}

    http, raw = summary(http_rounds), summary(raw_rounds)
    return {"rm_id": rm_id, "pipelines_of_rm": count, "pipelines_total": total, "response_bytes": size,
            "requests_per_round": requests, "rounds": rounds, "http": http, "raw_asyncpg": raw,
            "http_over_raw": round(http["median_ms"] / raw["median_ms"], 1) if raw["median_ms"] else None}
