"""Commission use cases: plans, the append-only ledger (CMR-001..005), approvals, disputes (CMR-006), payouts.
Never commits.

A line is calculated when a sale completes (an order with an RM, `order.recorded` hook; a CLOSED_WON
pipeline with a deal value, `pipeline.stage_changed` hook). Amounts of a line never change: every correction
is a new line whose `corrects_id` names the line it corrects. An RM's ledger writes (which read the month's
revenue and total) are serialized by the RM row's lock on PostgreSQL; SQLite has one writer at a time.
"""
from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.commissions import repository, rules
from sales.commissions.enums import (DISPUTABLE, UNPAID, CommissionStatus, CommissionType, DisputeOutcome, LineKind,
                                     PlanKey)
from sales.commissions.errors import (BatchRejected, ChangedConcurrently, CommissionNotFound, DisputeWindowClosed,
                                      NotApprovable, NotDisputable, NotDisputed, NotTheEarner, PayoutReferenceUsed,
                                      PlanNotFound, RmNotFound, SecondApproverRequired, SelfApproval)
from sales.commissions.schemas import (BatchItem, BatchResult, CommissionRead, DisputeResolve, PayoutCreate,
                                       PayoutRead, PayoutReport, PayoutRow, PlanCreate, PlanRead, Summary, Totals)
from sales.core import audit, hooks, outbox
from sales.core.auth import Principal
from sales.core.errors import InvalidInput, SalesError
from sales.core.http import AFTER_TIME_AND_ID, cursor_after
from sales.events.registry import CONSUMER
from sales.targets import service as targets_service

ZERO = Decimal("0.00")


def _read(row: Any) -> CommissionRead:
    return CommissionRead.model_validate(row._mapping)


def _plan_read(row: Any) -> PlanRead:
    return PlanRead.model_validate(row._mapping)


_PLANS: dict[UUID, rules.Plan] = {}  # plan versions never change: safe to keep in process


def _plan(row: Any) -> rules.Plan:
    if row.id not in _PLANS:
        _PLANS[row.id] = _to_plan(row)
    return _PLANS[row.id]


def _to_plan(row: Any) -> rules.Plan:
    return rules.Plan(id=row.id, version=row.version, commission_type=CommissionType(row.commission_type),
                      amount=row.amount, rate=row.rate, exception_above=row.exception_above,
                      tiers=tuple(rules.Tier(Decimal(t["min_achievement"]), Decimal(t["rate"]))
                                  for t in row.tiers or ()))


# --- plans ---------------------------------------------------------------------------------------

def _check_plan(data: PlanCreate) -> None:
    kind = data.commission_type
    if (data.plan_key is PlanKey.TEAM_BONUS) != (kind is CommissionType.BONUS):
        raise InvalidInput(("commission_type",), "the TEAM_BONUS plan is of type BONUS, and only it")
    needs = {CommissionType.FIXED: "amount", CommissionType.BONUS: "amount", CommissionType.PERCENTAGE: "rate",
             CommissionType.TIERED: "tiers"}[kind]
    for field in ("amount", "rate", "tiers"):
        given = getattr(data, field) is not None
        if field == needs and not given:
            raise InvalidInput((field,), f"a {kind.value} plan needs {field}")
        if field != needs and given:
            raise InvalidInput((field,), f"a {kind.value} plan takes no {field}")
    if data.tiers is not None:
        problem = rules.check_tiers([rules.Tier(t.min_achievement, t.rate) for t in data.tiers])
        if problem:
            raise InvalidInput(("tiers",), problem)


async def create_plan(conn: AsyncConnection, principal: Principal, *, data: PlanCreate, now: datetime) -> PlanRead:
    """A new version of the key's plan; earlier versions and their lines stay as they are."""
    _check_plan(data)
    values = {"plan_key": data.plan_key.value, "commission_type": data.commission_type.value, "amount": data.amount,
              "rate": data.rate, "exception_above": data.exception_above, "notes": data.notes,
              "tiers": None if data.tiers is None else [t.model_dump() for t in data.tiers],
              "effective_from": data.effective_from or now, "created_by": principal.sub, "created_at": now}
    for _ in range(3):
        row = await repository.insert_plan(conn, {"id": uuid.uuid4(), **values})
        if row is not None:
            plan = _plan_read(row)
            await audit.record(conn, principal, action="commission_plan.created", entity_type="commission_plan",
                               entity_id=plan.id, at=now, after=plan)
            return plan
    raise ChangedConcurrently("plan versions kept being taken concurrently; retry")


async def get_plan(conn: AsyncConnection, *, plan_id: UUID) -> PlanRead:
    row = await repository.get_plan(conn, plan_id)
    if row is None:
        raise PlanNotFound()
    return _plan_read(row)


async def list_plans(conn: AsyncConnection, *, plan_key: PlanKey | None, limit: int,
                     cursor: list[Any] | None) -> list[PlanRead]:
    after = cursor_after(cursor, AFTER_TIME_AND_ID)
    rows = await repository.list_plans(conn, plan_key=plan_key.value if plan_key else None, limit=limit, after=after)
    return [_plan_read(r) for r in rows]


def plan_cursor(plan: PlanRead) -> tuple[datetime, UUID]:
    return plan.created_at, plan.id


# --- the ledger: sales ---------------------------------------------------------------------------

