#!/usr/bin/env python3
"""Issue 20: the rate limiter's CPU per request, with the in-process counters and with Redis.

    .venv/bin/python bench/ratelimit_overhead.py [--requests 20000 --redis redis://127.0.0.1:6379/14]

Drives the middleware directly (no HTTP server, no database) in front of an application that does nothing,
so what it measures is the limiter alone: process CPU time (not wall time: the machine is shared) per request
without the limiter, with in-process counters, and with Redis counters (one round trip per request; the
wall time per request is printed too, since that round trip is mostly waiting). Requests carry a bearer token
that the stand-in route verifies as the real ones do; behind the limiter it reuses the limiter's
verification, so `*_overhead_cpu_us` is what the limiter adds. Prints one JSON line.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
import uuid
from typing import Any

from sales.core.auth import bearer_token, issue_token, principal_of
from sales.core.ratelimit import LocalCounters, RateLimitMiddleware, RedisCounters
from sales.settings import RateBudget, Settings

BIG = RateBudget(reads=10**9, writes=10**9, allocation=10**9, refunds=10**9, public=10**9)


def _route(settings: Settings) -> Any:
    """Stands for a route: verifies the bearer token (reusing the limiter's verification when there is one)."""

    async def route(scope: Any, receive: Any, send: Any) -> None:
        principal_of(scope["state"], bearer_token(scope["headers"][0][1].decode()) or "", settings)
        await send({"type": "http.response.start", "status": 200, "headers": []})

    return route


async def _discard(message: Any) -> None:
    return None


async def _drive(app: Any, scopes: list[dict[str, Any]]) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    for scope in scopes:
        await app(dict(scope, state={}), None, _discard)
    return time.process_time() - cpu, time.perf_counter() - wall


async def main(requests: int, redis_url: str | None) -> dict[str, Any]:
    settings = Settings(env="test", rate_limits_enabled=True, rate_limit_principal=BIG, rate_limit_address=BIG,
                        rate_limit_service=BIG)
    tokens = [issue_token(settings, sub=uuid.uuid4(), roles=["RM"]) for _ in range(50)]
    scopes = [{"type": "http", "method": "GET", "path": "/api/v1/sales/pipelines", "client": (f"10.0.0.{i % 50}", 1),
               "headers": [(b"authorization", f"Bearer {tokens[i % 50]}".encode())]} for i in range(requests)]
    result: dict[str, Any] = {"requests": requests}
    route = _route(settings)
    variants: list[tuple[str, Any]] = [("none", route), ("in_process", RateLimitMiddleware(
        route, settings=settings, counters=LocalCounters()))]
    if redis_url:
        variants.append(("redis", RateLimitMiddleware(route, settings=settings, counters=RedisCounters(redis_url))))
    for name, app in variants:
        await _drive(app, scopes[:500])  # warm up (imports, Redis connection and script)
        cpu, wall = await _drive(app, scopes)
        result[f"{name}_cpu_us"] = round(cpu / requests * 1e6, 1)
        result[f"{name}_wall_us"] = round(wall / requests * 1e6, 1)
    for name in ("in_process", "redis"):
        if f"{name}_cpu_us" in result:
            result[f"{name}_overhead_cpu_us"] = round(result[f"{name}_cpu_us"] - result["none_cpu_us"], 1)
    result["load_average"] = os.getloadavg()
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=20000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/14")
    arguments = parser.parse_args()
    print(json.dumps(asyncio.run(main(arguments.requests, arguments.redis or None))))
