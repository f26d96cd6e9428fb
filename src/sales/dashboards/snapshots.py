"""Snapshots for the console's RM, team, city and forecast pages (issue 18, PRD §8.1 "dashboard < 2 s").

Measuring a team's or a city's KPIs and back-testing the forecast reads every closed pipeline: seconds at PRD scale,
more at 10x. The pages therefore show a snapshot of the same read model the API returns, with its age:

- a page checks the caller's scope first (404 as the API), then serves the snapshot of that scope and period if it
  was computed less than SERVE_FOR ago, else computes it (as the API does, live) and stores it;
- the `dashboards-refresh` job recomputes every snapshot read in the last KEEP_WARM and older than REFRESH_AFTER,
  so a page viewed regularly is served from a snapshot at most about REFRESH_AFTER old, and drops the snapshots
  nobody read for KEEP_UNREAD;
- it also keeps every city's page and city forecast of the running month computed, read or not (cities are few,
  and at 10x a city's page measured live takes seconds: its first view must not), WARM_BATCH per run.

The API (`/dashboards/...`) never reads snapshots: it always measures live.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.auth import Principal, Role
from sales.dashboards import repository, service
from sales.dashboards.errors import DashboardScopeNotFound
from sales.dashboards.schemas import ForecastRead, RmDashboard, ScopeDashboard
from sales.targets import repository as targets_repository
from sales.targets import rules as target_rules
from sales.targets.enums import LeaderboardScope, PeriodType

REFRESH_AFTER = timedelta(minutes=10)
SERVE_FOR = timedelta(minutes=30)  # older (the job not running): the page recomputes
KEEP_WARM = timedelta(days=1)
KEEP_UNREAD = timedelta(days=7)
REFRESH_BATCH = 50
WARM_BATCH = 4  # city pages computed per run of the job: at 10x a few seconds each
SYSTEM = Principal(sub=UUID(int=0), roles=frozenset({Role.SALES_ADMIN}), name="dashboards-refresh")

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Served(Generic[M]):
    """A read model and when it was computed (`as_of` inside it is the business time it was measured at)."""

    model: M
    computed_at: datetime


async def _served(conn: AsyncConnection, key: tuple[str, str, str, date], model: type[M],
                  compute: Callable[[], Awaitable[M]], now: datetime) -> Served[M]:
    found = await repository.snapshot(conn, *key, now=now)
    if found is not None and now - found.computed_at < SERVE_FOR:
        return Served(model.model_validate(found.payload), found.computed_at)
    fresh = await compute()
    await repository.store_snapshot(conn, *key, payload=fresh.model_dump(mode="json"), now=now)
    return Served(fresh, now)


async def rm(conn: AsyncConnection, principal: Principal, *, rm_id: UUID, period_type: PeriodType,
             period_start: date | None, now: datetime) -> Served[RmDashboard]:
    """An RM's dashboard: the same for every caller who may see it (the RM, their SUPERVISOR, SALES_ADMIN)."""
    found = await service._rm_in_scope(conn, principal, rm_id)
    start, _ = service._period(period_type, period_start, await service._timezone(conn, found.city), now)
    return await _served(conn, ("rm", str(rm_id), period_type.value, start), RmDashboard, lambda: (
        service.rm_dashboard(conn, principal, rm_id=rm_id, period_type=period_type, period_start=start, now=now)),
        now)


async def team(conn: AsyncConnection, principal: Principal, *, team_id: UUID, period_type: PeriodType,
               period_start: date | None, now: datetime) -> Served[ScopeDashboard]:
    _, city, _ = await service._team(conn, principal, team_id)  # scope first: 404 as the API
    start, _ = service._period(period_type, period_start, await service._timezone(conn, city), now)
    return await _served(conn, ("team", str(team_id), period_type.value, start), ScopeDashboard, lambda: (
        service.team_dashboard(conn, principal, team_id=team_id, period_type=period_type, period_start=start,
                               now=now)), now)


async def city(conn: AsyncConnection, principal: Principal, *, city: str, period_type: PeriodType,
               period_start: date | None, now: datetime) -> Served[ScopeDashboard]:
    name, _ = await service._city(conn, principal, city)
    start, _ = service._period(period_type, period_start, await service._timezone(conn, name), now)
    return await _served(conn, ("city", name.lower(), period_type.value, start), ScopeDashboard, lambda: (
        service.city_dashboard(conn, principal, city=name, period_type=period_type, period_start=start, now=now)),
        now)