def _line(*, rm_id: UUID, kind: LineKind, dedupe_key: str, transaction_id: UUID, transaction_type: str,
          commission_type: str, base: Decimal, rate: Decimal, amount: Decimal, capped: rules.Capped, status: str,
          period: str, sale_at: datetime, earned_at: datetime, plan_id: UUID | None, plan_version: int | None,
          rule: str, text: str, inputs: dict[str, Any], now: datetime, corrects_id: UUID | None = None,
          reason: str | None = None, customer_id: UUID | None = None, exceptions: Sequence[str] = ()
          ) -> dict[str, Any]:
    if capped.note:
        text = f"{text} {capped.note}."
    return {"id": uuid.uuid4(), "rm_id": rm_id, "kind": kind.value, "dedupe_key": dedupe_key,
            "transaction_id": transaction_id, "transaction_type": transaction_type, "commission_type": commission_type,
            "base_amount": base, "commission_rate": rate, "commission_amount": amount,
            "adjustments": capped.adjustment, "final_amount": capped.final, "status": status, "period": period,
            "sale_at": sale_at, "earned_at": earned_at, "plan_id": plan_id, "plan_version": plan_version,
            "rule": rule[:200], "explanation": {"text": text, "inputs": inputs}, "corrects_id": corrects_id,
            "reason": reason or capped.note, "customer_id": customer_id, "exception": bool(exceptions),
            "exception_reasons": list(exceptions), "version": 1, "created_at": now, "updated_at": now}


async def _insert(conn: AsyncConnection, values: dict[str, Any], now: datetime) -> CommissionRead | None:
    row = await repository.insert_line(conn, values)
    if row is None:
        return None
    line = _read(row)
    await audit.record(conn, CONSUMER, action="commission.calculated", entity_type="commission", entity_id=line.id,
                       at=now, after=line)
    if line.status is CommissionStatus.EARNED and line.final_amount >= 0:
        await _emit_earned(conn, line.id, line.rm_id, line.final_amount, now)
    return line


async def _emit_earned(conn: AsyncConnection, line_id: UUID, rm_id: UUID, amount: Decimal, now: datetime) -> None:
    await outbox.record(conn, type_="sales.commission.earned", subject=line_id, at=now,
                        data=_earned_data(line_id, rm_id, amount))


def _earned_data(line_id: UUID, rm_id: UUID, amount: Decimal) -> dict[str, Any]:
    return {"commission_id": line_id, "rm_id": rm_id, "amount": amount}


async def record_sale(conn: AsyncConnection, *, rm_id: UUID, transaction_id: UUID, transaction_type: str,
                      base: Decimal, sale_at: datetime, customer_id: UUID | None, source: str,
                      now: datetime) -> CommissionRead | None:
    """Calculate a completed sale's line (PENDING until CMR-001's 30 days) under the plan version in force at the
    sale, then bring the month's earlier tiered lines to the new tier (CMR-003). The month is the RM's city's
    calendar month (the targets' calendar) and its revenue achievement is the one the RM's MONTHLY REVENUE target
    shows (`targets.service.monthly_revenue`, which already counts this sale). No plan for the transaction type:
    no line, but the month is still re-tiered (the sale moved the achievement). No such RM, or the same sale
    again: nothing."""
    if await repository.has_sale_line(conn, transaction_id):
        return None
    rm = await repository.rm_facts(conn, rm_id, lock=True)
    if rm is None:
        return None
    month = await targets_service.month_of(conn, city=rm.city, at=sale_at)
    period = rules.period_of(month)
    plan_row = await repository.plan_in_force(conn, transaction_type, sale_at)
    if plan_row is None:
        await retier(conn, rm_id=rm_id, period=period, now=now)
        return None
    plan = _plan(plan_row)
    standing = await targets_service.monthly_revenue(conn, rm_id=rm_id, city=rm.city, month_start=month)
    month_total = await repository.month_total(conn, rm_id, period)
    calc = rules.calculate(plan, transaction_type=transaction_type, base=base, target=standing.target,
                           revenue=standing.revenue, achieved=rules.achievement(standing.revenue, standing.target))
    capped = rules.cap(calc.amount, month_total=month_total, base_salary=rm.base_salary)
    flagged = await repository.customer_flagged(conn, customer_id)
    exceptions = rules.exception_reasons(amount=capped.final, threshold=plan.exception_above, manual=False,
                                         fraud_flagged=flagged)
    inputs = {**calc.inputs, "source": source, "sale_at": sale_at, "month": period,
              "month_total_before": month_total, "monthly_cap": rules.paisa(rm.base_salary * rules.CAP_MULTIPLE),
              "base_salary": rm.base_salary}
    text = (f"{calc.rule}: {calc.amount:f} on the {transaction_type} sale {transaction_id} of {base:f} "
            f"({source}), plan version {plan.version}. Earned 30 days after the sale unless refunded (CMR-001).")
    line = await _insert(conn, _line(
        rm_id=rm_id, kind=LineKind.SALE, dedupe_key=f"SALE:{transaction_id}", transaction_id=transaction_id,
        transaction_type=transaction_type, commission_type=plan.commission_type.value, base=base, rate=calc.rate,
        amount=calc.amount, capped=capped, status=CommissionStatus.PENDING.value, period=period, sale_at=sale_at,
        earned_at=rules.earned_at(sale_at), plan_id=plan.id, plan_version=plan.version, rule=calc.rule, text=text,
        inputs=inputs, now=now, customer_id=customer_id, exceptions=exceptions), now)
    if line is not None:
        await retier(conn, rm_id=rm_id, period=period, now=now, standing=standing)
    return line


