"""Rate limits (PRD §8.4, issue 20): route classes from method and path, fixed windows, defaults per environment."""
from __future__ import annotations

from typing import Any

import pytest

from sales.core.ratelimit import LocalCounters, RateLimitMiddleware, RouteClass, route_class
from sales.settings import RateBudget, Settings

API = "/api/v1/sales"


@pytest.mark.parametrize(("method", "path", "kind"), [
    ("GET", f"{API}/pipelines", RouteClass.READS),
    ("HEAD", f"{API}/refunds/eligibility/x", RouteClass.READS),
    ("POST", f"{API}/pipelines", RouteClass.WRITES),
    ("PATCH", f"{API}/pipelines/x/stage", RouteClass.WRITES),
    ("POST", f"{API}/allocations", RouteClass.ALLOCATION),
    ("PATCH", f"{API}/allocations/x/accept", RouteClass.ALLOCATION),
    ("POST", "/console/allocations/x/accept", RouteClass.ALLOCATION),
    ("POST", f"{API}/refunds", RouteClass.REFUNDS),
    ("POST", f"{API}/refunds/x/approve", RouteClass.REFUNDS),
    ("GET", "/s/abc123", RouteClass.PUBLIC),
    ("POST", "/s/abc123/feedback", RouteClass.PUBLIC),
    ("GET", "/healthz", None), ("GET", "/readyz", None), ("GET", "/metrics", None),
])
def test_route_class_comes_from_method_and_path(method, path, kind):
    assert route_class(method, path) is kind


@pytest.mark.parametrize(("env", "configured", "on"), [
    ("production", None, True), ("test", None, False), ("development", None, False),
    ("test", True, True), ("production", False, False),
])
def test_on_by_default_in_production_only(env, configured, on):
    extra: dict[str, Any] = {"jwt_secret": "s" * 32, "pii_key": "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="}
    assert Settings(env=env, rate_limits_enabled=configured, **extra).rate_limited is on


def test_budgets_are_configurable_as_json(monkeypatch):
    monkeypatch.setenv("SALES_RATE_LIMIT_PRINCIPAL", '{"reads": 7, "refunds": 2}')
    budget = Settings().rate_limit_principal
    assert (budget.reads, budget.refunds, budget.writes) == (7, 2, RateBudget().writes)


async def test_the_window_resets_and_retry_after_counts_to_its_end():
    now = [60 * 16_667 + 20.0]  # 20 s into a 60 s window
    sent: list[dict[str, Any]] = []
    served = []

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        served.append(scope["path"])

    async def send(message):  # type: ignore[no-untyped-def]
        sent.append(message)

    settings = Settings(env="test", rate_limit_address=RateBudget(reads=2))
    middleware = RateLimitMiddleware(app, settings=settings, counters=LocalCounters(), clock=lambda: now[0])
    scope = {"type": "http", "method": "GET", "path": "/x", "headers": [], "client": ("10.0.0.1", 1)}
    for _ in range(3):
        await middleware(dict(scope), None, send)
    assert len(served) == 2
    start = sent[0]
    assert start["status"] == 429 and dict(start["headers"])[b"retry-after"] == b"40"
    now[0] += 40  # the next window
    await middleware(dict(scope), None, send)
    assert len(served) == 3


async def test_a_failing_redis_is_left_alone_for_a_pause_and_counting_goes_on_in_process():
    from sales.core.ratelimit import RedisCounters

    counters = RedisCounters("redis://127.0.0.1:1/0", pause=60)
    calls = []

    async def failing(**_):  # type: ignore[no-untyped-def]
        calls.append(1)
        raise ConnectionError("refused")

    counters._script = failing  # type: ignore[assignment]
    assert [await counters.hit(["k"], 1, 60) for _ in range(3)] == [[1], [2], [3]]
    assert len(calls) == 1  # the second and third request did not wait on Redis
    await counters.close()
