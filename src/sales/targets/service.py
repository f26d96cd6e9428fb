"""Target use cases (issue 13). Never commits.

How achievement moves (decision): it is measured from the facts when asked. Every read (a target, a list, an
RM's or a team's targets, a leaderboard) measures the live targets it returns with grouped SQL
aggregates (one query per metric and period window for a page's or a board's individual targets, one per team or
city target) and answers the figures and live status (ACTIVE / ACHIEVED) as they stand; reads write nothing. The
stored figures are refreshed by every write of the target (POST, PUT) and by the `targets-refresh` job, for SQL
readers; `targets-close` settles the targets whose period has ended (ACHIEVED if met, else MISSED), after which
they no longer move. No fact is missed whatever order events arrive in, and nothing has to hook into the
pipelines, allocation or orders code paths.
"""
from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from pydantic import TypeAdapter
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.allocation import service as allocation_service
from sales.core import audit
from sales.core.auth import Principal, Role
from sales.core.errors import Forbidden, InvalidInput
from sales.core.fields import Date
from sales.core.http import cursor_after
from sales.targets import repository, rules
from sales.targets.enums import LeaderboardScope, MetricType, PeriodType, TargetStatus, TargetType
from sales.targets.errors import ScopeNotFound, TargetClosed, TargetExists, TargetNotFound
from sales.targets.schemas import (Leaderboard, LeaderboardRow, TargetCreate, TargetRead, TargetUpdate,
                                   TeamTargets)

AFTER_PERIOD_AND_ID: TypeAdapter[tuple[date, UUID]] = TypeAdapter(tuple[Date, UUID])
BATCH = 500
FIGURES = ("target_value", "achieved_value", "achievement_percentage")


def _read(row: Any) -> TargetRead:
    """The target with its figures at two places on both databases (SQLite keeps NUMERIC as REAL)."""
    values = dict(row._mapping)
    return TargetRead.model_validate({**values, **{k: rules.half_up(Decimal(str(values[k]))) for k in FIGURES}})


def cursor_of(target: TargetRead) -> tuple[Any, ...]:
    return (target.period_start.isoformat(), target.id)


# --- measuring ------------------------------------------------------------------------------------

class _Zones:
    """Each city's time zone (the allocation rules'), looked up once per use case."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self.known: dict[str, str] = {}

    async def of(self, city: str | None) -> str:
        if not city:
            return "UTC"
        if city not in self.known:
            self.known[city] = (await allocation_service.rules_for(self.conn, city))[0].timezone
        return self.known[city]


async def _facts(conn: AsyncConnection, rows: list[Any], zones: _Zones) -> dict[UUID, rules.Facts]:
    """The facts of each target's period: individual targets grouped by (metric, period window) in one aggregate
    each; a team or city target rolls up its members' facts."""
    groups: dict[tuple[str, datetime, datetime], list[Any]] = defaultdict(list)
    result: dict[UUID, rules.Facts] = {}
    for row in rows:
        start, end = rules.window(row.period_start, row.period_end, await zones.of(row.city))
        if row.target_type == TargetType.INDIVIDUAL.value:
            groups[(row.metric_type, start, end)].append(row)
            continue
        members = repository.members(row.target_type, row.assignee_id, row.city)
        by_rm = await repository.facts_by_rm(conn, MetricType(row.metric_type), members, start, end)
        result[row.id] = rules.roll_up(by_rm.values())
    for (metric, start, end), group in groups.items():
        rm_ids = repository.rm_ids([r.assignee_id for r in group])
        by_rm = await repository.facts_by_rm(conn, MetricType(metric), rm_ids, start, end)
        for row in group:
            result[row.id] = by_rm.get(row.assignee_id, rules.Facts())
    return result


@dataclass(frozen=True)
class _Progress:
    achieved: Decimal
    percentage: Decimal
    status: TargetStatus
    settled: bool  # the period has ended: the status is final


