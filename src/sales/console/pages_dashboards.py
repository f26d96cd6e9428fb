"""Dashboard pages (issue 18): an RM's, a team's and a city's dashboard and the revenue forecast, each with charts
(the vendored Chart.js, wired by console.js from JSON data blocks), the same figures as tables, a period and scope
switch, and a CSV export of every table (`?format=csv&table=<name>`). The same use cases as GET
/dashboards/rm/{rmId}, /dashboards/team/{teamId}, /dashboards/city/{city} and /dashboards/forecast, in the request's
transaction, with the session's principal and the same role gates (out-of-scope ids are 404 pages). The pages are
served from snapshots (`dashboards.snapshots`) and say how old they are."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote, urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from sales.console import dashboard_tables as tables
from sales.console.pages_desk import error_message
from sales.console.web import Ctx, redirect, render, roles
from sales.core.auth import Role
from sales.core.errors import SalesError
from sales.core.http import Conn, Now
from sales.dashboards import repository, snapshots
from sales.dashboards.enums import ForecastPeriod
from sales.targets import rules as target_rules
from sales.targets.enums import LeaderboardScope, PeriodType

router = APIRouter()
RmReader = Annotated[Ctx, Depends(roles(Role.RM, Role.SUPERVISOR, Role.SALES_ADMIN))]  # as GET /dashboards/rm
ScopeReader = Annotated[Ctx, Depends(roles(Role.SUPERVISOR, Role.SALES_ADMIN))]  # team, city, forecast
PERIOD_LABELS = {PeriodType.DAILY: "Day", PeriodType.WEEKLY: "Week", PeriodType.MONTHLY: "Month",
                 PeriodType.QUARTERLY: "Quarter"}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9_-]+")


class _BadQuery(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _period(request: Request) -> tuple[PeriodType, date | None]:
    q = request.query_params
    raw_type = q.get("period_type") or PeriodType.MONTHLY.value
    period_type = next((p for p in PeriodType if p.value == raw_type), None)
    if period_type is None:
        raise _BadQuery("Period: choose a day, week, month or quarter.")
    raw_day = q.get("period_start") or None
    try:
        day = date.fromisoformat(raw_day) if raw_day else None
    except ValueError:
        raise _BadQuery("Period: enter a day as YYYY-MM-DD.") from None
    # Any day picks the period containing it (the API wants the period's first day), so changing the period type
    # keeps the date in view.
    return period_type, None if day is None else target_rules.period_start_containing(period_type, day)


def _neighbours(request: Request, period_type: PeriodType, start: date) -> tuple[str, str]:
    """Links to the previous and the next period (other query parameters kept)."""
    previous = target_rules.period_start_containing(period_type, start - timedelta(days=1))
    following = target_rules.period_end(period_type, start) + timedelta(days=1)

    def link(day: date) -> str:
        params = {k: v for k, v in request.query_params.items() if k not in ("period_start", "format", "table")}
        return request.url.path + "?" + urlencode({**params, "period_type": period_type.value,
                                                   "period_start": day.isoformat()})
    return link(previous), link(following)


def _csv_or_page(request: Request, ctx: Ctx, shown: list[tables.Table], stem: str, template: str,
                 **values: Any) -> Response:
    q = request.query_params
    if q.get("format") == "csv":
        table = next((t for t in shown if t.name == q.get("table")), None)
        if table is None:
            return _error(request, ctx, 422, "Export", "Table: choose one of " +
                          ", ".join(t.name for t in shown) + ".")
        filename = _SAFE_NAME.sub("-", f"{stem}-{table.name}").strip("-")
        return Response(tables.to_csv(table), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="{filename}.csv"', "Cache-Control": "no-store"})
    base = request.url.path + "?" + urlencode({k: v for k, v in q.items() if k not in ("format", "table")})
    exports = {t.name: f"{base}&{urlencode({'format': 'csv', 'table': t.name})}" for t in shown}
    return render(request, template, ctx, tables=shown, exports=exports, period_labels=PERIOD_LABELS, **values)


def _error(request: Request, ctx: Ctx, status: int, title: str, message: str) -> Response:
    return render(request, "error.html", ctx, status_code=status, title=title, message=message)


async def _switch(conn: Conn, ctx: Ctx, rm_team: UUID | None = None) -> dict[str, Any]:
    """What the scope switch offers: the caller's teams and their cities, and the RMs of a team."""
    principal = ctx.principal
    teams = await repository.teams_in_reach(conn, None if principal.is_admin else principal.supervised_teams) \
        if ctx.supervising else []
    cities = sorted({t.city for t in teams}, key=str.lower)
    team_rms = await repository.team_rms(conn, rm_team) if rm_team is not None and ctx.supervising else []
    return {"teams": teams, "cities": cities, "team_rms": team_rms}


def _failure(request: Request, ctx: Ctx, exc: Exception) -> Response:
    if isinstance(exc, _BadQuery):
        return _error(request, ctx, 422, "Check the period", exc.message)
    assert isinstance(exc, SalesError)
    message, _ = error_message(exc)
    title = "Not found" if exc.status_code == 404 else "Check the period"
    return _error(request, ctx, exc.status_code, title, message)


