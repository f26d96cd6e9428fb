"""Dashboard use cases (issue 18). Reads only; every figure measured from the facts when asked."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import true
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.allocation import service as allocation_service
from sales.commissions import repository as commissions_repository
from sales.commissions.enums import CommissionStatus
from sales.core import hooks
from sales.core.auth import Principal
from sales.core.errors import InvalidInput
from sales.dashboards import repository, rules
from sales.dashboards.errors import DashboardScopeNotFound
from sales.dashboards.schemas import (BacktestPeriod, CommissionFigures, ForecastFigures, ForecastRead, FunnelStage,
                                      Kpi, Kpis, MemberLoad, MetricProgress, MetricTrend, PipelineHealth, RmDashboard,
                                      ScopeDashboard, SlaFigures, StageFigures, StageHealth, TrendPoint)
from sales.pipelines.enums import Stage
from sales.settings import get_settings
from sales.targets import repository as targets_repository
from sales.targets import rules as target_rules
from sales.targets import service as targets_service
from sales.targets.enums import LeaderboardScope, MetricType, PeriodType, TargetStatus, TargetType

ZERO = Decimal("0.00")
TREND_PERIODS = 12
TREND_METRICS = (MetricType.REVENUE, MetricType.DEALS_CLOSED)  # shown even without a target


async def _timezone(conn: AsyncConnection, city: str | None) -> str:
    return (await allocation_service.rules_for(conn, city))[0].timezone if city else "UTC"


def _period(period_type: PeriodType, period_start: date | None, timezone: str, now: datetime) -> tuple[date, date]:
    """(start, end) of the period asked, or of the one running now in the time zone; a start off the period's
    boundary is a 422 naming `period_start`."""
    if period_start is None:
        period_start = target_rules.period_start_containing(period_type, target_rules.local_day(now, timezone))
    elif (problem := target_rules.boundary_problem(period_type, period_start)) is not None:
        raise InvalidInput.query(("period_start",), problem)
    return period_start, target_rules.period_end(period_type, period_start)


async def _rm_in_scope(conn: AsyncConnection, principal: Principal, rm_id: UUID) -> Any:
    rm = await targets_repository.rm(conn, rm_id)
    if rm is None or not (principal.is_admin or rm.id == principal.sub or principal.supervises(rm.team_id)):
        raise DashboardScopeNotFound(f"RM {rm_id} not found")
    return rm


async def _targets(conn: AsyncConnection, principal: Principal, rm: Any, period_type: PeriodType, start: date,
                   now: datetime) -> list[MetricProgress]:
    rows = await targets_repository.list_(conn, scope=true(), filters={
        "target_type": TargetType.INDIVIDUAL.value, "assignee_id": rm.id, "period_type": period_type.value,
        "period_start_from": start, "period_start_to": start}, limit=None, after=None)
    measured = [t for t in await targets_service.measure(conn, rows) if t.status is not TargetStatus.CANCELLED]
    result = []
    for target in sorted(measured, key=lambda t: t.metric_type.value):
        rank = size = None
        if rm.team_id is not None:
            board = await targets_service.leaderboard(
                conn, principal, metric_type=target.metric_type, period_type=period_type, period_start=start,
                scope=LeaderboardScope.team, scope_id=str(rm.team_id), now=now)
            size = len(board.items)
            rank = next((row.rank for row in board.items if row.rm_id == rm.id), None)
        result.append(MetricProgress(metric_type=target.metric_type, target_id=target.id,
                                     target_value=target.target_value, achieved_value=target.achieved_value,
                                     achievement_percentage=target.achievement_percentage, status=target.status,
                                     leaderboard_rank=rank, leaderboard_size=size))
    return result


async def _trend(conn: AsyncConnection, rm: Any, metrics: list[MetricType], period_type: PeriodType, start: date,
                 timezone: str) -> list[MetricTrend]:
    """Each metric over the TREND_PERIODS periods ending with `start`'s, measured as targets measure it."""
    starts = [start]
    while len(starts) < TREND_PERIODS:
        starts.append(target_rules.period_start_containing(period_type, starts[-1] - timedelta(days=1)))
    only_rm = targets_repository.rm_ids([rm.id])
    trends = []
    for metric in metrics:
        points = []
        for first in reversed(starts):
            last = target_rules.period_end(period_type, first)
            facts = await targets_repository.facts_by_rm(conn, metric, only_rm,
                                                         *target_rules.window(first, last, timezone))
            points.append(TrendPoint(period_start=first, period_end=last, achieved_value=target_rules.achieved_value(
                metric, facts.get(rm.id, target_rules.Facts()))))
        trends.append(MetricTrend(metric_type=metric, points=points))
    return trends