async def _progress(conn: AsyncConnection, rows: list[Any], zones: _Zones, *, now: datetime | None
                    ) -> dict[UUID, _Progress]:
    """The figures and status of the live targets among `rows`; with `now`, a target whose period has ended by
    then takes its closing status (ACHIEVED / MISSED), else its live one (ACTIVE / ACHIEVED)."""
    live = [r for r in rows if r.status in rules.LIVE and r.closed_at is None]
    facts = await _facts(conn, live, zones)
    result: dict[UUID, _Progress] = {}
    for row in live:
        achieved = rules.achieved_value(MetricType(row.metric_type), facts[row.id])
        target_value = rules.half_up(Decimal(str(row.target_value)))
        over = now is not None and rules.period_over(row.period_end, await zones.of(row.city), now)
        status = (rules.closing_status if over else rules.live_status)(achieved, target_value)
        result[row.id] = _Progress(achieved, rules.percentage(achieved, target_value), status, over)
    return result


async def measure(conn: AsyncConnection, rows: list[Any]) -> list[TargetRead]:
    """The targets as they stand now (reads only): a live target's figures and status measured from the facts;
    cancelled and settled targets as stored."""
    progress = await _progress(conn, rows, _Zones(conn), now=None)
    reads = [_read(r) for r in rows]
    return [t.model_copy(update={"achieved_value": p.achieved, "achievement_percentage": p.percentage,
                                 "status": p.status}) if (p := progress.get(t.id)) else t for t in reads]


async def store(conn: AsyncConnection, rows: list[Any], *, now: datetime, settle: bool = False) -> list[Any]:
    """Measure the live targets among `rows` and store what changed (in id order, so concurrent writers lock rows
    in one order); `settle`: those whose period has ended are closed (ACHIEVED / MISSED, `closed_at`). The rows
    as stored afterwards."""
    progress = await _progress(conn, rows, _Zones(conn), now=now if settle else None)
    before = {r.id: _read(r) for r in rows}
    stored: dict[UUID, Any] = {}
    for target_id in sorted(progress):
        p, was = progress[target_id], before[target_id]
        if not p.settled and (was.achieved_value, was.achievement_percentage, was.status) == (
                p.achieved, p.percentage, p.status):
            continue  # unchanged: no write (targets-refresh in a steady state writes only what moved)
        stored[target_id] = await repository.store_progress(conn, target_id, achieved=p.achieved,
                                                            percentage=p.percentage, status=p.status.value,
                                                            closed_at=now if p.settled else None, now=now)
    return [stored.get(r.id, r) for r in rows]


# --- for other domains: the RM's monthly revenue achievement ------------------------------------

@dataclass(frozen=True)
class MonthlyRevenue:
    """An RM's month (in their city's time zone) with its REVENUE figure and the INDIVIDUAL MONTHLY REVENUE
    target's value (None without a live one). The one definition of the month's revenue achievement: the
    target's `achieved_value` and the commission tiers (CMR-003) are both this figure."""

    month_start: date
    revenue: Decimal
    target: Decimal | None


async def month_of(conn: AsyncConnection, *, city: str | None, at: datetime) -> date:
    """The first day of the month holding `at` in the city's time zone (the calendar targets use)."""
    zone = await _Zones(conn).of(city)
    return rules.local_date(at, zone).replace(day=1)


async def monthly_revenue(conn: AsyncConnection, *, rm_id: UUID, city: str | None, month_start: date
                          ) -> MonthlyRevenue:
    """The RM's REVENUE of the month beginning `month_start`, measured as a MONTHLY REVENUE target measures it
    (the same query over the same window: the target's city time zone, else the RM's), and that target's value."""
    target = await repository.live_target(conn, target_type=TargetType.INDIVIDUAL.value, assignee_id=rm_id,
                                          metric=MetricType.REVENUE.value, period_type=PeriodType.MONTHLY.value,
                                          period_start=month_start)
    zone = await _Zones(conn).of(target.city if target is not None else city)
    start, end = rules.window(month_start, rules.period_end(PeriodType.MONTHLY, month_start), zone)
    facts = await repository.facts_by_rm(conn, MetricType.REVENUE, repository.rm_ids([rm_id]), start, end)
    return MonthlyRevenue(month_start, rules.achieved_value(MetricType.REVENUE, facts.get(rm_id, rules.Facts())),
                          None if target is None else rules.half_up(Decimal(str(target.target_value))))


# --- create / update ------------------------------------------------------------------------------

