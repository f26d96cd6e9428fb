"""Rate limits (PRD §8.4): a budget of requests per window for each principal and each source address.

Every request is put in a route class (reads, writes, allocation, refunds, public shortlist pages) by its
method and path alone, before routing, so a route added later is limited without being listed anywhere. A
request is counted against its source address and, when it carries a valid bearer token, against the
token's `sub` (SERVICE tokens against their own, larger budget and not against their address: a service
speaks for many users from few addresses). Over either budget it is answered 429 problem+json with
Retry-After, before its body is read or a database connection is taken.

The token is verified once per request (`auth.principal_of` keeps the outcome in the request's state for
the route's dependency): keying on an unverified `sub` would let anyone spend someone else's budget.

Counting is a fixed window (`SALES_RATE_LIMIT_WINDOW_SECONDS`): in Redis when `SALES_REDIS_URL` is set,
shared by every replica, with one round trip per request (a Lua script increments the request's counters
and sets their expiry atomically); in process otherwise, and for a few seconds after Redis failed to answer in time
(the limit then holds per process: availability before precision).
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from enum import StrEnum
from typing import Any, Protocol

import structlog
from starlette.types import ASGIApp, Receive, Scope, Send

from sales.core.auth import Principal, Role, bearer_token, principal_of
from sales.core.clock import wall_now
from sales.core.errors import NotAuthenticated, problem
from sales.core.http import dumps
from sales.settings import RateBudget, Settings

log = structlog.get_logger("sales.ratelimit")

UNLIMITED_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})  # probes and scrapes
PUBLIC_PREFIX = "/s/"  # the public shortlist pages /s/{token}
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class RouteClass(StrEnum):
    READS = "reads"
    WRITES = "writes"
    ALLOCATION = "allocation"
    REFUNDS = "refunds"
    PUBLIC = "public"


def route_class(method: str, path: str) -> RouteClass | None:
    """The class whose budget a request spends, or None for the unlimited probes."""
    if path in UNLIMITED_PATHS:
        return None
    if path.startswith(PUBLIC_PREFIX):
        return RouteClass.PUBLIC
    if method not in WRITE_METHODS:
        return RouteClass.READS
    segments = path.split("/")
    if "allocations" in segments:
        return RouteClass.ALLOCATION
    if "refunds" in segments:
        return RouteClass.REFUNDS
    return RouteClass.WRITES


class Counters(Protocol):
    async def hit(self, keys: list[str], window: int, ttl: int) -> list[int]:
        """Count one request on each key in window number `window`; the counts so far, this one included."""


class LocalCounters:
    """In-process fixed-window counters; only the current window is kept."""

    def __init__(self) -> None:
        self._window = -1
        self._counts: dict[str, int] = {}

    async def hit(self, keys: list[str], window: int, ttl: int) -> list[int]:
        if window != self._window:
            self._window, self._counts = window, {}
        counts = []
        for key in keys:
            count = self._counts.get(key, 0) + 1
            self._counts[key] = count
            counts.append(count)
        return counts


_INCREMENT = """
local counts = {}
for i, key in ipairs(KEYS) do
  counts[i] = redis.call('INCR', key)
  if counts[i] == 1 then redis.call('EXPIRE', key, ARGV[1]) end