def _eligibility(earned_at: datetime, now: datetime) -> str:
    """A correction of a sale line is earned when the sale is (CMR-001): PENDING until its 30 days passed."""
    return (CommissionStatus.EARNED if rules.is_earned(earned_at, now) else CommissionStatus.PENDING).value


async def _plans(conn: AsyncConnection, ids: Sequence[UUID]) -> dict[UUID, rules.Plan]:
    return {plan_id: _PLANS.get(plan_id) or _plan(await repository.get_plan(conn, plan_id)) for plan_id in ids}


@dataclass(frozen=True)
class _Standing:
    """A tiered sale line as the ledger has it: its base less the refunded share (CMR-002 partial clawbacks), the
    rate its latest tier adjustment (or the sale) applied, and the commission so far (the sale, its tier
    adjustments and the partial clawbacks of those)."""

    kept_base: Decimal
    rate: Decimal
    gross: Decimal
    counted: Decimal
    adjustments: int


def _standing(row: Any, corrections: dict[UUID, list[Any]]) -> _Standing:
    own = corrections.get(row.id, [])
    adjustments = [a for a in own if a.kind == LineKind.TIER_ADJUSTMENT.value]
    refunded = [a for a in own if a.kind == LineKind.PARTIAL_CLAWBACK.value]
    shares = refunded + [p for a in adjustments for p in corrections.get(a.id, [])
                         if p.kind == LineKind.PARTIAL_CLAWBACK.value]
    parts = [row, *adjustments, *shares]
    return _Standing(kept_base=row.base_amount - sum((a.base_amount for a in refunded), ZERO),
                     rate=adjustments[-1].commission_rate if adjustments else row.commission_rate,
                     gross=sum((p.commission_amount for p in parts), ZERO),
                     counted=sum((p.final_amount for p in parts), ZERO), adjustments=len(adjustments))


async def retier(conn: AsyncConnection, *, rm_id: UUID, period: str, now: datetime,
                 standing: targets_service.MonthlyRevenue | None = None) -> list[CommissionRead]:
    """CMR-003: bring every live tiered sale line of the RM's month to the tier its revenue achievement (the
    RM's MONTHLY REVENUE target's, `standing` when the caller measured it) now reaches, each under its own plan
    version, with an adjustment line (never an edit) of its kept base (less partial refunds) at the new rate less
    what it earned so far. Called with the RM row locked; a month without tiered lines reads nothing more."""
    plan_ids = await repository.tiered_plans_of_month(conn, rm_id, period)
    if not plan_ids:
        return []
    rm = await repository.rm_facts(conn, rm_id, lock=True)
    if standing is None:
        standing = await targets_service.monthly_revenue(conn, rm_id=rm_id, city=rm.city,
                                                         month_start=rules.month_bounds(period)[0].date())
    revenue, target = standing.revenue, standing.target
    achieved = rules.achievement(revenue, target)
    plans = await _plans(conn, plan_ids)
    month_total = await repository.month_total(conn, rm_id, period)
    lines = await repository.month_lines(conn, rm_id, period)
    corrections: dict[UUID, list[Any]] = {}
    for row in lines:
        if row.corrects_id is not None:
            corrections.setdefault(row.corrects_id, []).append(row)
    made = []
    for row in lines:
        if row.kind != LineKind.SALE.value or row.commission_type != CommissionType.TIERED.value:
            continue
        plan = plans[row.plan_id]
        number, tier = rules.tier_for(plan.tiers, achieved)
        now_at = _standing(row, corrections)
        if now_at.rate == tier.rate:
            continue
        delta = rules.tier_delta(base=now_at.kept_base, new_rate=tier.rate, gross_so_far=now_at.gross)
        if delta == 0:
            continue
        counted = now_at.counted
        capped = (rules.cap(delta, month_total=month_total, base_salary=rm.base_salary) if delta > 0
                  else rules.Capped(max(delta, -counted), None if delta >= -counted else delta + counted, None))
        month_total += capped.final
        shown = "no target" if achieved is None else f"{rules.paisa(achieved):f}%"
        rule = f"CMR-003 tier {number} ({tier.rate.normalize():f}%) adjustment"
        kept = "" if now_at.kept_base == row.base_amount else f" (kept after refunds: {now_at.kept_base:f})"
        text = (f"{rule}: the month's REVENUE achievement is now {shown} (revenue {revenue:f}"
                f"{'' if target is None else f' of target {target:f}'}), so sale {row.transaction_id} of "
                f"{row.base_amount:f}{kept} earns {rules.paisa(now_at.kept_base * tier.rate / rules.HUNDRED):f} "
                f"instead of {now_at.gross:f}: {delta:f}.")
        line = await _insert(conn, _line(
            rm_id=rm_id, kind=LineKind.TIER_ADJUSTMENT, dedupe_key=f"TIER:{row.id}:{now_at.adjustments + 1}",
            transaction_id=row.transaction_id, transaction_type=row.transaction_type,
            commission_type=CommissionType.TIERED.value, base=row.base_amount, rate=tier.rate, amount=delta,
            capped=capped, status=_eligibility(row.earned_at, now), period=period, sale_at=row.sale_at,
            earned_at=row.earned_at,
            plan_id=plan.id, plan_version=plan.version, rule=rule, text=text, now=now, corrects_id=row.id,
            customer_id=row.customer_id, exceptions=list(row.exception_reasons),
            inputs={"corrects": str(row.id), "tier": number, "rate": tier.rate, "month_revenue": revenue,
                    "monthly_revenue_target": target, "achievement_percentage": None if achieved is None
                    else rules.paisa(achieved), "kept_base": now_at.kept_base, "commission_so_far": now_at.gross,
                    "at_new_rate": now_at.gross + delta}), now)
        if line is not None:
            made.append(line)
    return made


