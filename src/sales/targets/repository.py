"""The only place target SQL lives: targets, CSAT scores, and the period aggregates of every metric."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import (ColumnElement, Select, and_, distinct, exists, false, func, literal, literal_column, or_,
                        select, text, true, type_coerce, union_all, update)
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.allocation.models import rm_allocations
from sales.core.auth import Principal, Role
from sales.commissions.rules import CLAWBACK_WINDOW
from sales.core.db import dialect_insert, is_postgres
from sales.core.types import Money
from sales.directory.models import rms, teams
from sales.orders.models import order_refunds, orders
from sales.pipelines.models import pipeline_stage_history, sales_pipelines
from sales.targets.enums import MetricType, TargetType
from sales.targets.models import LIVE_INDEX, sales_targets as t, target_csat_scores
from sales.targets.rules import LIVE, Facts

FULL_READERS = (Role.SALES_ADMIN, Role.FINANCE_ADMIN)


# --- scope ----------------------------------------------------------------------------------------

def readable(principal: Principal) -> ColumnElement[bool]:
    """SALES_ADMIN / FINANCE_ADMIN: every target; a SUPERVISOR: their teams' targets and their RMs'; an RM: their
    own; anyone else nothing (the route already refused them)."""
    if principal.has(*FULL_READERS):
        return true()
    clauses: list[ColumnElement[bool]] = []
    if principal.supervised_teams:
        teams_ = list(principal.supervised_teams)
        clauses.append(and_(t.c.target_type == TargetType.TEAM.value, t.c.assignee_id.in_(teams_)))
        clauses.append(and_(t.c.target_type == TargetType.INDIVIDUAL.value,
                            t.c.assignee_id.in_(select(rms.c.id).where(rms.c.team_id.in_(teams_)))))
    if principal.has(Role.RM, Role.SUPERVISOR):
        clauses.append(and_(t.c.target_type == TargetType.INDIVIDUAL.value, t.c.assignee_id == principal.sub))
    return or_(*clauses) if clauses else false()


# --- directory reads ------------------------------------------------------------------------------

async def rm(conn: AsyncConnection, rm_id: UUID) -> Any:
    return (await conn.execute(select(rms.c.id, rms.c.name, rms.c.team_id, rms.c.city)
                               .where(rms.c.id == rm_id))).first()


async def team(conn: AsyncConnection, team_id: UUID) -> Any:
    return (await conn.execute(select(teams.c.id, teams.c.name, teams.c.city).where(teams.c.id == team_id))).first()


async def city_named(conn: AsyncConnection, city: str) -> str | None:
    """The city as the directory spells it (RMs' or teams' city, case-insensitive), or None if nobody is there."""
    for table in (rms, teams):
        found = (await conn.execute(select(table.c.city).where(func.lower(table.c.city) == city.lower())
                                    .limit(1))).scalar()
        if found is not None:
            return str(found)
    return None


async def cities(conn: AsyncConnection) -> list[str]:
    return list((await conn.execute(select(rms.c.city).union(select(teams.c.city)))).scalars())


def members(target_type: str, assignee_id: UUID, city: str | None) -> Select[Any]:
    """The RM ids whose facts count for a target: the RM; a team's current members; a city's RMs."""
    if target_type == TargetType.INDIVIDUAL.value:
        return select(literal(assignee_id, rms.c.id.type).label("id"))
    if target_type == TargetType.TEAM.value:
        return select(rms.c.id).where(rms.c.team_id == assignee_id)
    return select(rms.c.id).where(func.lower(rms.c.city) == (city or "").lower())


def rm_ids(ids: list[UUID]) -> Select[Any]:
    return select(rms.c.id).where(rms.c.id.in_(ids))


async def team_cities(conn: AsyncConnection, team_ids: frozenset[UUID]) -> set[str]:
    """The cities (lower-cased) of these teams."""
    if not team_ids:
        return set()
    return {c.lower() for c in (await conn.execute(select(teams.c.city).where(teams.c.id.in_(team_ids)))).scalars()}


async def rm_names(conn: AsyncConnection, rm_ids: list[UUID]) -> dict[UUID, str]:
    return {r.id: r.name for r in await conn.execute(select(rms.c.id, rms.c.name).where(rms.c.id.in_(rm_ids)))}


# --- targets --------------------------------------------------------------------------------------

async def insert_unless_live(conn: AsyncConnection, values: dict[str, Any]) -> Any:
    """Insert the target; None when the assignee already has a live one for that metric and period (one statement
    on the partial unique index: concurrent creations leave one on both databases)."""
    statement = (dialect_insert(conn, t).values(**values)
                 .on_conflict_do_nothing(index_elements=[t.c.assignee_id, t.c.metric_type, t.c.period_type,
                                                         t.c.period_start],
                                         index_where=text(LIVE_INDEX)))
    return (await conn.execute(statement.returning(t))).first()


async def get(conn: AsyncConnection, target_id: UUID, *, scope: ColumnElement[bool] = true()) -> Any:
    return (await conn.execute(select(t).where(t.c.id == target_id, scope))).first()


async def list_(conn: AsyncConnection, *, scope: ColumnElement[bool], filters: dict[str, Any], limit: int | None,
                after: tuple[date, UUID] | None) -> list[Any]:
    """Latest period first, keyset-paginated on (period_start, id) descending."""
    query = select(t).where(scope)
    for name in ("target_type", "assignee_id", "period_type", "metric_type", "status"):
        if filters.get(name) is not None:
            query = query.where(t.c[name] == filters[name])
    if filters.get("period_start_from") is not None:
        query = query.where(t.c.period_start >= filters["period_start_from"])
    if filters.get("period_start_to") is not None:
        query = query.where(t.c.period_start <= filters["period_start_to"])
    if after is not None:
        query = query.where(or_(t.c.period_start < after[0], and_(t.c.period_start == after[0], t.c.id < after[1])))
    query = query.order_by(t.c.period_start.desc(), t.c.id.desc())
    if limit is not None:
        query = query.limit(limit + 1)
    return list((await conn.execute(query)).all())


async def team_targets(conn: AsyncConnection, team_id: UUID) -> list[Any]:
    """The team's own targets and those of its current members, latest period first."""
    query = (select(t).where(or_(and_(t.c.target_type == TargetType.TEAM.value, t.c.assignee_id == team_id),
                                 and_(t.c.target_type == TargetType.INDIVIDUAL.value,
                                      t.c.assignee_id.in_(select(rms.c.id).where(rms.c.team_id == team_id)))))
             .order_by(t.c.period_start.desc(), t.c.target_type.desc(), t.c.id))
    return list((await conn.execute(query)).all())


