"""The only place commission SQL lives (Core statements)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import ColumnElement, and_, case, exists, false, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.commissions.enums import CommissionStatus, LineKind
from sales.commissions.models import commission_payouts, commission_plans, commissions
from sales.core.auth import Principal, Role
from sales.core.db import dialect_insert, is_postgres
from sales.directory.models import rms
from sales.directory.scoping import owned_or_supervised
from sales.orders.models import orders
from sales.pipelines.models import sales_pipelines
from sales.refunds.models import refunds
from sales.targets.models import sales_targets

c = commissions.c
_reversals = commissions.alias("reversals")
_REVERSED = exists().where(_reversals.c.corrects_id == c.id,
                           _reversals.c.kind == LineKind.CLAWBACK_REVERSAL.value)
# Lines that count towards an RM's month (CMR-003 re-tiering, CMR-005 cap): neither a clawed-back line nor a paid
# line reversed since (CMR-002); the reversal itself settles an earlier payout rather than adding to a month. A
# PARTIAL_CLAWBACK counts in the month of the line it corrects.
_COUNTED = and_(c.status != CommissionStatus.CLAWED_BACK.value, c.kind != LineKind.CLAWBACK_REVERSAL.value,
                ~_REVERSED)


def readable(principal: Principal) -> ColumnElement[bool]:
    """FINANCE_ADMIN / SALES_ADMIN read every line; a SUPERVISOR their teams' RMs'; an RM their own."""
    if principal.has(Role.FINANCE_ADMIN, Role.SALES_ADMIN):
        return true()
    if principal.has(Role.RM, Role.SUPERVISOR):
        return owned_or_supervised(principal, owner=c.rm_id)
    return false()


def readable_rm(principal: Principal) -> ColumnElement[bool]:
    if principal.has(Role.FINANCE_ADMIN, Role.SALES_ADMIN):
        return true()
    if principal.supervised_teams:
        return or_(rms.c.team_id.in_(principal.supervised_teams), rms.c.id == principal.sub)
    if principal.has(Role.RM, Role.SUPERVISOR):
        return rms.c.id == principal.sub
    return false()


# --- plans ---------------------------------------------------------------------------------------

async def insert_plan(conn: AsyncConnection, values: dict[str, Any]) -> Any:
    """Insert the next version of the plan's key; None when a concurrent writer took that version first."""
    latest = (await conn.execute(select(func.max(commission_plans.c.version))
                                 .where(commission_plans.c.plan_key == values["plan_key"]))).scalar()
    statement = (dialect_insert(conn, commission_plans).values(**values, version=(latest or 0) + 1)
                 .on_conflict_do_nothing(index_elements=[commission_plans.c.plan_key, commission_plans.c.version]))
    return (await conn.execute(statement.returning(commission_plans))).first()


async def get_plan(conn: AsyncConnection, plan_id: UUID) -> Any:
    return (await conn.execute(select(commission_plans).where(commission_plans.c.id == plan_id))).first()


async def plan_in_force(conn: AsyncConnection, plan_key: str, at: datetime) -> Any:
    """The newest version of the key already in force at `at`."""
    return (await conn.execute(
        select(commission_plans).where(commission_plans.c.plan_key == plan_key, commission_plans.c.effective_from <= at)
        .order_by(commission_plans.c.version.desc()).limit(1))).first()


async def list_plans(conn: AsyncConnection, *, plan_key: str | None, limit: int,
                     after: tuple[datetime, UUID] | None) -> list[Any]:
    query = select(commission_plans)
    if plan_key is not None:
        query = query.where(commission_plans.c.plan_key == plan_key)
    if after is not None:
        query = query.where(or_(commission_plans.c.created_at < after[0],
                                and_(commission_plans.c.created_at == after[0], commission_plans.c.id < after[1])))
    query = query.order_by(commission_plans.c.created_at.desc(), commission_plans.c.id.desc()).limit(limit + 1)
    return list((await conn.execute(query)).all())


# --- facts from other domains --------------------------------------------------------------------

async def rm_facts(conn: AsyncConnection, rm_id: UUID, *, lock: bool = False) -> Any:
    """The RM's base salary, team, city and name. `lock` takes the RM row's lock on PostgreSQL: it serializes the
    RM's ledger writes (month total, tier) until commit; SQLite serializes writers on its own."""
    query = select(rms.c.id, rms.c.name, rms.c.team_id, rms.c.city, rms.c.base_salary).where(rms.c.id == rm_id)
    if lock and is_postgres(conn):
        query = query.with_for_update()
    return (await conn.execute(query)).first()


async def rm_in_scope(conn: AsyncConnection, rm_id: UUID, scope: ColumnElement[bool]) -> Any:
    return (await conn.execute(select(rms.c.id, rms.c.name).where(rms.c.id == rm_id, scope))).first()