# --- the ledger: clawbacks (CMR-002) -------------------------------------------------------------

@dataclass(frozen=True)
class PartialRefund:
    """A refund of part of an order: `amount` of the order's `order_amount`."""

    refund_id: UUID
    amount: Decimal
    order_amount: Decimal


async def claw_back(conn: AsyncConnection, *, transaction_id: UUID, at: datetime, reason: str, now: datetime,
                    partial: PartialRefund | None = None) -> list[CommissionRead]:
    """CMR-002: a refund or cancellation within 45 days of the sale (day 45 inclusive) claws its commission
    back; later, nothing changes. Whole (a cancellation, or a refund that completes the order's refunds): each
    unpaid line of the sale becomes CLAWED_BACK with the reason; each paid one gets a reversing line, approved at
    once so the next payout deducts it. A partial refund (`partial`): each line gets a PARTIAL_CLAWBACK line of
    the refunded share (refund / order amount) of its amount, referencing it. The caller re-tiers the month."""
    lines = await repository.lines_of_transaction(conn, transaction_id)
    sale = next((row for row in lines if row.kind == LineKind.SALE.value), None)
    if sale is None or not rules.claws_back(sale.sale_at, at):
        return []
    await repository.rm_facts(conn, sale.rm_id, lock=True)
    days = (at - sale.sale_at).total_seconds() / 86400
    why = f"CMR-002: {reason} on day {days:.1f} after the sale (within 45 days)"
    if partial is None:
        changed = await _claw_whole(conn, lines, transaction_id=transaction_id, at=at, why=why, now=now)
    else:
        changed = await _claw_share(conn, lines, partial=partial, at=at, why=why, now=now)
    return changed


async def _retier_order_month(conn: AsyncConnection, order: Any, now: datetime) -> None:
    """CMR-003 after a refund or cancellation of an RM's order: its month's achievement may have moved, whether
    the order earned a line or not (a sale without a plan counts as revenue all the same)."""
    if order.rm_id is None:
        return
    rm = await repository.rm_facts(conn, order.rm_id, lock=True)
    if rm is not None:
        month = await targets_service.month_of(conn, city=rm.city, at=order.paid_at)
        await retier(conn, rm_id=rm.id, period=rules.period_of(month), now=now)


async def _claw_whole(conn: AsyncConnection, lines: list[Any], *, transaction_id: UUID, at: datetime, why: str,
                      now: datetime) -> list[CommissionRead]:
    changed: list[CommissionRead] = []
    for row in lines:
        if row.kind == LineKind.CLAWBACK_REVERSAL.value:
            continue
        if row.status in UNPAID:
            updated = await repository.update_line(conn, row.id, version=row.version, values={
                "status": CommissionStatus.CLAWED_BACK.value, "clawback_reason": why, "updated_at": now})
            if updated is None:
                raise ChangedConcurrently(f"commission {row.id} changed meanwhile; retry")
            changed.append(_read(updated))
            await audit.record(conn, CONSUMER, action="commission.clawed_back", entity_type="commission",
                               entity_id=row.id, at=now, before=_read(row), after=changed[-1])
        elif row.status == CommissionStatus.PAID.value and row.final_amount != 0:
            amount = -row.final_amount
            reversal = await _insert(conn, {**_line(
                rm_id=row.rm_id, kind=LineKind.CLAWBACK_REVERSAL, dedupe_key=f"REVERSAL:{row.id}",
                transaction_id=transaction_id, transaction_type=row.transaction_type,
                commission_type=row.commission_type, base=row.base_amount, rate=row.commission_rate, amount=amount,
                capped=rules.Capped(amount, None, None), status=CommissionStatus.APPROVED.value,
                period=rules.period_of(now), sale_at=row.sale_at, earned_at=now, plan_id=row.plan_id,
                plan_version=row.plan_version, rule="CMR-002 clawback of a paid commission",
                text=f"{why}: {row.final_amount:f} paid with {row.payout_reference} is deducted from the next payout.",
                inputs={"corrects": str(row.id), "paid_amount": row.final_amount,
                        "payout_reference": row.payout_reference, "refunded_at": at}, now=now,
                corrects_id=row.id, reason=why, customer_id=row.customer_id),
                "approved_by": CONSUMER.sub, "approved_at": now}, now)
            if reversal is not None:
                changed.append(reversal)
    return changed


_CLAWED_IN_PART = (LineKind.SALE.value, LineKind.TIER_ADJUSTMENT.value, LineKind.DISPUTE_ADJUSTMENT.value)