async def board_targets(conn: AsyncConnection, *, rm_ids: Select[Any], metric: str, period_type: str,
                        period_start: date) -> list[Any]:
    query = select(t).where(t.c.target_type == TargetType.INDIVIDUAL.value, t.c.assignee_id.in_(rm_ids),
                            t.c.metric_type == metric, t.c.period_type == period_type,
                            t.c.period_start == period_start, t.c.status != "CANCELLED")
    return list((await conn.execute(query)).all())


async def live_target(conn: AsyncConnection, *, target_type: str, assignee_id: UUID, metric: str, period_type: str,
                      period_start: date) -> Any:
    query = select(t).where(t.c.target_type == target_type, t.c.assignee_id == assignee_id,
                            t.c.metric_type == metric, t.c.period_type == period_type,
                            t.c.period_start == period_start, t.c.status != "CANCELLED")
    return (await conn.execute(query)).first()


async def store_progress(conn: AsyncConnection, target_id: UUID, *, achieved: Decimal, percentage: Decimal,
                         status: str, closed_at: datetime | None, now: datetime) -> Any:
    """Write the measured progress unless the target was cancelled or settled meanwhile (conditional UPDATE);
    unchanged figures write nothing. The row as it is afterwards (None if it is no longer live)."""
    changed = or_(t.c.achieved_value != achieved, t.c.achievement_percentage != percentage, t.c.status != status,
                  literal(closed_at is not None))
    result = await conn.execute(update(t).where(t.c.id == target_id, t.c.status.in_(LIVE), t.c.closed_at.is_(None),
                                                changed)
                                .values(achieved_value=achieved, achievement_percentage=percentage, status=status,
                                        closed_at=closed_at, updated_at=now).returning(t))
    return result.first() or await get(conn, target_id)