async def _assignee(conn: AsyncConnection, principal: Principal, data: TargetCreate) -> tuple[UUID, str]:
    """The assignee id and city of a new target, checked against the directory and the caller's teams."""
    if data.target_type is TargetType.CITY:
        if principal.has(Role.SUPERVISOR) and not principal.is_admin:
            raise Forbidden("city targets are set by a SALES_ADMIN")
        if data.city is None:
            raise InvalidInput(("city",), "a CITY target names its city")
        city = await repository.city_named(conn, data.city)
        if city is None:
            raise InvalidInput(("city",), f"no RM or team is in {data.city!r}")
        if data.assignee_id is not None and data.assignee_id != rules.city_id(city):
            raise InvalidInput(("assignee_id",), f"the id of {city!r} is {rules.city_id(city)}")
        return rules.city_id(city), city
    if data.city is not None:
        raise InvalidInput(("city",), "only a CITY target names a city")
    if data.assignee_id is None:
        raise InvalidInput(("assignee_id",), f"a {data.target_type.value} target names its assignee")
    if data.target_type is TargetType.INDIVIDUAL:
        rm = await repository.rm(conn, data.assignee_id)
        if rm is None:
            raise InvalidInput(("assignee_id",), f"no RM {data.assignee_id}")
        if not principal.is_admin and not principal.supervises(rm.team_id):
            raise Forbidden("supervisors set targets for the RMs of their teams")
        return rm.id, rm.city
    team = await repository.team(conn, data.assignee_id)
    if team is None:
        raise InvalidInput(("assignee_id",), f"no team {data.assignee_id}")
    if not principal.is_admin and not principal.supervises(team.id):
        raise Forbidden("supervisors set targets for their own teams")
    return team.id, team.city


def _check_value(metric: MetricType, value: Decimal) -> None:
    if (problem := rules.target_value_problem(metric, value)) is not None:
        raise InvalidInput(("target_value",), problem)


async def create_target(conn: AsyncConnection, principal: Principal, *, data: TargetCreate,
                        now: datetime) -> TargetRead:
    if (problem := rules.boundary_problem(data.period_type, data.period_start)) is not None:
        raise InvalidInput(("period_start",), problem)
    _check_value(data.metric_type, data.target_value)
    assignee_id, city = await _assignee(conn, principal, data)
    row = await repository.insert_unless_live(conn, {
        "id": uuid.uuid4(), "target_type": data.target_type.value, "assignee_id": assignee_id, "city": city,
        "period_type": data.period_type.value, "period_start": data.period_start,
        "period_end": rules.period_end(data.period_type, data.period_start), "metric_type": data.metric_type.value,
        "target_value": data.target_value, "achieved_value": Decimal("0.00"),
        "achievement_percentage": Decimal("0.00"), "status": TargetStatus.ACTIVE.value, "created_by": principal.sub,
        "created_at": now, "updated_at": now})
    if row is None:
        raise TargetExists(f"{assignee_id} already has a {data.period_type.value} {data.metric_type.value} target "
                           f"from {data.period_start}")
    [row] = await store(conn, [row], now=now)
    target = _read(row)
    await audit.record(conn, principal, action="target.created", entity_type="sales_target", entity_id=target.id,
                       at=now, after=target)
    return target


async def _writable(conn: AsyncConnection, principal: Principal, row: Any) -> None:
    if principal.is_admin:
        return
    if row.target_type == TargetType.TEAM.value and principal.supervises(row.assignee_id):
        return
    if row.target_type == TargetType.INDIVIDUAL.value:
        rm = await repository.rm(conn, row.assignee_id)
        if rm is not None and principal.supervises(rm.team_id):
            return
    raise Forbidden("supervisors change the targets of their teams and their teams' RMs")