async def _claw_share(conn: AsyncConnection, lines: list[Any], *, partial: PartialRefund, at: datetime, why: str,
                      now: datetime) -> list[CommissionRead]:
    """One PARTIAL_CLAWBACK per live line of the sale: minus its amount x refund / order amount (to the paisa).
    It follows the line it corrects: PENDING or EARNED with it (earned on the same day); APPROVED at once when
    that line is APPROVED or PAID (a paid line's share is deducted from the next payout). Counted in the month of
    the line it corrects (cap, tiers)."""
    changed: list[CommissionRead] = []
    share = partial.amount / partial.order_amount
    for row in lines:
        if row.kind not in _CLAWED_IN_PART or row.status == CommissionStatus.CLAWED_BACK.value:
            continue
        amount = -rules.paisa(row.final_amount * partial.amount / partial.order_amount)
        if amount == 0:
            continue
        state = row.status_before_dispute if row.status == CommissionStatus.DISPUTED.value else row.status
        approved = state in (CommissionStatus.APPROVED.value, CommissionStatus.PAID.value)
        paid = (f" It was paid with {row.payout_reference}: deducted from the next payout."
                if state == CommissionStatus.PAID.value else "")
        text = (f"{why}: {partial.amount:f} of the order's {partial.order_amount:f} refunded "
                f"({rules.paisa(share * rules.HUNDRED):f}%), so {-amount:f} of the {row.final_amount:f} of commission "
                f"{row.id} ({row.kind}) is clawed back.{paid}")
        values = _line(
            rm_id=row.rm_id, kind=LineKind.PARTIAL_CLAWBACK, dedupe_key=f"PARTIAL:{partial.refund_id}:{row.id}",
            transaction_id=row.transaction_id, transaction_type=row.transaction_type,
            commission_type=row.commission_type, base=partial.amount, rate=row.commission_rate, amount=amount,
            capped=rules.Capped(amount, None, None),
            status=(CommissionStatus.APPROVED.value if approved else state), period=row.period,
            sale_at=row.sale_at, earned_at=row.earned_at, plan_id=row.plan_id, plan_version=row.plan_version,
            rule="CMR-002 clawback of a partial refund's share", text=text, now=now, corrects_id=row.id, reason=why,
            customer_id=row.customer_id,
            inputs={"corrects": str(row.id), "refund_id": str(partial.refund_id), "refund_amount": partial.amount,
                    "order_amount": partial.order_amount, "line_amount": row.final_amount, "refunded_at": at,
                    "payout_reference": row.payout_reference})
        if approved:
            values |= {"approved_by": CONSUMER.sub, "approved_at": now}
        line = await _insert(conn, values, now)
        if line is not None:
            changed.append(line)
    return changed


# --- in-process hooks from orders and pipelines --------------------------------------------------

@hooks.subscribe("order.refunded")
async def on_order_refunded(conn: AsyncConnection, *, order: Any, refund: Any, now: datetime, **_: Any) -> None:
    """CMR-002: a refund completed within 45 days of the sale; the order already counts it. The refund that
    completes the order's refunds claws the whole commission back; any other claws back its share."""
    whole = order.refunded_amount >= order.amount
    await claw_back(conn, transaction_id=order.order_id, at=refund.completed_at,
                    reason=f"refund {refund.refund_id} of {refund.amount:f} completed", now=now,
                    partial=None if whole else PartialRefund(refund.refund_id, refund.amount, order.amount))
    await _retier_order_month(conn, order, now)


@hooks.subscribe("order.recorded")
async def on_order_recorded(conn: AsyncConnection, *, order: Any, created: bool, previous_status: str | None,
                            now: datetime) -> None:
    """A new order with an RM is a sale (its pipeline's deal, if already commissioned, is not paid twice); an
    order that becomes CANCELLED claws its commission back (CMR-002)."""
    if order.status == "CANCELLED" and previous_status not in (None, "CANCELLED"):
        await claw_back(conn, transaction_id=order.order_id, at=now, reason="order cancelled", now=now)
        await _retier_order_month(conn, order, now)
        return
    if not created or order.rm_id is None or order.status != "ACTIVE" or order.amount <= 0:
        return
    if order.pipeline_id is not None and await repository.has_sale_line(conn, order.pipeline_id):
        return
    await record_sale(conn, rm_id=order.rm_id, transaction_id=order.order_id,
                      transaction_type=order.transaction_type, base=order.amount, sale_at=order.paid_at,
                      customer_id=order.user_id, source=f"order {order.order_id}", now=now)


@hooks.subscribe("pipeline.stage_changed")
async def on_pipeline_stage_changed(conn: AsyncConnection, *, pipeline_id: UUID, new_stage: Any, now: datetime,
                                    **_: Any) -> None:
    """A pipeline CLOSED_WON with a deal value is a SUBSCRIPTION_NEW sale of its RM at the close, unless an order
    sold through it was already commissioned."""
    if str(new_stage) != "CLOSED_WON":
        return
    deal = await repository.deal_facts(conn, pipeline_id)
    if deal is None or not deal.deal_value or await repository.order_of_pipeline_commissioned(conn, pipeline_id):
        return
    await record_sale(conn, rm_id=deal.rm_id, transaction_id=pipeline_id, transaction_type="SUBSCRIPTION_NEW",
                      base=deal.deal_value, sale_at=now, customer_id=None, source=f"pipeline {pipeline_id} won",
                      now=now)