async def update_target(conn: AsyncConnection, target_id: UUID, *, expected_status: str,
                        values: dict[str, Any]) -> Any:
    """Compare-and-set on the status read: a concurrent change (cancel, close) makes this return None."""
    result = await conn.execute(update(t).where(t.c.id == target_id, t.c.status == expected_status,
                                                t.c.closed_at.is_(None)).values(**values).returning(t))
    return result.first()


async def open_targets(conn: AsyncConnection, *, ended_by: date | None, limit: int,
                       after: UUID | None) -> list[Any]:
    """Live, unsettled targets by id (for the jobs); `ended_by`: only those whose period ended by that day."""
    query = select(t).where(t.c.status.in_(LIVE), t.c.closed_at.is_(None))
    if ended_by is not None:
        query = query.where(t.c.period_end <= ended_by)
    if after is not None:
        query = query.where(t.c.id > after)
    return list((await conn.execute(query.order_by(t.c.id).limit(limit))).all())


# --- CSAT -----------------------------------------------------------------------------------------

async def insert_csat(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(dialect_insert(conn, target_csat_scores).values(**values)
                       .on_conflict_do_nothing(index_elements=[target_csat_scores.c.event_id]))


# --- the facts of a period ------------------------------------------------------------------------

def _moves_into(stage: str, rm_ids: Select[Any], start: datetime, end: datetime) -> Select[Any]:
    """(rm_id, pipeline_id, deal value) of the pipelines of these RMs that moved into `stage` in [start, end). A
    deal counts as won while it is CLOSED_WON (a won deal reopened since no longer counts), which also lets the
    query start from the RMs' won pipelines (rm_id, stage index)."""
    h, p = pipeline_stage_history, sales_pipelines
    query = (select(p.c.rm_id.label("rm_id"), p.c.id.label("pipeline_id"), p.c.deal_value.label("value"))
             .select_from(h.join(p, p.c.id == h.c.pipeline_id))
             .where(h.c.to_stage == stage, h.c.changed_at >= start, h.c.changed_at < end, p.c.rm_id.in_(rm_ids)))
    return query.where(p.c.stage == stage) if stage == "CLOSED_WON" else query


def _counted(rows: Any, column: str) -> Select[Any]:
    sub = rows.subquery()
    return (select(sub.c.rm_id, type_coerce(func.count(distinct(sub.c[column])), Money).label("total"),
                   literal(0).label("base")).group_by(sub.c.rm_id))


def _within_clawback_window(refunded_at: Any, paid_at: Any, postgres: bool) -> ColumnElement[bool]:
    """refunded_at <= paid_at + 45 days (CMR-002's window, day 45 inclusive), on either database."""
    days = CLAWBACK_WINDOW.days
    if postgres:
        return refunded_at <= paid_at + literal_column(f"interval '{days} days'")
    return func.julianday(refunded_at) <= func.julianday(paid_at, f"+{days} days")


def _revenue(rm_ids: Select[Any], start: datetime, end: datetime, postgres: bool) -> Select[Any]:
    """The one definition of an RM's revenue (REVENUE targets and the CMR-003 commission tiers): the orders the
    RMs sold (paid in the period, not CANCELLED), each net of the refunds completed within 45 days of its payment
    (the CMR-002 clawback window: what claws the commission back also leaves the revenue), plus the deal values of
    pipelines they won in the period that no order names (so a sale is never counted twice)."""
    r = order_refunds
    refunded = (select(func.coalesce(func.sum(r.c.amount), 0))
                .where(r.c.order_id == orders.c.order_id,
                       _within_clawback_window(r.c.completed_at, orders.c.paid_at, postgres))
                .scalar_subquery())
    sold = (select(orders.c.rm_id.label("rm_id"), (orders.c.amount - refunded).label("value"))
            .where(orders.c.rm_id.in_(rm_ids), orders.c.paid_at >= start, orders.c.paid_at < end,
                   orders.c.status != "CANCELLED"))
    won = _moves_into("CLOSED_WON", rm_ids, start, end).subquery()
    deals = (select(won.c.rm_id, won.c.value)
             .where(won.c.value.is_not(None), ~exists().where(orders.c.pipeline_id == won.c.pipeline_id)))
    both = union_all(sold, deals).subquery()
    return (select(both.c.rm_id, type_coerce(func.sum(both.c.value), Money).label("total"),
                   literal(0).label("base")).group_by(both.c.rm_id))


def _conversion(rm_ids: Select[Any], start: datetime, end: datetime) -> Select[Any]:
    """Deals won in the period (total) over the distinct leads allocated to the RM in the period (base)."""
    won_rows = _moves_into("CLOSED_WON", rm_ids, start, end).subquery()
    won_counts = (select(won_rows.c.rm_id, func.count(distinct(won_rows.c.pipeline_id)).label("won"),
                         literal(0).label("allocated")).group_by(won_rows.c.rm_id))
    a = rm_allocations
    allocated = (select(a.c.rm_id, literal(0).label("won"), func.count(distinct(a.c.lead_id)).label("allocated"))
                 .where(a.c.rm_id.in_(rm_ids), a.c.allocated_at >= start, a.c.allocated_at < end)
                 .group_by(a.c.rm_id))
    both = union_all(won_counts, allocated).subquery()
    return (select(both.c.rm_id, type_coerce(func.sum(both.c.won), Money).label("total"),
                   func.sum(both.c.allocated).label("base")).group_by(both.c.rm_id))


def _facts_query(metric: MetricType, rm_ids: Select[Any], start: datetime, end: datetime, postgres: bool
                 ) -> Select[Any]:
    if metric is MetricType.REVENUE:
        return _revenue(rm_ids, start, end, postgres)
    if metric is MetricType.DEALS_CLOSED:
        return _counted(_moves_into("CLOSED_WON", rm_ids, start, end), "pipeline_id")
    if metric is MetricType.VISITS_SCHEDULED:
        return _counted(_moves_into("VISIT_SCHEDULED", rm_ids, start, end), "pipeline_id")
    if metric is MetricType.LEADS_CONTACTED:
        a = rm_allocations
        return _counted(select(a.c.rm_id, a.c.lead_id).where(a.c.rm_id.in_(rm_ids), a.c.first_action_at >= start,
                                                             a.c.first_action_at < end), "lead_id")
    if metric is MetricType.UPSELL_CONVERSIONS:
        o = orders
        return _counted(select(o.c.rm_id, o.c.upsell_id).where(o.c.rm_id.in_(rm_ids), o.c.upsell_id.is_not(None),
                                                               o.c.paid_at >= start, o.c.paid_at < end), "upsell_id")
    if metric is MetricType.CONVERSION_RATE:
        return _conversion(rm_ids, start, end)
    c = target_csat_scores
    return (select(c.c.rm_id, type_coerce(func.sum(c.c.score), Money).label("total"),
                   func.count().label("base"))
            .where(c.c.rm_id.in_(rm_ids), c.c.at >= start, c.c.at < end).group_by(c.c.rm_id))


async def facts_by_rm(conn: AsyncConnection, metric: MetricType, rm_ids: Select[Any], start: datetime,
                      end: datetime) -> dict[UUID, Facts]:
    """One grouped aggregate: each RM's facts for the metric in [start, end) (RMs without any are absent)."""
    rows = await conn.execute(_facts_query(metric, rm_ids, start, end, is_postgres(conn)))
    return {r.rm_id: Facts(total=r.total or Decimal(0), base=int(r.base or 0)) for r in rows}