async def achieved_team_targets(conn: AsyncConnection) -> list[Any]:
    """CMR-004: team targets met (status ACHIEVED), with each member RM of the team."""
    t = sales_targets.c
    return list((await conn.execute(
        select(t.id, t.assignee_id, t.period_start, t.metric_type, t.target_value, t.achieved_value,
               rms.c.id.label("rm_id"))
        .join(rms, rms.c.team_id == t.assignee_id)
        .where(t.target_type == "TEAM", t.status == "ACHIEVED")
        .order_by(t.period_start, t.id, rms.c.id))).all())


async def customer_flagged(conn: AsyncConnection, customer_id: UUID | None) -> bool:
    """RFR-005: the customer has a refund flagged for fraud review."""
    if customer_id is None:
        return False
    return (await conn.execute(select(refunds.c.id).where(refunds.c.user_id == customer_id, refunds.c.flagged)
                               .limit(1))).first() is not None


async def deal_facts(conn: AsyncConnection, pipeline_id: UUID) -> Any:
    p = sales_pipelines.c
    return (await conn.execute(select(p.id, p.rm_id, p.deal_value).where(p.id == pipeline_id))).first()


async def order_of_pipeline_commissioned(conn: AsyncConnection, pipeline_id: UUID) -> bool:
    """An order sold through this pipeline already has its sale line."""
    query = (select(c.id).join(orders, orders.c.order_id == c.transaction_id)
             .where(orders.c.pipeline_id == pipeline_id, c.kind == LineKind.SALE.value).limit(1))
    return (await conn.execute(query)).first() is not None


# --- ledger lines --------------------------------------------------------------------------------

async def insert_line(conn: AsyncConnection, values: dict[str, Any]) -> Any:
    """Insert a line; None when its dedupe_key exists (the same sale / correction was recorded already)."""
    statement = dialect_insert(conn, commissions).values(**values).on_conflict_do_nothing(
        index_elements=[c.dedupe_key])
    return (await conn.execute(statement.returning(commissions))).first()


async def get_line(conn: AsyncConnection, line_id: UUID, *, scope: ColumnElement[bool] = true()) -> Any:
    return (await conn.execute(select(commissions).where(c.id == line_id, scope))).first()


async def has_sale_line(conn: AsyncConnection, transaction_id: UUID) -> bool:
    return (await conn.execute(select(c.id).where(c.transaction_id == transaction_id, c.kind == LineKind.SALE.value)
                               .limit(1))).first() is not None


async def lines_of_transaction(conn: AsyncConnection, transaction_id: UUID) -> list[Any]:
    return list((await conn.execute(select(commissions).where(c.transaction_id == transaction_id)
                                    .order_by(c.created_at, c.id))).all())


async def month_lines(conn: AsyncConnection, rm_id: UUID, period: str) -> list[Any]:
    """The RM's lines of the month that still count (see _COUNTED), oldest first."""
    return list((await conn.execute(select(commissions).where(c.rm_id == rm_id, c.period == period, _COUNTED)
                                    .order_by(c.created_at, c.id))).all())


async def month_total(conn: AsyncConnection, rm_id: UUID, period: str) -> Decimal:
    """The month's counted total (CMR-005 cap)."""
    total = (await conn.execute(select(func.coalesce(func.sum(c.final_amount), 0))
                                .where(c.rm_id == rm_id, c.period == period, _COUNTED))).scalar()
    return Decimal(total)


async def tiered_plans_of_month(conn: AsyncConnection, rm_id: UUID, period: str) -> list[UUID]:
    """The plan versions of the month's live TIERED sale lines (CMR-003 re-tiering looks at these only)."""
    rows = await conn.execute(select(c.plan_id).distinct().where(
        c.rm_id == rm_id, c.period == period, c.kind == LineKind.SALE.value, c.commission_type == "TIERED", _COUNTED))
    return [r[0] for r in rows.all()]


async def lines_by_id(conn: AsyncConnection, ids: list[UUID]) -> dict[UUID, Any]:
    return {row.id: row for row in (await conn.execute(select(commissions).where(c.id.in_(ids)))).all()}


async def approve_many(conn: AsyncConnection, ids: list[UUID], *, approver: UUID, now: datetime,
                       stage: str) -> int:
    """One conditional UPDATE for lines decided alike: `single` (EARNED, no exception) and `first` (an
    exception's first approval) need no approver yet; `second` needs another approver first. Returns the rows
    changed: fewer than asked means a line moved meanwhile."""
    earned = and_(c.id.in_(ids), c.status == CommissionStatus.EARNED.value)
    if stage == "single":
        statement = update(commissions).where(earned, ~c.exception, c.approved_by.is_(None)).values(
            status=CommissionStatus.APPROVED.value, approved_by=approver, approved_at=now)
    elif stage == "first":
        statement = update(commissions).where(earned, c.exception, c.approved_by.is_(None)).values(
            approved_by=approver, approved_at=now)
    else:
        statement = update(commissions).where(earned, c.exception, c.approved_by.is_not(None),
                                              c.approved_by != approver).values(
            status=CommissionStatus.APPROVED.value, second_approved_by=approver, second_approved_at=now)
    result = await conn.execute(statement.values(updated_at=now, version=c.version + 1))
    return result.rowcount