# --- jobs ----------------------------------------------------------------------------------------

async def earn_due(conn: AsyncConnection, *, now: datetime, limit: int = 5000) -> int:
    """CMR-001: PENDING lines 30 days after their sale (never refunded: those were clawed back) become EARNED,
    each with `sales.commission.earned` (a negative correction line moves without an event)."""
    rows = await repository.earn_due(conn, now, limit)
    await outbox.record_many(conn, type_="sales.commission.earned", at=now, events=[
        (row.id, _earned_data(row.id, row.rm_id, row.final_amount)) for row in rows if row.final_amount >= 0])
    if rows:
        await audit.record(conn, CONSUMER, action="commission.earned", entity_type="commission",
                           entity_id=rows[0].id, at=now, after={"earned": [str(r.id) for r in rows]})
    return len(rows)


async def team_bonuses(conn: AsyncConnection, *, now: datetime) -> int:
    """CMR-004: each member of a team whose target is ACHIEVED gets the TEAM_BONUS plan's amount (the version in
    force now), once per target and member, EARNED at once and counted in the target's month (CMR-005 cap)."""
    plan_row = await repository.plan_in_force(conn, PlanKey.TEAM_BONUS.value, now)
    if plan_row is None:
        return 0
    plan, made = _plan(plan_row), 0
    for target in await repository.achieved_team_targets(conn):
        rm = await repository.rm_facts(conn, target.rm_id, lock=True)
        period = f"{target.period_start.year:04d}-{target.period_start.month:02d}"
        month_total = await repository.month_total(conn, rm.id, period)
        amount = rules.paisa(plan.amount or ZERO)
        capped = rules.cap(amount, month_total=month_total, base_salary=rm.base_salary)
        rule = f"CMR-004 team bonus {amount:f}"
        text = (f"{rule}: team target {target.id} ({target.metric_type} {target.achieved_value:f} of "
                f"{target.target_value:f}) ACHIEVED; plan version {plan.version}.")
        line = await _insert(conn, _line(
            rm_id=rm.id, kind=LineKind.TEAM_BONUS, dedupe_key=f"BONUS:{target.id}:{rm.id}", transaction_id=target.id,
            transaction_type=PlanKey.TEAM_BONUS.value, commission_type=CommissionType.BONUS.value, base=amount,
            rate=ZERO, amount=amount, capped=capped, status=CommissionStatus.EARNED.value, period=period,
            sale_at=now, earned_at=now, plan_id=plan.id, plan_version=plan.version, rule=rule, text=text, now=now,
            inputs={"team_target_id": str(target.id), "team_id": str(target.assignee_id),
                    "metric_type": target.metric_type, "target_value": target.target_value,
                    "achieved_value": target.achieved_value, "bonus_amount": amount},
            exceptions=rules.exception_reasons(amount=capped.final, threshold=plan.exception_above, manual=False,
                                               fraud_flagged=False)), now)
        made += line is not None
    return made


# --- reads ---------------------------------------------------------------------------------------

async def get_line(conn: AsyncConnection, principal: Principal, *, line_id: UUID) -> CommissionRead:
    row = await repository.get_line(conn, line_id, scope=repository.readable(principal))
    if row is None:
        raise CommissionNotFound()
    return _read(row)


async def list_lines(conn: AsyncConnection, principal: Principal, *, filters: dict[str, Any], limit: int,
                     cursor: list[Any] | None) -> list[CommissionRead]:
    after = cursor_after(cursor, AFTER_TIME_AND_ID)
    rows = await repository.list_lines(conn, scope=repository.readable(principal), filters=filters, limit=limit,
                                       after=after)
    return [_read(r) for r in rows]


def line_cursor(line: CommissionRead) -> tuple[datetime, UUID]:
    return line.created_at, line.id


def _totals(found: dict[str, Decimal]) -> Totals:
    return Totals(**{status.value.lower(): found.get(status.value, ZERO) for status in CommissionStatus})


async def summary(conn: AsyncConnection, principal: Principal, *, rm_id: UUID, now: datetime) -> Summary:
    """The RM's lines of this month and this year by status (US-SALE-041 breakdown)."""
    if await repository.rm_in_scope(conn, rm_id, repository.readable_rm(principal)) is None:
        raise RmNotFound()
    month = rules.period_of(now)
    this_month = await repository.totals_by_status(conn, rm_id, periods=(month, month))
    this_year = await repository.totals_by_status(conn, rm_id, periods=(f"{now.year:04d}-01", f"{now.year:04d}-12"))
    return Summary(rm_id=rm_id, month=month, year=now.year, this_month=_totals(this_month),
                   this_year=_totals(this_year), as_of=now)


# --- approvals (US-SALE-042) ---------------------------------------------------------------------