async def _commissions(conn: AsyncConnection, rm_id: UUID, start: date, end: date) -> CommissionFigures:
    found = await commissions_repository.totals_by_status(conn, rm_id, periods=rules.months_of(start, end))

    def total(*statuses: CommissionStatus) -> Decimal:
        return rules.half_up(sum((found.get(s.value, ZERO) for s in statuses), ZERO))

    return CommissionFigures(pending=total(CommissionStatus.PENDING, CommissionStatus.EARNED),
                             approved=total(CommissionStatus.APPROVED), paid=total(CommissionStatus.PAID),
                             disputed=total(CommissionStatus.DISPUTED),
                             clawed_back=total(CommissionStatus.CLAWED_BACK))


def _stages(found: list[tuple[str, int, Decimal]]) -> list[StageFigures]:
    by_stage = {stage: (count, value) for stage, count, value in found}
    return [StageFigures(stage=stage, count=by_stage.get(stage.value, (0, ZERO))[0],
                         deal_value=rules.half_up(by_stage.get(stage.value, (0, ZERO))[1]))
            for stage in Stage if not stage.is_closed]


async def rm_dashboard(conn: AsyncConnection, principal: Principal, *, rm_id: UUID, period_type: PeriodType,
                       period_start: date | None, now: datetime) -> RmDashboard:
    """US-SALE-040: the RM's targets vs achieved (with their team-board rank), commissions, SLA compliance and
    median response time of the period's allocations, and their open pipeline by stage now."""
    rm = await _rm_in_scope(conn, principal, rm_id)
    timezone = await _timezone(conn, rm.city)
    start, end = _period(period_type, period_start, timezone, now)
    window_start, window_end = target_rules.window(start, end, timezone)
    outcomes = [rules.SlaOutcome(r.allocated_at, r.first_action_at, r.sla_deadline)
                for r in await repository.allocations_of(conn, rm.id, window_start, window_end)]
    met, decided, compliance = rules.sla_compliance(outcomes, now)
    targets = await _targets(conn, principal, rm, period_type, start, now)
    metrics = [m for m in MetricType if m in TREND_METRICS or any(t.metric_type is m for t in targets)]
    return RmDashboard(
        rm_id=rm.id, rm_name=rm.name, team_id=rm.team_id, period_type=period_type, period_start=start,
        period_end=end, as_of=now, targets=targets,
        trend=await _trend(conn, rm, metrics, period_type, start, timezone),
        commissions=await _commissions(conn, rm.id, start, end),
        sla=SlaFigures(met=met, decided=decided, compliance_percentage=compliance,
                       reason=None if decided else "no allocation of the period is acted on or past its deadline"),
        median_response_minutes=rules.median(rules.response_minutes(outcomes)),
        pipeline_by_stage=_stages(await repository.open_pipelines_by_stage(conn, rm.id)))


# --- team and city dashboards (PRD §9.1, §9.3) -----------------------------------------------------

def _kpi(name: str, value: Decimal | None, reason: str) -> Kpi:
    goal = rules.GOALS[name]
    if value is None:
        return Kpi(value=None, target=goal.text(), met=None, reason=reason)
    return Kpi(value=value, target=goal.text(), met=goal.met(value))