async def forecast(conn: AsyncConnection, principal: Principal, *, scope: LeaderboardScope, scope_id: str,
                   period_type: PeriodType, now: datetime) -> Served[ForecastRead]:
    """Keyed by the scope and the month it is made in (its figures are of the month and quarter running now)."""
    if scope is LeaderboardScope.team:
        try:
            team_id = UUID(scope_id)
        except ValueError:
            team_id = None
        if team_id is not None:
            _, city_name, _ = await service._team(conn, principal, team_id)
            canonical = str(team_id)
        else:  # the service's 422
            return Served(await service.forecast(conn, principal, scope=scope, scope_id=scope_id,
                                                 period_type=period_type, now=now), now)
    else:
        city_name, _ = await service._city(conn, principal, scope_id)
        canonical = city_name.lower()
    month = target_rules.period_start_containing(
        PeriodType.MONTHLY, target_rules.local_day(now, await service._timezone(conn, city_name)))
    return await _served(conn, ("forecast", f"{scope.value}:{canonical}", period_type.value, month), ForecastRead,
                         lambda: service.forecast(conn, principal, scope=scope, scope_id=canonical,
                                                  period_type=period_type, now=now), now)


async def _recompute(conn: AsyncConnection, row: Any, now: datetime) -> BaseModel | None:
    """A snapshot's read model measured now, or None when it no longer applies (a forecast of a past month)."""
    period_type = PeriodType(row.period_type)
    if row.kind == "rm":
        return await service.rm_dashboard(conn, SYSTEM, rm_id=UUID(row.scope_key), period_type=period_type,
                                          period_start=row.period_start, now=now)
    if row.kind == "team":
        return await service.team_dashboard(conn, SYSTEM, team_id=UUID(row.scope_key), period_type=period_type,
                                            period_start=row.period_start, now=now)
    if row.kind == "city":
        return await service.city_dashboard(conn, SYSTEM, city=row.scope_key, period_type=period_type,
                                            period_start=row.period_start, now=now)
    scope, _, scope_id = row.scope_key.partition(":")
    found = await service.forecast(conn, SYSTEM, scope=LeaderboardScope(scope), scope_id=scope_id,
                                   period_type=period_type, now=now)
    return found if found.month.period_start == row.period_start else None


async def refresh(conn: AsyncConnection, *, now: datetime) -> dict[str, int]:
    """Recompute the snapshots read lately and older than REFRESH_AFTER (oldest first, a batch per run); drop those
    unread for KEEP_UNREAD and those that no longer apply (their scope is gone, or a forecast's month is over)."""
    refreshed = dropped = 0
    for row in await repository.snapshots_to_refresh(conn, computed_before=now - REFRESH_AFTER,
                                                     read_since=now - KEEP_WARM, limit=REFRESH_BATCH):
        key = (row.kind, row.scope_key, row.period_type, row.period_start)
        try:
            fresh = await _recompute(conn, row, now)
        except DashboardScopeNotFound:
            fresh = None
        if fresh is None:
            dropped += await repository.drop_snapshot(conn, *key)
            continue
        await repository.store_snapshot(conn, *key, payload=fresh.model_dump(mode="json"), now=now,
                                        keep_read_at=True)
        refreshed += 1
    dropped += await repository.drop_unread_snapshots(conn, read_before=now - KEEP_UNREAD)
    warmed = await _warm_cities(conn, now)
    return {"processed": refreshed + warmed, "refreshed": refreshed, "warmed": warmed, "dropped": dropped}


async def _warm_cities(conn: AsyncConnection, now: datetime) -> int:
    """Compute (at most WARM_BATCH of) the monthly city page and the city forecast of the running month of every
    city whose snapshot is missing or older than REFRESH_AFTER, with the keys the pages read. A snapshot made here
    and never read is dropped after KEEP_UNREAD and made again by the next run."""
    warmed = 0
    for lowered in sorted({city.lower() for city in await targets_repository.cities(conn)}):
        name = await targets_repository.city_named(conn, lowered) or lowered  # as the page spells it
        timezone = await service._timezone(conn, name)
        start, _ = service._period(PeriodType.MONTHLY, None, timezone, now)
        month = target_rules.period_start_containing(PeriodType.MONTHLY, target_rules.local_day(now, timezone))
        pages: list[tuple[tuple[str, str, str, date], Callable[[], Awaitable[BaseModel]]]] = [
            (("city", name.lower(), PeriodType.MONTHLY.value, start),
             lambda: service.city_dashboard(conn, SYSTEM, city=name, period_type=PeriodType.MONTHLY,
                                            period_start=start, now=now)),
            (("forecast", f"{LeaderboardScope.city.value}:{name.lower()}", PeriodType.MONTHLY.value, month),
             lambda: service.forecast(conn, SYSTEM, scope=LeaderboardScope.city, scope_id=name.lower(),
                                      period_type=PeriodType.MONTHLY, now=now))]
        for key, compute in pages:
            computed_at = await repository.snapshot_computed_at(conn, *key)
            if computed_at is not None and now - computed_at < REFRESH_AFTER:
                continue
            if warmed == WARM_BATCH:
                return warmed
            fresh = await compute()
            await repository.store_snapshot(conn, *key, payload=fresh.model_dump(mode="json"), now=now,
                                            keep_read_at=computed_at is not None)
            warmed += 1
    return warmed