@router.get("/dashboards", include_in_schema=False)
async def dashboards_index(request: Request, ctx: RmReader, conn: Conn) -> Response:
    """The scope switch's target (`view=rm:<id>`, `team:<id>`, `city:<name>`, `forecast-team:<id>`,
    `forecast-city:<name>`, period kept), else the caller's own dashboard (an RM) or the list of theirs."""
    q = request.query_params
    period = {k: q[k] for k in ("period_type", "period_start") if q.get(k)}
    kind, _, value = (q.get("view") or "").partition(":")
    if value:
        paths = {"rm": f"/console/dashboards/rm/{quote(value, safe='')}",
                 "team": f"/console/dashboards/team/{quote(value, safe='')}",
                 "city": f"/console/dashboards/city/{quote(value, safe='')}"}
        if kind in paths:
            return redirect(paths[kind] + ("?" + urlencode(period) if period else ""), request)
        if kind in ("forecast-team", "forecast-city"):
            params = {"scope": kind.removeprefix("forecast-"), "scope_id": value}
            if q.get("period"):
                params["period"] = q["period"]
            return redirect("/console/dashboards/forecast?" + urlencode(params), request)
    if ctx.role is Role.RM:
        return redirect(f"/console/dashboards/rm/{ctx.principal.sub}", request)
    return render(request, "dashboards.html", ctx, **await _switch(conn, ctx))


@router.get("/dashboards/rm/{rm_id}", include_in_schema=False)
async def rm_page(request: Request, rm_id: UUID, ctx: RmReader, conn: Conn, now: Now) -> Response:
    try:
        period_type, start = _period(request)
        served = await snapshots.rm(conn, ctx.principal, rm_id=rm_id, period_type=period_type, period_start=start,
                                    now=now)
    except (SalesError, _BadQuery) as exc:
        return _failure(request, ctx, exc)
    board = served.model
    previous, following = _neighbours(request, period_type, board.period_start)
    return _csv_or_page(request, ctx, tables.rm_tables(board), f"rm-{board.rm_name}-{board.period_start}",
                        "dashboard_rm.html", board=board, charts=tables.rm_charts(board), previous=previous,
                        following=following, **_staleness(served, now), **await _switch(conn, ctx, board.team_id))


def _staleness(served: snapshots.Served[Any], now: datetime) -> dict[str, Any]:
    return {"computed_at": served.computed_at, "age_minutes": int((now - served.computed_at).total_seconds() // 60),
            "refresh_minutes": int(snapshots.REFRESH_AFTER.total_seconds() // 60)}


async def _scope_page(request: Request, ctx: Ctx, conn: Conn, served: snapshots.Served[Any], now: datetime
                      ) -> Response:
    board = served.model
    previous, following = _neighbours(request, board.period_type, board.period_start)
    return _csv_or_page(request, ctx, tables.scope_tables(board), f"{board.scope}-{board.name}-{board.period_start}",
                        "dashboard_scope.html", board=board, charts=tables.scope_charts(board), previous=previous,
                        following=following, **_staleness(served, now), **await _switch(conn, ctx))


@router.get("/dashboards/team/{team_id}", include_in_schema=False)
async def team_page(request: Request, team_id: UUID, ctx: ScopeReader, conn: Conn, now: Now) -> Response:
    try:
        period_type, start = _period(request)
        served = await snapshots.team(conn, ctx.principal, team_id=team_id, period_type=period_type,
                                      period_start=start, now=now)
    except (SalesError, _BadQuery) as exc:
        return _failure(request, ctx, exc)
    return await _scope_page(request, ctx, conn, served, now)


@router.get("/dashboards/city/{city}", include_in_schema=False)
async def city_page(request: Request, city: str, ctx: ScopeReader, conn: Conn, now: Now) -> Response:
    try:
        period_type, start = _period(request)
        if not city.strip() or len(city) > 100:
            raise _BadQuery("City: name a city.")
        served = await snapshots.city(conn, ctx.principal, city=city, period_type=period_type,
                                      period_start=start, now=now)
    except (SalesError, _BadQuery) as exc:
        return _failure(request, ctx, exc)
    return await _scope_page(request, ctx, conn, served, now)


@router.get("/dashboards/forecast", include_in_schema=False)
async def forecast_page(request: Request, ctx: ScopeReader, conn: Conn, now: Now) -> Response:
    q = request.query_params
    switch = await _switch(conn, ctx)
    scope = next((s for s in LeaderboardScope if s.value == (q.get("scope") or "team")), None)
    scope_id = q.get("scope_id") or (str(switch["teams"][0].id) if switch["teams"] and scope is LeaderboardScope.team
                                     else "")
    period = next((p for p in ForecastPeriod if p.value == (q.get("period") or "MONTHLY")), None)
    try:
        if scope is None or period is None or not scope_id or len(scope_id) > 100:
            raise _BadQuery("Choose a team or a city, and a monthly or quarterly back-test.")
        served = await snapshots.forecast(conn, ctx.principal, scope=scope, scope_id=scope_id,
                                          period_type=PeriodType(period.value), now=now)
    except (SalesError, _BadQuery) as exc:
        return _failure(request, ctx, exc)
    found = served.model
    return _csv_or_page(request, ctx, tables.forecast_tables(found), f"forecast-{scope.value}-{found.scope_id}",
                        "dashboard_forecast.html", found=found, period=period, periods=list(ForecastPeriod),
                        charts=tables.forecast_charts(found), **_staleness(served, now), **switch)