async def _approve(conn: AsyncConnection, principal: Principal, line_id: UUID, now: datetime
                   ) -> tuple[CommissionRead, str]:
    row = await repository.get_line(conn, line_id)
    stage = _approval_stage(row, principal, line_id)
    if stage == "first":
        values, outcome = {"approved_by": principal.sub, "approved_at": now}, "FIRST_APPROVAL"
    elif stage == "second":
        values, outcome = {"second_approved_by": principal.sub, "second_approved_at": now,
                           "status": CommissionStatus.APPROVED.value}, "APPROVED"
    else:
        values, outcome = {"approved_by": principal.sub, "approved_at": now,
                           "status": CommissionStatus.APPROVED.value}, "APPROVED"
    updated = await repository.update_line(conn, line_id, version=row.version, values={**values, "updated_at": now})
    if updated is None:
        raise ChangedConcurrently(f"commission {line_id} changed meanwhile; read it again")
    line = _read(updated)
    await audit.record(conn, principal, action=f"commission.{outcome.lower()}", entity_type="commission",
                       entity_id=line_id, at=now, before=_read(row), after=line)
    return line, outcome


async def approve(conn: AsyncConnection, principal: Principal, *, line_id: UUID, now: datetime) -> CommissionRead:
    """EARNED -> APPROVED; an exception line takes two different approvers (the first leaves it EARNED)."""
    return (await _approve(conn, principal, line_id, now))[0]


async def batch_approve(conn: AsyncConnection, principal: Principal, *, ids: list[UUID], now: datetime
                        ) -> BatchResult:
    """All or nothing: every line is approved (or given its first approval), or none is and the error says which
    lines stopped the batch (BatchRejected carries every item's outcome; the transaction rolls back)."""
    if len(set(ids)) != len(ids):
        raise InvalidInput(("ids",), "each id once")
    found = await repository.lines_by_id(conn, ids)
    items, stages, failed = [], {"single": [], "first": [], "second": []}, False
    for line_id in ids:
        try:
            stage = _approval_stage(found.get(line_id), principal, line_id)
        except SalesError as exc:
            failed = True
            items.append(BatchItem(id=line_id, outcome=exc.code, status=None, detail=exc.detail))
            continue
        stages[stage].append(line_id)
        outcome, status = (("FIRST_APPROVAL", CommissionStatus.EARNED) if stage == "first"
                           else ("APPROVED", CommissionStatus.APPROVED))
        items.append(BatchItem(id=line_id, outcome=outcome, status=status, detail=None))
    if failed:
        raise BatchRejected(extra={"items": [i.model_dump(mode="json") for i in items]})
    for stage, stage_ids in stages.items():
        if stage_ids and await repository.approve_many(conn, stage_ids, approver=principal.sub, now=now,
                                                       stage=stage) != len(stage_ids):
            raise ChangedConcurrently("a line of the batch changed meanwhile: nothing was approved; retry")
    await audit.record(conn, principal, action="commission.batch_approved", entity_type="commission_batch",
                       entity_id=uuid.uuid4(), at=now,
                       after={"items": [{"id": i.id, "outcome": i.outcome} for i in items]})
    return BatchResult(items=items)


def _approval_stage(row: Any, principal: Principal, line_id: UUID) -> str:
    """Which approval this principal gives the line (single, an exception's first or second), or why none."""
    if row is None:
        raise CommissionNotFound(f"commission {line_id} not found")
    if row.status != CommissionStatus.EARNED.value:
        raise NotApprovable(f"commission {line_id} is {row.status}; only EARNED commissions are approved")
    if row.rm_id == principal.sub:
        raise SelfApproval()
    if not row.exception:
        return "single"
    if row.approved_by is None:
        return "first"
    if row.approved_by == principal.sub:
        raise SecondApproverRequired(f"commission {line_id} is an exception ({'; '.join(row.exception_reasons)}): "
                                     "a different FINANCE_ADMIN gives the second approval")
    return "second"


# --- disputes (CMR-006) --------------------------------------------------------------------------

async def dispute(conn: AsyncConnection, principal: Principal, *, line_id: UUID, reason: str,
                  now: datetime) -> CommissionRead:
    """CMR-006: the RM who earned the line disputes it within 7 days of its calculation -> DISPUTED."""
    row = await repository.get_line(conn, line_id, scope=repository.readable(principal))
    if row is None:
        raise CommissionNotFound()
    if row.rm_id != principal.sub:
        raise NotTheEarner()
    if row.status not in DISPUTABLE:
        raise NotDisputable(f"commission {line_id} is {row.status}")
    if not rules.may_dispute(row.created_at, now):
        raise DisputeWindowClosed(f"commission {line_id} was calculated at {row.created_at.isoformat()}; the 7 days "
                                  "to dispute it have passed (CMR-006)")
    updated = await repository.update_line(conn, line_id, version=row.version, values={
        "status": CommissionStatus.DISPUTED.value, "status_before_dispute": row.status, "disputed_at": now,
        "dispute_reason": reason, "dispute_outcome": None, "dispute_resolution": None, "dispute_resolved_by": None,
        "dispute_resolved_at": None, "updated_at": now})
    if updated is None:
        raise ChangedConcurrently(f"commission {line_id} changed meanwhile; read it again")
    line = _read(updated)
    await audit.record(conn, principal, action="commission.disputed", entity_type="commission", entity_id=line_id,
                       at=now, before=_read(row), after=line)
    return line