async def update_line(conn: AsyncConnection, line_id: UUID, *, version: int, values: dict[str, Any]) -> Any:
    """Compare-and-set on the version read: None when the line changed since."""
    statement = (update(commissions).where(c.id == line_id, c.version == version)
                 .values(**values, version=version + 1).returning(commissions))
    return (await conn.execute(statement)).first()


async def earn_due(conn: AsyncConnection, now: datetime, limit: int) -> list[Any]:
    """CMR-001: PENDING lines whose 30 days have passed become EARNED (one statement: each once)."""
    due = select(c.id).where(c.status == CommissionStatus.PENDING.value, c.earned_at <= now).limit(limit)
    statement = (update(commissions).where(c.id.in_(due), c.status == CommissionStatus.PENDING.value)
                 .values(status=CommissionStatus.EARNED.value, updated_at=now, version=c.version + 1)
                 .returning(c.id, c.rm_id, c.final_amount))
    return list((await conn.execute(statement)).all())


async def insert_payout(conn: AsyncConnection, values: dict[str, Any]) -> Any:
    statement = dialect_insert(conn, commission_payouts).values(**values).on_conflict_do_nothing(
        index_elements=[commission_payouts.c.reference])
    return (await conn.execute(statement.returning(commission_payouts))).first()


async def pay_approved(conn: AsyncConnection, *, period: str, reference: str, now: datetime) -> list[Any]:
    """APPROVED lines of the period and earlier become PAID in one conditional statement: a line is paid by one
    payout only, whatever runs concurrently (PostgreSQL re-checks the status after a row lock wait)."""
    statement = (update(commissions).where(c.status == CommissionStatus.APPROVED.value, c.period <= period)
                 .values(status=CommissionStatus.PAID.value, paid_at=now, payout_reference=reference,
                         payout_period=period, updated_at=now, version=c.version + 1)
                 .returning(c.id, c.rm_id, c.final_amount))
    return list((await conn.execute(statement)).all())


async def finish_payout(conn: AsyncConnection, payout_id: UUID, *, lines: int, total: Decimal) -> Any:
    statement = (update(commission_payouts).where(commission_payouts.c.id == payout_id)
                 .values(lines=lines, total=total).returning(commission_payouts))
    return (await conn.execute(statement)).first()


async def list_lines(conn: AsyncConnection, *, scope: ColumnElement[bool], filters: dict[str, Any], limit: int,
                     after: tuple[datetime, UUID] | None) -> list[Any]:
    """Newest first, keyset-paginated on (created_at, id)."""
    query = select(commissions).where(scope)
    for name in ("rm_id", "status", "kind", "period", "transaction_id", "transaction_type", "exception"):
        if filters.get(name) is not None:
            query = query.where(c[name] == filters[name])
    if filters.get("team_id") is not None:
        query = query.where(c.rm_id.in_(select(rms.c.id).where(rms.c.team_id == filters["team_id"])))
    if after is not None:
        query = query.where(or_(c.created_at < after[0], and_(c.created_at == after[0], c.id < after[1])))
    query = query.order_by(c.created_at.desc(), c.id.desc()).limit(limit + 1)
    return list((await conn.execute(query)).all())


async def totals_by_status(conn: AsyncConnection, rm_id: UUID, *, periods: tuple[str, str]) -> dict[str, Decimal]:
    """The RM's lines in [from, to] periods summed by status."""
    rows = await conn.execute(select(c.status, func.coalesce(func.sum(c.final_amount), 0))
                              .where(c.rm_id == rm_id, c.period >= periods[0], c.period <= periods[1])
                              .group_by(c.status))
    return {status: Decimal(total) for status, total in rows.all()}


async def payout_rows(conn: AsyncConnection, period: str) -> list[Any]:
    """Per RM: APPROVED lines payable in the period (its own and earlier months), and lines paid by its payouts."""
    payable = and_(c.status == CommissionStatus.APPROVED.value, c.period <= period)
    paid = and_(c.status == CommissionStatus.PAID.value, c.payout_period == period)
    query = (select(c.rm_id, rms.c.name, func.count(c.id),
                    func.coalesce(func.sum(case((payable, c.final_amount), else_=0)), 0),
                    func.coalesce(func.sum(case((paid, c.final_amount), else_=0)), 0))
             .join(rms, rms.c.id == c.rm_id).where(or_(payable, paid))
             .group_by(c.rm_id, rms.c.name).order_by(rms.c.name, c.rm_id))
    return list((await conn.execute(query)).all())


async def payout_references(conn: AsyncConnection, period: str) -> dict[UUID, list[str]]:
    rows = await conn.execute(select(c.rm_id, c.payout_reference).distinct()
                              .where(c.status == CommissionStatus.PAID.value, c.payout_period == period)
                              .order_by(c.rm_id, c.payout_reference))
    found: dict[UUID, list[str]] = {}
    for rm_id, reference in rows.all():
        found.setdefault(rm_id, []).append(reference)
    return found