async def update_target(conn: AsyncConnection, principal: Principal, *, target_id: UUID, data: TargetUpdate,
                        now: datetime) -> TargetRead:
    if data.target_value is None and data.status is None:
        raise InvalidInput(("target_value",), "give a new target_value and/or status CANCELLED")
    row = await repository.get(conn, target_id, scope=repository.readable(principal))
    if row is None:
        raise TargetNotFound(f"target {target_id} not found")
    await _writable(conn, principal, row)
    if row.status not in rules.LIVE or row.closed_at is not None:
        raise TargetClosed(f"target {target_id} is {row.status} and settled")
    values: dict[str, Any] = {"updated_at": now}
    if data.target_value is not None:
        _check_value(MetricType(row.metric_type), data.target_value)
        values["target_value"] = data.target_value
    if data.status is not None:
        values["status"] = TargetStatus.CANCELLED.value
    after = await repository.update_target(conn, target_id, expected_status=row.status, values=values)
    if after is None:
        raise TargetClosed(f"target {target_id} changed meanwhile; read it again")
    [after] = await store(conn, [after], now=now)
    await audit.record(conn, principal, action="target.cancelled" if data.status else "target.updated",
                       entity_type="sales_target", entity_id=target_id, at=now, before=_read(row),
                       after=_read(after))
    return _read(after)


# --- reads ----------------------------------------------------------------------------------------

async def get_target(conn: AsyncConnection, principal: Principal, *, target_id: UUID) -> TargetRead:
    row = await repository.get(conn, target_id, scope=repository.readable(principal))
    if row is None:
        raise TargetNotFound(f"target {target_id} not found")
    return (await measure(conn, [row]))[0]


async def list_targets(conn: AsyncConnection, principal: Principal, *, filters: dict[str, Any], limit: int,
                       cursor: list[Any] | None) -> list[TargetRead]:
    rows = await repository.list_(conn, scope=repository.readable(principal), filters=filters, limit=limit,
                                  after=cursor_after(cursor, AFTER_PERIOD_AND_ID))
    return await measure(conn, rows)


async def _check_rm_in_scope(conn: AsyncConnection, principal: Principal, rm_id: UUID) -> Any:
    rm = await repository.rm(conn, rm_id)
    visible = rm is not None and (principal.has(*repository.FULL_READERS) or rm.id == principal.sub
                                  or principal.supervises(rm.team_id))
    if not visible:
        raise ScopeNotFound(f"RM {rm_id} not found")
    return rm


async def rm_targets(conn: AsyncConnection, principal: Principal, *, rm_id: UUID, filters: dict[str, Any],
                     limit: int, cursor: list[Any] | None) -> list[TargetRead]:
    """An RM's own (INDIVIDUAL) targets: the RM, their supervisor, SALES_ADMIN / FINANCE_ADMIN."""
    await _check_rm_in_scope(conn, principal, rm_id)
    filters = {**filters, "target_type": TargetType.INDIVIDUAL.value, "assignee_id": rm_id}
    return await list_targets(conn, principal, filters=filters, limit=limit, cursor=cursor)


async def team_targets(conn: AsyncConnection, principal: Principal, *, team_id: UUID) -> TeamTargets:
    team = await repository.team(conn, team_id)
    if team is None or not (principal.has(*repository.FULL_READERS) or principal.supervises(team_id)):
        raise ScopeNotFound(f"team {team_id} not found")
    rows = await measure(conn, await repository.team_targets(conn, team_id))
    return TeamTargets(team_id=team_id,
                       team_targets=[r for r in rows if r.target_type is TargetType.TEAM],
                       member_targets=[r for r in rows if r.target_type is TargetType.INDIVIDUAL])


async def _board_scope(conn: AsyncConnection, principal: Principal, scope: LeaderboardScope,
                       scope_id: str) -> tuple[Any, str, str]:
    """(members, city, canonical scope id) of a team (its id) or a city (its name, or its id), within the
    caller's reach: SALES_ADMIN / FINANCE_ADMIN any; a SUPERVISOR their teams and their teams' cities; an RM
    their own team."""
    full = principal.has(*repository.FULL_READERS)
    if scope is LeaderboardScope.team:
        try:
            team_id = UUID(scope_id)
        except ValueError:
            raise InvalidInput.query(("scope_id",), "a team leaderboard's scope_id is the team's id") from None
        team = await repository.team(conn, team_id)
        own = await repository.rm(conn, principal.sub) if principal.has(Role.RM) else None
        if team is None or not (full or principal.supervises(team_id) or (own is not None and own.team_id == team_id)):
            raise ScopeNotFound(f"team {scope_id} not found")
        return repository.members(TargetType.TEAM.value, team_id, team.city), team.city, str(team_id)
    city = await _city_of(conn, scope_id)
    if city is None or not (full or city.lower() in await repository.team_cities(conn, principal.supervised_teams)):
        raise ScopeNotFound(f"city {scope_id} not found")
    return repository.members(TargetType.CITY.value, rules.city_id(city), city), city, city