async def _kpis(conn: AsyncConnection, members: Any, window: tuple[datetime, datetime], months: tuple[str, str],
                loads: list[Any], timezone: str, now: datetime) -> Kpis:
    start, end = window
    outcomes = [rules.SlaOutcome(r.allocated_at, r.first_action_at, r.sla_deadline)
                for r in await repository.member_allocations(conn, members, start, end)]
    won = await repository.won_in(conn, members, start, end)
    lines, disputed = await repository.commission_lines(conn, members, months)
    sold, refunded = await repository.orders_and_refunded(conn, members, start, end)
    presented, converted = await repository.upsell_presentations(conn, members, start, end)
    capacity = sum(m.capacity for m in loads)
    backtest = await _backtest(conn, members, PeriodType.MONTHLY, timezone, now)
    return Kpis(
        upsell_conversion_percentage=_kpi("upsell_conversion_percentage", rules.percentage(converted, presented),
                                          "no upsell attributed to the members was presented in the period"),
        lead_to_close_percentage=_kpi("lead_to_close_percentage", rules.percentage(len(won), len(outcomes)),
                                      "no lead was allocated in the period"),
        deal_cycle_days=_kpi("deal_cycle_days", rules.mean([rules.days_between(created, closed)
                                                            for created, closed in won]),
                             "no deal was won in the period"),
        rm_utilization_percentage=_kpi("rm_utilization_percentage",
                                       rules.percentage(sum(m.open_pipelines for m in loads), capacity),
                                       "no member with capacity"),
        sla_compliance_percentage=_kpi("sla_compliance_percentage", rules.sla_compliance(outcomes, now)[2],
                                       "no allocation of the period is acted on or past its deadline"),
        commission_accuracy_percentage=_kpi("commission_accuracy_percentage",
                                            rules.percentage(lines - disputed, lines),
                                            "no commission line in the period's months"),
        refund_rate_percentage=_kpi("refund_rate_percentage", rules.percentage(refunded, sold),
                                    "no order was sold in the period"),
        lead_response_minutes=_kpi("lead_response_minutes", rules.median(rules.response_minutes(outcomes)),
                                   "no allocation of the period was acted on"),
        workload_variance_percentage=_kpi("workload_variance_percentage",
                                          rules.coefficient_of_variation([m.open_pipelines for m in loads]),
                                          "no member has an open pipeline"),
        forecast_accuracy_percentage=_kpi("forecast_accuracy_percentage",
                                          rules.overall_accuracy([(b.forecast, b.actual) for b in backtest]),
                                          "nothing was won in the last 6 months to compare the forecast with"))


def _health(found: list[tuple[str, int, Decimal, int, int]], now: datetime) -> PipelineHealth:
    """Per stage: count, average days in the stage (the exact mean of now - stage_changed_at, 2 places half-up),
    stuck (in the stage more than `stale_stage_days`); overdue expected close over every open pipeline."""
    stuck_after = get_settings().stale_stage_days
    cells = {stage: (count, total, stuck) for stage, count, total, stuck, _ in found}
    now_seconds = repository.epoch_seconds(now)

    def average(count: int, total: Decimal) -> Decimal | None:
        return rules.half_up((count * now_seconds - total) / (count * SECONDS_PER_DAY)) if count else None

    stages = [StageHealth(stage=stage, count=cells.get(stage.value, (0,))[0],
                          average_age_days=average(*cells.get(stage.value, (0, Decimal(0)))[:2]),
                          stuck=cells.get(stage.value, (0, 0, 0))[2])
              for stage in Stage if not stage.is_closed]
    return PipelineHealth(stuck_after_days=stuck_after, stages=stages, stuck=sum(s.stuck for s in stages),
                          overdue_expected_close=sum(row[4] for row in found))


async def _scope_dashboard(conn: AsyncConnection, *, scope: str, scope_id: str, name: str, city: str, members: Any,
                           period_type: PeriodType, period_start: date | None, now: datetime) -> ScopeDashboard:
    timezone = await _timezone(conn, city)
    start, end = _period(period_type, period_start, timezone, now)
    window = target_rules.window(start, end, timezone)
    loads = await repository.member_loads(conn, members)
    funnel = await repository.funnel(conn, members, *window)
    return ScopeDashboard(
        scope=scope, scope_id=scope_id, name=name, city=city, period_type=period_type, period_start=start,
        period_end=end, as_of=now, members=len(loads),
        kpis=await _kpis(conn, members, window, rules.months_of(start, end), loads, timezone, now),
        funnel=[FunnelStage(stage=stage, count=funnel.get(stage.value, 0)) for stage in Stage],
        pipeline_health=_health(await repository.open_health(
            conn, members, stuck_before=now - timedelta(days=get_settings().stale_stage_days),
            today=target_rules.local_day(now, timezone)), now),
        workload=[MemberLoad(rm_id=m.id, rm_name=m.name, open_pipelines=m.open_pipelines, capacity=m.capacity,
                             utilization_percentage=rules.percentage(m.open_pipelines, m.capacity)) for m in loads])


