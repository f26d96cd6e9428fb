"""Refund use cases (issue 12; PRD §6.4). Never commits."""
from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.catalog import service as catalog_service
from sales.core import audit, outbox
from sales.core.auth import Principal
from sales.core.errors import InvalidInput
from sales.orders import repository as orders_repository
from sales.orders.errors import OrderNotFound
from sales.refunds import repository, rules
from sales.refunds.enums import RefundStatus
from sales.refunds.errors import RefundAlreadyOpen
from sales.refunds.schemas import EligibilityRead, RefundCreate, RefundRead, RuleRead
from sales.usage import service as usage_service


async def _evaluate(conn: AsyncConnection, order: Any, now: datetime) -> rules.Eligibility:
    """The rules over the order, its plan and the user's usage of that plan, at `now`."""
    plan = await catalog_service.get_plan_facts(conn, order.plan_id)
    if plan is None:  # orders.plan_id refers to plans: cannot happen short of a broken database
        raise OrderNotFound(f"order {order.order_id} not found")
    used = rules.used_by_quota(await usage_service.usage_for(conn, order.user_id), plan_id=order.plan_id,
                               order_id=order.order_id)
    earlier = await repository.earlier_refunds(conn, user_id=order.user_id, since=now - rules.FRAUD_WINDOW)
    return rules.evaluate(paid_at=order.paid_at, ends_at=order.ends_at, amount=order.amount,
                          refunded=order.refunded_amount, duration_days=plan.duration_days,
                          features=plan.features, used=used, at=now, earlier=earlier)


async def eligibility(conn: AsyncConnection, principal: Principal, *, order_id: UUID,
                      now: datetime) -> EligibilityRead:
    """GET /refunds/eligibility/{order_id}: whether a REFUND of this order requested now is possible, how much,
    who approves it, and why (each rule with its figures). Out of the caller's scope is 404."""
    order = await orders_repository.get(conn, order_id, scope=repository.readable(principal))
    if order is None:
        raise OrderNotFound(f"order {order_id} not found")
    answer = await _evaluate(conn, order, now)
    return EligibilityRead(order_id=order.order_id, type="REFUND", eligible=answer.eligible,
                           refundable_amount=answer.refundable_amount, currency=order.currency,
                           approval=answer.approval,  # type: ignore[arg-type]
                           rules=[RuleRead(**asdict(r)) for r in answer.rules], evaluated_at=now,
                           expected_resolution_by=answer.expected_resolution_by)


_STATUS_OF_ROUTE = {rules.AUTO: RefundStatus.PROCESSING, rules.SUPPORT_AGENT: RefundStatus.PENDING_APPROVAL,
                    rules.MANAGER: RefundStatus.PENDING_MANAGER_APPROVAL}


async def request_refund(conn: AsyncConnection, principal: Principal, *, data: RefundCreate,
                         now: datetime) -> RefundRead:
    """POST /refunds (issue 12): evaluate the rules now and record the request.
    - not eligible: recorded REJECTED with the rule outcomes (a manager's policy exception comes later);
    - eligible, under Rs. 500 (RFR-003): auto-approved and sent to Billing at once (PROCESSING,
      `sales.refund.requested`);
    - Rs. 500..5,000: PENDING_APPROVAL (SUPPORT_AGENT or a manager); above Rs. 5,000: PENDING_MANAGER_APPROVAL
      (RFR-004); flagged for fraud review (RFR-005: a 3rd refund in 90 days): PENDING_MANAGER_APPROVAL whatever
      the amount, `flagged` set and the earlier refunds in the RFR-005 outcome.
    The order must be in the caller's scope (else 404); a named amount may not exceed the refundable amount
    (422); a second open request on the order is 409."""
    order = await orders_repository.get(conn, data.order_id, scope=repository.requestable(principal))
    if order is None:
        raise OrderNotFound(f"order {data.order_id} not found")
    answer = await _evaluate(conn, order, now)
    outcomes = answer.rules[:-1]  # the approval rule is re-evaluated on the amount asked for
    flagged = not next(r for r in outcomes if r.id == "RFR-005").passed
    if not answer.eligible:
        requested = data.amount if data.amount is not None else answer.refundable_amount
        status, route, amount = RefundStatus.REJECTED, rules.MANAGER, None
        failed = ", ".join(r.id for r in outcomes if not r.passed and r.id != "RFR-005")
        decided_at, decision_reason = now, f"not eligible: {failed}"
    else:
        if data.amount is not None and data.amount > answer.refundable_amount:
            raise InvalidInput(("amount",), f"above the refundable amount {answer.refundable_amount:.2f}")
        if data.amount is not None and data.amount == 0:
            raise InvalidInput(("amount",), "must be more than 0.00")
        requested = data.amount if data.amount is not None else answer.refundable_amount
        outcomes = [*outcomes, rules.approval_rule(requested, flagged=flagged)]
        route = rules.approver(requested, flagged=flagged)
        status = _STATUS_OF_ROUTE[route]
        auto = route == rules.AUTO
        amount = requested if auto else None
        decided_at, decision_reason = (now, "RFR-003: approved automatically") if auto else (None, None)
    refund_id = uuid.uuid4()
    row = await repository.insert_unless_open(conn, {
        "id": refund_id, "order_id": order.order_id, "user_id": order.user_id, "type": data.type,
        "status": status.value, "flagged": flagged, "reason": data.reason, "requested_amount": requested,
        "refundable_amount": answer.refundable_amount, "amount": amount, "approval": route,
        "rules": [_stored(r) for r in outcomes], "requested_by": principal.sub, "requested_at": now,
        "decided_at": decided_at, "decided_by": None, "decision_reason": decision_reason,
        "expected_resolution_by": answer.expected_resolution_by, "created_at": now, "updated_at": now})
    if row is None:
        raise RefundAlreadyOpen(f"order {order.order_id} already has an open refund request")
    refund = RefundRead.model_validate(row._mapping)
    await audit.record(conn, principal, action="refund.requested", entity_type="refund", entity_id=refund_id,
                       at=now, after=refund)
    if status is RefundStatus.PROCESSING:
        await outbox.record(conn, type_="sales.refund.requested", subject=refund_id, at=now,
                            data={"refund_id": str(refund_id), "order_id": str(order.order_id), "amount": amount})
    return refund


def _stored(outcome: rules.RuleOutcome) -> dict[str, Any]:
    """A rule outcome for the JSON column (its codec keeps Decimal figures exact)."""
    return asdict(outcome)