async def _city_of(conn: AsyncConnection, scope_id: str) -> str | None:
    try:
        wanted = UUID(scope_id)
    except ValueError:
        return await repository.city_named(conn, scope_id)
    return next((c for c in await repository.cities(conn) if rules.city_id(c) == wanted), None)


async def leaderboard(conn: AsyncConnection, principal: Principal, *, metric_type: MetricType,
                      period_type: PeriodType, period_start: date | None, scope: LeaderboardScope, scope_id: str,
                      now: datetime) -> Leaderboard:
    """The INDIVIDUAL targets of the scope's RMs for the metric and period (default: the period running now in
    the scope's city), measured now and ranked by achievement_percentage, then achieved_value; equal pairs share
    a rank (1, 1, 3). RMs without such a target are not on the board."""
    members, city, canonical = await _board_scope(conn, principal, scope, scope_id)
    if period_start is None:
        today = rules.local_day(now, await _Zones(conn).of(city))
        period_start = rules.period_start_containing(period_type, today)
    elif (problem := rules.boundary_problem(period_type, period_start)) is not None:
        raise InvalidInput.query(("period_start",), problem)
    rows = await measure(conn, await repository.board_targets(conn, rm_ids=members, metric=metric_type.value,
                                                              period_type=period_type.value,
                                                              period_start=period_start))
    rows.sort(key=lambda r: (-r.achievement_percentage, -r.achieved_value, r.assignee_id))
    names = await repository.rm_names(conn, [r.assignee_id for r in rows])
    ranks = rules.ranks([(r.achievement_percentage, r.achieved_value) for r in rows])
    return Leaderboard(scope=scope.value, scope_id=canonical, metric_type=metric_type, period_type=period_type,
                       period_start=period_start, period_end=rules.period_end(period_type, period_start),
                       items=[LeaderboardRow(rank=rank, rm_id=r.assignee_id, rm_name=names.get(r.assignee_id, ""),
                                             target_id=r.id, target_value=r.target_value,
                                             achieved_value=r.achieved_value,
                                             achievement_percentage=r.achievement_percentage, status=r.status)
                              for rank, r in zip(ranks, rows, strict=True)])


async def own_teams(conn: AsyncConnection, principal: Principal) -> list[Any]:
    """The teams whose leaderboard is the caller's own (id, name, city): a supervisor's teams, an RM's team."""
    ids: list[UUID] = sorted(principal.supervised_teams)
    if not ids and principal.has(Role.RM):
        rm = await repository.rm(conn, principal.sub)
        ids = [rm.team_id] if rm is not None and rm.team_id is not None else []
    return [team for team_id in ids if (team := await repository.team(conn, team_id)) is not None]


# --- jobs and consumed events ---------------------------------------------------------------------

async def refresh_open(conn: AsyncConnection, *, now: datetime, settle: bool) -> dict[str, int]:
    """Measure every open target (`settle`: only those whose period may have ended, closing those whose period
    has): how many were measured and how many settled."""
    ended_by = (now + timedelta(days=1)).date() if settle else None  # a zone ahead of UTC may already be past
    measured = settled = 0
    after = None
    while rows := await repository.open_targets(conn, ended_by=ended_by, limit=BATCH, after=after):
        done = await store(conn, rows, now=now, settle=settle)
        measured += len(rows)
        settled += sum(1 for r in done if r.closed_at is not None)
        after = rows[-1].id
    return {"measured": measured, "settled": settled}


async def record_csat(conn: AsyncConnection, *, event_id: str, rm_id: UUID, pipeline_id: UUID | None,
                      score: Decimal, at: datetime, now: datetime) -> None:
    await repository.insert_csat(conn, {"event_id": event_id, "rm_id": rm_id, "pipeline_id": pipeline_id,
                                        "score": score, "at": at, "received_at": now})