async def _team(conn: AsyncConnection, principal: Principal, team_id: UUID) -> tuple[str, str, Any]:
    """(name, city, members) of a team in the caller's reach (SALES_ADMIN any; a SUPERVISOR their teams)."""
    team = await targets_repository.team(conn, team_id)
    if team is None or not (principal.is_admin or principal.supervises(team_id)):
        raise DashboardScopeNotFound(f"team {team_id} not found")
    return team.name, team.city, targets_repository.members(TargetType.TEAM.value, team_id, team.city)


async def _city(conn: AsyncConnection, principal: Principal, city: str) -> tuple[str, Any]:
    """(name as the directory spells it, members) of a city in the caller's reach (SALES_ADMIN any; a SUPERVISOR
    of a team in the city)."""
    name = await targets_repository.city_named(conn, city)
    if name is None or not (principal.is_admin or name.lower() in await targets_repository.team_cities(
            conn, principal.supervised_teams)):
        raise DashboardScopeNotFound(f"city {city} not found")
    return name, targets_repository.members(TargetType.CITY.value, target_rules.city_id(name), name)


async def team_dashboard(conn: AsyncConnection, principal: Principal, *, team_id: UUID, period_type: PeriodType,
                         period_start: date | None, now: datetime) -> ScopeDashboard:
    """PRD §9.1 / §9.3 KPIs of a team's current members (SALES_ADMIN; the team's SUPERVISOR)."""
    name, city, members = await _team(conn, principal, team_id)
    return await _scope_dashboard(conn, scope="team", scope_id=str(team_id), name=name, city=city, members=members,
                                  period_type=period_type, period_start=period_start, now=now)


async def city_dashboard(conn: AsyncConnection, principal: Principal, *, city: str, period_type: PeriodType,
                         period_start: date | None, now: datetime) -> ScopeDashboard:
    """PRD §9.1 / §9.3 KPIs of a city's RMs (SALES_ADMIN; a SUPERVISOR of a team in the city)."""
    name, members = await _city(conn, principal, city)
    return await _scope_dashboard(conn, scope="city", scope_id=name, name=name, city=name, members=members,
                                  period_type=period_type, period_start=period_start, now=now)


# --- forecast --------------------------------------------------------------------------------------

BACKTEST_PERIODS = 6
SECONDS_PER_DAY = Decimal(86400)


@dataclass(frozen=True)
class _Window:
    """A forecast's period: its dates, its UTC window, and the instant the forecast is made at."""

    start: date
    end: date
    window: tuple[datetime, datetime]
    at: datetime

    @property
    def horizon_days(self) -> Decimal:
        return rules.days_between(self.at, self.window[1])


def _running(period_type: PeriodType, timezone: str, now: datetime) -> _Window:
    start = target_rules.period_start_containing(period_type, target_rules.local_day(now, timezone))
    end = target_rules.period_end(period_type, start)
    return _Window(start, end, target_rules.window(start, end, timezone), now)


def _past(period_type: PeriodType, timezone: str, now: datetime) -> list[_Window]:
    """The last BACKTEST_PERIODS completed periods, oldest first, each forecast at its start."""
    current = target_rules.period_start_containing(period_type, target_rules.local_day(now, timezone))
    starts = []
    for _ in range(BACKTEST_PERIODS):
        current = target_rules.period_start_containing(period_type, current - timedelta(days=1))
        starts.append(current)
    windows = []
    for start in reversed(starts):
        end = target_rules.period_end(period_type, start)
        window = target_rules.window(start, end, timezone)
        windows.append(_Window(start, end, window, window[0]))
    return windows


@hooks.subscribe("pipeline.stage_changed")
async def on_pipeline_stage_changed(conn: AsyncConnection, *, pipeline_id: UUID, new_stage: Any, **_: Any) -> None:
    """A pipeline that closes is counted once into the forecast's learning, in the closing transaction."""
    if Stage(new_stage).is_closed:
        await repository.learn_closed(conn, pipeline_id)


async def _models(conn: AsyncConnection, windows: list[_Window], now: datetime) -> list[rules.Model]:
    """The model learned for each window: from the pipelines closed before its forecast instant, for its horizon
    (a past instant's counts kept once counted)."""
    counted = await repository.learned(conn, [(w.at, w.horizon_days * SECONDS_PER_DAY) for w in windows], now=now)
    return [rules.counted_model(rows, w.horizon_days) for rows, w in zip(counted, windows, strict=True)]