async def resolve(conn: AsyncConnection, principal: Principal, *, line_id: UUID, data: DisputeResolve,
                  now: datetime) -> CommissionRead:
    """FINANCE_ADMIN decides a dispute: the line returns to the status it had; UPHELD adds an adjustment line of
    `amount` referencing it (a manual adjustment: an exception needing two approvers)."""
    if data.outcome is DisputeOutcome.UPHELD and (data.amount is None or data.amount == 0):
        raise InvalidInput(("amount",), "an upheld dispute names the further commission owed (above 0)")
    if data.outcome is DisputeOutcome.REJECTED and data.amount is not None:
        raise InvalidInput(("amount",), "a rejected dispute takes no amount")
    row = await repository.get_line(conn, line_id)
    if row is None:
        raise CommissionNotFound()
    if row.status != CommissionStatus.DISPUTED.value:
        raise NotDisputed(f"commission {line_id} is {row.status}")
    back = row.status_before_dispute
    updated = await repository.update_line(conn, line_id, version=row.version, values={
        "status": back, "dispute_outcome": data.outcome.value, "dispute_resolution": data.reason,
        "dispute_resolved_by": principal.sub, "dispute_resolved_at": now, "updated_at": now})
    if updated is None:
        raise ChangedConcurrently(f"commission {line_id} changed meanwhile; read it again")
    if data.outcome is DisputeOutcome.UPHELD:
        assert data.amount is not None
        text = (f"CMR-006 dispute upheld by finance: {data.amount:f} added to commission {line_id} "
                f"({row.rule}). Dispute: {row.dispute_reason}. Resolution: {data.reason}.")
        await _insert(conn, _line(
            rm_id=row.rm_id, kind=LineKind.DISPUTE_ADJUSTMENT, dedupe_key=f"DISPUTE:{line_id}:{row.version}",
            transaction_id=row.transaction_id, transaction_type=row.transaction_type,
            commission_type=row.commission_type, base=row.base_amount, rate=row.commission_rate, amount=data.amount,
            capped=rules.Capped(data.amount, None, None),
            status=_eligibility(row.earned_at, now),
            period=row.period, sale_at=row.sale_at, earned_at=row.earned_at, plan_id=row.plan_id,
            plan_version=row.plan_version, rule="CMR-006 upheld dispute adjustment", text=text, now=now,
            inputs={"corrects": str(line_id), "dispute_reason": row.dispute_reason, "amount": data.amount,
                    "resolved_by": str(principal.sub)},
            corrects_id=line_id, reason=data.reason, customer_id=row.customer_id,
            exceptions=rules.exception_reasons(amount=data.amount, threshold=Decimal("Infinity"), manual=True,
                                               fraud_flagged=False)), now)
    line = _read(updated)
    await audit.record(conn, principal, action="commission.dispute_resolved", entity_type="commission",
                       entity_id=line_id, at=now, before=_read(row), after=line)
    return line


# --- payouts -------------------------------------------------------------------------------------

async def pay(conn: AsyncConnection, principal: Principal, *, data: PayoutCreate, now: datetime) -> PayoutRead:
    """APPROVED lines of the period and earlier become PAID with the reference (`sales.commission.paid` each);
    reversals of clawed-back paid lines are among them, so they are deducted. Each line is paid once."""
    if data.period > rules.period_of(now):
        raise InvalidInput(("period",), f"{data.period} has not begun")
    payout = await repository.insert_payout(conn, {"id": uuid.uuid4(), "period": data.period,
                                                   "reference": data.reference, "lines": 0, "total": ZERO,
                                                   "created_by": principal.sub, "created_at": now})
    if payout is None:
        raise PayoutReferenceUsed(f"payout reference {data.reference} was used")
    paid = await repository.pay_approved(conn, period=data.period, reference=data.reference, now=now)
    await outbox.record_many(conn, type_="sales.commission.paid", at=now, events=[
        (row.id, {"commission_id": row.id, "rm_id": row.rm_id, "amount": row.final_amount,
                  "payout_reference": data.reference}) for row in paid])
    total = sum((row.final_amount for row in paid), ZERO)
    result = PayoutRead.model_validate((await repository.finish_payout(conn, payout.id, lines=len(paid),
                                                                         total=total))._mapping)
    await audit.record(conn, principal, action="commission.paid", entity_type="commission_payout",
                       entity_id=result.id, at=now, after={**result.model_dump(), "lines": [str(r.id) for r in paid]})
    return result


async def payout_report(conn: AsyncConnection, *, period: str) -> PayoutReport:
    """Per RM: what is payable in the period (APPROVED, this month and earlier) and what its payouts paid."""
    references = await repository.payout_references(conn, period)
    rows = [PayoutRow(rm_id=r[0], rm_name=r[1], lines=r[2], payable_amount=Decimal(r[3]), paid_amount=Decimal(r[4]),
                      payout_references=references.get(r[0], []))
            for r in await repository.payout_rows(conn, period)]
    return PayoutReport(period=period, rows=rows, payable_total=sum((r.payable_amount for r in rows), ZERO),
                        paid_total=sum((r.paid_amount for r in rows), ZERO))


def payout_csv(report: PayoutReport) -> str:
    """The payroll export: one row per RM, amounts with two places (a name is never read as a formula)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["period", "rm_id", "rm_name", "lines", "payable_amount", "paid_amount", "payout_references"])
    for row in report.rows:
        writer.writerow([report.period, row.rm_id, _cell(row.rm_name), row.lines, f"{row.payable_amount:.2f}",
                         f"{row.paid_amount:.2f}", " ".join(row.payout_references)])
    return out.getvalue()


def _cell(text: str) -> str:
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