end
return counts
"""


class RedisCounters:
    """Counters shared by every replica. A Redis that fails or is slow (over `timeout`) is left alone for
    `pause` seconds, during which requests are counted in this process (one warning each time)."""

    def __init__(self, url: str, *, timeout: float = 0.25, pause: float = 5.0) -> None:
        import redis.asyncio as redis

        self.client = redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        self._script = self.client.register_script(_INCREMENT)
        self.fallback = LocalCounters()
        self.pause = pause
        self._paused_until = 0.0

    async def hit(self, keys: list[str], window: int, ttl: int) -> list[int]:
        if time.monotonic() >= self._paused_until:
            try:
                return [int(n) for n in await self._script(keys=[f"{key}:{window}" for key in keys], args=[ttl])]
            except Exception as exc:  # noqa: BLE001 - any Redis failure: keep serving, count locally
                self._paused_until = time.monotonic() + self.pause  # no request waits on a dead Redis meanwhile
                log.warning("rate-limit counters unavailable; counting in process", error=type(exc).__name__,
                            retry_in_seconds=self.pause)
        return await self.fallback.hit(keys, window, ttl)

    async def close(self) -> None:
        await self.client.aclose()


def counters_for(settings: Settings) -> Counters:
    return RedisCounters(settings.redis_url) if settings.redis_url else LocalCounters()


def wall_clock() -> float:
    """Seconds since the epoch: the windows are wall-clock minutes shared by every replica (tests hold it
    still, so that a test never straddles two windows on a slow machine); core.clock's wall clock."""
    return wall_now().timestamp()


class RateLimitMiddleware:
    """Pure ASGI: refuses a request over budget with 429 before anything else reads it."""

    def __init__(self, app: ASGIApp, *, settings: Settings, counters: Counters,
                 clock: Callable[[], float] | None = None) -> None:
        self.app = app
        self.settings = settings
        self.counters = counters
        self.clock = clock or (lambda: wall_clock())
        self.window_seconds = settings.rate_limit_window_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        kind = route_class(scope["method"], scope["path"])
        if kind is None:
            await self.app(scope, receive, send)
            return
        budgets = self._budgets(scope, kind)
        now = self.clock()
        window = int(now // self.window_seconds)
        counts = await self.counters.hit([key for key, _ in budgets], window, self.window_seconds)
        for (key, limit), count in zip(budgets, counts):
            if count > limit:
                retry_after = max(1, math.ceil((window + 1) * self.window_seconds - now))
                await _too_many(send, kind, limit=limit, window=self.window_seconds, retry_after=retry_after,
                                who="caller" if key.startswith(("sales:rl:p:", "sales:rl:s:")) else "address")
                return
        await self.app(scope, receive, send)

    def _budgets(self, scope: Scope, kind: RouteClass) -> list[tuple[str, int]]:
        """(counter key, limit) pairs the request is counted against."""
        principal = self._principal(scope)
        if principal is not None and Role.SERVICE in principal.roles:
            return [(f"sales:rl:s:{kind}:{principal.sub}", _limit(self.settings.rate_limit_service, kind))]
        client = scope.get("client")
        address = client[0] if client else "unknown"
        budgets = [(f"sales:rl:a:{kind}:{address}", _limit(self.settings.rate_limit_address, kind))]
        if principal is not None:
            budgets.append((f"sales:rl:p:{kind}:{principal.sub}", _limit(self.settings.rate_limit_principal, kind)))
        return budgets

    def _principal(self, scope: Scope) -> Principal | None:
        authorization = next((value for name, value in scope.get("headers", []) if name == b"authorization"), None)
        token = bearer_token(authorization.decode("latin-1")) if authorization else None
        if token is None:
            return None
        try:
            return principal_of(scope.setdefault("state", {}), token, self.settings)
        except NotAuthenticated:
            return None  # answered 401 by the route; counted against its address only


def _limit(budget: RateBudget, kind: RouteClass) -> int:
    limit: int = getattr(budget, kind.value)
    return limit


async def _too_many(send: Send, kind: RouteClass, *, limit: int, window: int, retry_after: int, who: str) -> None:
    body = dumps(problem(429, "Too many requests",
                         f"this {who} has used its {limit} {kind.value} requests per {window} s; "
                         f"retry after {retry_after} s", code="rate_limited", route_class=kind.value,
                         limit=limit, window_seconds=window))
    headers: list[Any] = [(b"content-type", b"application/problem+json"),
                          (b"content-length", str(len(body)).encode()), (b"retry-after", str(retry_after).encode())]
    await send({"type": "http.response.start", "status": 429, "headers": headers})
    await send({"type": "http.response.body", "body": body})