@dataclass(frozen=True)
class _Walked:
    """What the forecast needs of a scope's pipelines (`repository.walk`): per cut instant the open pipelines
    grouped by (city, stage, deal value), per window the won deal values grouped."""

    cuts: list[datetime]
    open_at: list[list[tuple[str, str, Decimal, int]]]
    won: list[list[tuple[Decimal, int]]]

    def forecast(self, model: rules.Model, at: datetime, until: datetime) -> rules.Forecast:
        return rules.forecast_grouped(self.open_at[self.cuts.index(at)], model, at, until)


async def _walk(conn: AsyncConnection, members: Any, windows: list[_Window],
                won_windows: list[tuple[datetime, datetime]]) -> _Walked:
    cuts = list(dict.fromkeys(w.at for w in windows))
    open_at, won = await repository.walk(conn, members, cuts, won_windows)
    return _Walked(cuts, open_at, won)


def _figures(walked: _Walked, won_index: int, window: _Window, model: rules.Model) -> ForecastFigures:
    won = rules.won_grouped(walked.won[won_index])
    found = walked.forecast(model, window.at, window.window[1])
    return ForecastFigures(period_start=window.start, period_end=window.end, won_to_date=won,
                           expected_from_open=found.expected, expected_total=won + found.expected,
                           low=won + found.low, high=won + found.high, open_pipelines=found.pipelines,
                           unscored_pipelines=found.unscored)


def _backtest_of(walked: _Walked, won_from: int, windows: list[_Window], models: list[rules.Model]
                 ) -> list[BacktestPeriod]:
    result = []
    for i, (window, model) in enumerate(zip(windows, models, strict=True)):
        found = walked.forecast(model, window.at, window.window[1])
        actual = rules.won_grouped(walked.won[won_from + i])
        result.append(BacktestPeriod(period_start=window.start, period_end=window.end, forecast=found.expected,
                                     actual=actual, accuracy_percentage=rules.accuracy(found.expected, actual)))
    return result


async def _backtest(conn: AsyncConnection, members: Any, period_type: PeriodType, timezone: str,
                    now: datetime) -> list[BacktestPeriod]:
    windows = _past(period_type, timezone, now)
    walked = await _walk(conn, members, windows, [w.window for w in windows])
    return _backtest_of(walked, 0, windows, await _models(conn, windows, now))


async def forecast(conn: AsyncConnection, principal: Principal, *, scope: LeaderboardScope, scope_id: str,
                   period_type: PeriodType, now: datetime) -> ForecastRead:
    """The month's and the quarter's expected won deal value of a team or a city, with the back-test of the last
    six periods (`period_type` MONTHLY or QUARTERLY) and its accuracy against the PRD §9.3 target (> 80%)."""
    if scope is LeaderboardScope.team:
        try:
            team_id = UUID(scope_id)
        except ValueError:
            raise InvalidInput.query(("scope_id",), "a team forecast's scope_id is the team's id") from None
        _, city, members = await _team(conn, principal, team_id)
        canonical = str(team_id)
    else:
        city, members = await _city(conn, principal, scope_id)
        canonical = city
    timezone = await _timezone(conn, city)
    windows = [_running(PeriodType.MONTHLY, timezone, now), _running(PeriodType.QUARTERLY, timezone, now),
               *_past(period_type, timezone, now)]
    # won to date in the month and the quarter, then won in each back-test period
    walked = await _walk(conn, members, windows, [(windows[0].window[0], windows[0].at),
                                                  (windows[1].window[0], windows[1].at),
                                                  *(w.window for w in windows[2:])])
    models = await _models(conn, windows, now)  # one pass over the closed pipelines for all eight
    backtest = _backtest_of(walked, 2, windows[2:], models[2:])
    overall = rules.overall_accuracy([(b.forecast, b.actual) for b in backtest])
    goal = rules.GOALS["forecast_accuracy_percentage"]
    return ForecastRead(scope=scope.value, scope_id=canonical, as_of=now, min_cell=rules.MIN_CELL,
                        month=_figures(walked, 0, windows[0], models[0]),
                        quarter=_figures(walked, 1, windows[1], models[1]),
                        backtest_period_type=period_type, backtest=backtest, backtest_accuracy_percentage=overall,
                        accuracy_target=goal.text(), accuracy_met=None if overall is None else goal.met(overall))
