"""Refund use cases (issue 12; PRD §6.4). Never commits."""
from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.catalog import service as catalog_service
from sales.core import audit, files, outbox
from sales.core.auth import Principal, Role
from sales.core.errors import InvalidInput
from sales.core.http import AFTER_TIME_AND_ID, cursor_after
from sales.notifications import service as notifications_service
from sales.orders import repository as orders_repository
from sales.orders.errors import OrderNotFound
from sales.orders.schemas import RefundCompleted
from sales.refunds import repository, rules
from sales.refunds.enums import RefundStatus, RefundType
from sales.refunds.errors import (EvidenceMissing, EvidenceNotAccepted, ManagerDecisionRequired, RefundAlreadyOpen,
                                  RefundChangedConcurrently, RefundNotFound, RefundNotPending)
from sales.refunds.permissions import MANAGERS
from sales.refunds.schemas import (EligibilityRead, EvidenceRead, EvidenceUpload, GuaranteeRead, GuaranteesRead,
                                   GuaranteesWrite, RefundApprove, RefundCreate, RefundDetail, RefundRead,
                                   RefundReject, RuleRead, TimelineEntry)
from sales.usage import service as usage_service


async def _evaluate(conn: AsyncConnection, order: Any, now: datetime,
                    sla: timedelta = rules.DEFAULT_SLA) -> rules.Eligibility:
    """The rules over the order, its plan and the user's usage of that plan, at `now`."""
    plan = await catalog_service.get_plan_facts(conn, order.plan_id)
    if plan is None:  # orders.plan_id refers to plans: cannot happen short of a broken database
        raise OrderNotFound(f"order {order.order_id} not found")
    used = rules.used_by_quota(await usage_service.usage_for(conn, order.user_id), plan_id=order.plan_id,
                               order_id=order.order_id)
    earlier = await repository.earlier_refunds(conn, user_id=order.user_id, since=now - rules.FRAUD_WINDOW)
    return rules.evaluate(paid_at=order.paid_at, ends_at=order.ends_at, amount=order.amount,
                          refunded=order.refunded_amount, duration_days=plan.duration_days,
                          features=plan.features, used=used, at=now, earlier=earlier, sla=sla)


async def _evaluate_claim(conn: AsyncConnection, order: Any, now: datetime, sla: timedelta) -> rules.Eligibility:
    """A GUARANTEE_CLAIM over the order and its plan's guarantee at `now`."""
    guarantee = await repository.guarantee_of(conn, order.plan_id)
    earlier = await repository.earlier_refunds(conn, user_id=order.user_id, since=now - rules.FRAUD_WINDOW)
    return rules.evaluate_claim(guarantee=None if guarantee is None else guarantee._mapping, paid_at=order.paid_at,
                                amount=order.amount, refunded=order.refunded_amount, at=now, earlier=earlier,
                                sla=sla)


async def eligibility(conn: AsyncConnection, principal: Principal, *, order_id: UUID, now: datetime,
                      sla: timedelta = rules.DEFAULT_SLA, type_: RefundType = RefundType.REFUND) -> EligibilityRead:
    """GET /refunds/eligibility/{order_id}: whether a REFUND (or, with type=GUARANTEE_CLAIM, a claim under the
    plan's guarantee) of this order requested now is possible, how much, who approves it, and why (each rule
    with its figures). Out of the caller's scope is 404."""
    order = await orders_repository.get(conn, order_id, scope=repository.readable(principal))
    if order is None:
        raise OrderNotFound(f"order {order_id} not found")
    claim = type_ == RefundType.GUARANTEE_CLAIM
    answer = await (_evaluate_claim(conn, order, now, sla) if claim else _evaluate(conn, order, now, sla))
    return EligibilityRead(order_id=order.order_id, type=type_.value, eligible=answer.eligible,
                           refundable_amount=answer.refundable_amount, currency=order.currency,
                           approval=answer.approval,  # type: ignore[arg-type]
                           rules=[RuleRead(**asdict(r)) for r in answer.rules], evaluated_at=now,
                           expected_resolution_by=answer.expected_resolution_by)


REQUESTED_EVENT, PROCESSED_EVENT = "sales.refund.requested", "sales.refund.processed"
# The role a timeline step names when the actor holds several (the one that let them act).
ACTOR_ROLES = (Role.SALES_ADMIN, Role.SUPERVISOR, Role.SUPPORT_AGENT, Role.FINANCE_ADMIN, Role.CUSTOMER)

# The message each decision sends the customer (issue 12: each decision is told through notify).
CUSTOMER_TEMPLATES = {RefundStatus.PROCESSING: "refund_approved", RefundStatus.REJECTED: "refund_rejected",
                      RefundStatus.COMPLETED: "refund_completed"}

_STATUS_OF_ROUTE = {rules.AUTO: RefundStatus.PROCESSING, rules.SUPPORT_AGENT: RefundStatus.PENDING_APPROVAL,
                    rules.MANAGER: RefundStatus.PENDING_MANAGER_APPROVAL}


async def request_refund(conn: AsyncConnection, principal: Principal, *, data: RefundCreate, now: datetime,
                         sla: timedelta = rules.DEFAULT_SLA) -> RefundRead:
    """POST /refunds (issue 12): evaluate the rules now and record the request.
    - not eligible: recorded REJECTED with the rule outcomes (a manager's policy exception comes later);
    - eligible, under Rs. 500 (RFR-003): auto-approved and sent to Billing at once (PROCESSING,
      `sales.refund.requested`);
    - Rs. 500..5,000: PENDING_APPROVAL (SUPPORT_AGENT or a manager); above Rs. 5,000: PENDING_MANAGER_APPROVAL
      (RFR-004); flagged for fraud review (RFR-005: a 3rd refund in 90 days): PENDING_MANAGER_APPROVAL whatever
      the amount, `flagged` set and the earlier refunds in the RFR-005 outcome.
    A GUARANTEE_CLAIM follows its plan's guarantee instead (rules.evaluate_claim): eligible ones go to
    UNDER_INVESTIGATION for a SUPPORT_AGENT (up to Rs. 5,000) or a manager, never automatically.
    The order must be in the caller's scope (else 404); a named amount may not exceed the refundable amount
    (422); a second open request on the order is 409."""
    order = await orders_repository.get(conn, data.order_id, scope=repository.requestable(principal))
    if order is None:
        raise OrderNotFound(f"order {data.order_id} not found")
    claim = data.type == RefundType.GUARANTEE_CLAIM
    answer = await (_evaluate_claim(conn, order, now, sla) if claim else _evaluate(conn, order, now, sla))
    # the approval rule is re-evaluated on the amount asked for
    outcomes = [r for r in answer.rules if r.id not in ("RFR-003", "RFR-004")]
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
        if claim:
            outcomes = [*outcomes, rules.claim_approval_rule(requested, flagged=flagged)]
            route = rules.claim_approver(requested, flagged=flagged)
            status = RefundStatus.UNDER_INVESTIGATION
        else:
            outcomes = [*outcomes, rules.approval_rule(requested, flagged=flagged)]
            route = rules.approver(requested, flagged=flagged)
            status = _STATUS_OF_ROUTE[route]
        auto = route == rules.AUTO
        amount = requested if auto else None
        decided_at, decision_reason = (now, "RFR-003: approved automatically") if auto else (None, None)
    refund_id = uuid.uuid4()
    row = await repository.insert_unless_open(conn, {
        "id": refund_id, "order_id": order.order_id, "user_id": order.user_id, "type": data.type.value,
        "status": status.value, "flagged": flagged, "reason": data.reason, "requested_amount": requested,
        "refundable_amount": answer.refundable_amount, "amount": amount, "approval": route,
        "rules": [_stored(r) for r in outcomes], "requested_by": principal.sub, "requested_at": now,
        "decided_at": decided_at, "decided_by": None, "decision_reason": decision_reason,
        "resolved_at": now if status is RefundStatus.REJECTED else None,
        "expected_resolution_by": answer.expected_resolution_by, "created_at": now, "updated_at": now})
    if row is None:
        raise RefundAlreadyOpen(f"order {order.order_id} already has an open refund request")
    refund = _read(row, now)
    await audit.record(conn, principal, action="refund.requested", entity_type="refund", entity_id=refund_id,
                       at=now, after=refund)
    steps = [_step(refund_id, "REQUESTED", RefundStatus.REQUESTED, now, principal, note=data.reason,
                   data={"requested_amount": requested})]
    if status is RefundStatus.REJECTED:
        steps.append(_step(refund_id, "REJECTED", status, now, None, note=decision_reason))
    elif status is RefundStatus.PROCESSING:
        steps += [_step(refund_id, "AUTO_APPROVED", RefundStatus.AUTO_APPROVED, now, None, note=decision_reason,
                        data={"amount": amount}),
                  _step(refund_id, "SENT_TO_BILLING", status, now, None, data={"amount": amount})]
    else:
        steps.append(_step(refund_id, "AWAITING_DECISION", status, now, None,
                           note=f"waiting for {'a manager' if route == rules.MANAGER else 'a SUPPORT_AGENT'}"))
    await repository.add_events(conn, steps)
    if status is RefundStatus.PROCESSING:
        await _send_to_billing(conn, refund, now)
    if status in (RefundStatus.PROCESSING, RefundStatus.REJECTED):
        await _tell_customer(conn, refund, now)
    return refund


async def get_refund(conn: AsyncConnection, principal: Principal, *, refund_id: UUID, now: datetime) -> RefundDetail:
    """GET /refunds/{id}: the refund and its timeline; another customer's (or an unknown one) is 404."""
    row = await repository.get(conn, refund_id, scope=repository.readable_refunds(principal))
    if row is None:
        raise RefundNotFound(f"refund {refund_id} not found")
    return await _detail(conn, row, now)


async def list_refunds(conn: AsyncConnection, principal: Principal, *, filters: dict[str, Any], limit: int,
                       cursor: list[Any] | None, now: datetime) -> list[RefundRead]:
    """GET /refunds: newest first; a CUSTOMER sees only their own."""
    rows = await repository.list_(conn, scope=repository.readable_refunds(principal), filters=filters,
                                  limit=limit, after=cursor_after(cursor, AFTER_TIME_AND_ID), now=now)
    return [_read(r, now) for r in rows]


def cursor_of(refund: RefundRead) -> tuple[datetime, UUID]:
    return refund.requested_at, refund.id


async def approve(conn: AsyncConnection, principal: Principal, *, refund_id: UUID, data: RefundApprove,
                  now: datetime) -> RefundDetail:
    """POST /refunds/{id}/approve (RFR-003/004/005): a SUPPORT_AGENT approves a PENDING_APPROVAL or
    UNDER_INVESTIGATION request up to Rs. 5,000 that is not flagged; a manager (SUPERVISOR, SALES_ADMIN)
    anything waiting, and a request the rules rejected (ineligible) as a policy exception with a reason. The approved
    amount (default: the amount asked for) never exceeds what the rules allowed, nor paid minus refunded.
    APPROVED, then at once PROCESSING with `sales.refund.requested`; of concurrent decisions one wins (409)."""
    current = await repository.get(conn, refund_id)
    if current is None:
        raise RefundNotFound(f"refund {refund_id} not found")
    manager = principal.has(*MANAGERS)
    # A policy exception grants a request the rules rejected (decided_by null); a person's rejection is final.
    exception = current.status == RefundStatus.REJECTED and current.decided_by is None
    if exception and not manager:
        raise ManagerDecisionRequired("only a manager may grant an ineligible request as a policy exception")
    if not exception and current.status not in rules.DECIDABLE:
        raise RefundNotPending(f"refund {refund_id} is {current.status}")
    if not manager and rules.needs_manager(status=current.status, approval=current.approval,
                                           flagged=current.flagged, amount=data.amount):
        raise ManagerDecisionRequired(f"refund {refund_id} needs a manager's decision (RFR-004/RFR-005)")
    if exception and data.reason is None:
        raise InvalidInput(("reason",), "a policy exception needs a reason")
    if exception and await repository.other_open(conn, order_id=current.order_id, refund_id=refund_id):
        raise RefundAlreadyOpen(f"order {current.order_id} already has an open refund request")
    if current.type == RefundType.GUARANTEE_CLAIM and not exception:
        missing = rules.missing_evidence(required=_evidence_required(current.rules),
                                         provided=[e.kind for e in await repository.evidence_of(conn, refund_id)])
        if missing:
            raise EvidenceMissing(f"the guarantee needs evidence of: {', '.join(missing)}",
                                  extra={"missing_evidence": missing})
    order = await orders_repository.get(conn, current.order_id)
    limit = rules.approvable_limit(refundable=current.refundable_amount, paid=order.amount,
                                   refunded=order.refunded_amount, exception=exception)
    amount = data.amount if data.amount is not None else rules.default_approval_amount(
        requested=current.requested_amount, rules=current.rules, limit=limit)
    if amount > limit:
        raise InvalidInput(("amount",), f"above the refundable amount {limit:.2f}")
    if amount <= 0:
        raise InvalidInput(("amount",), "nothing to refund: name an amount above 0.00")
    reason = data.reason or ("policy exception" if exception else "approved")
    row = await repository.move(conn, refund_id, from_=current.status, version=current.version, values={
        "status": RefundStatus.PROCESSING.value, "amount": amount, "decided_at": now, "decided_by": principal.sub,
        "decision_reason": reason, "policy_exception": exception, "resolved_at": None, "updated_at": now})
    if row is None:
        raise RefundNotPending(f"refund {refund_id} was decided or changed concurrently")
    refund = _read(row, now)
    await repository.add_events(conn, [
        _step(refund_id, "APPROVED", RefundStatus.APPROVED, now, principal, note=data.reason,
              data={"amount": amount, "policy_exception": exception}),
        _step(refund_id, "SENT_TO_BILLING", RefundStatus.PROCESSING, now, None, data={"amount": amount})])
    await audit.record(conn, principal, action="refund.policy_exception" if exception else "refund.approved",
                       entity_type="refund", entity_id=refund_id, at=now, before=_read(current, now),
                       after={**refund.model_dump(), "policy_exception": exception})
    await _send_to_billing(conn, refund, now)
    await _tell_customer(conn, refund, now)
    return await _detail(conn, row, now)


async def reject(conn: AsyncConnection, principal: Principal, *, refund_id: UUID, data: RefundReject,
                 now: datetime) -> RefundDetail:
    """POST /refunds/{id}/reject: whoever may approve a waiting request may reject it, with a reason."""
    current = await repository.get(conn, refund_id)
    if current is None:
        raise RefundNotFound(f"refund {refund_id} not found")
    if current.status not in rules.DECIDABLE:
        raise RefundNotPending(f"refund {refund_id} is {current.status}")
    if not principal.has(*MANAGERS) and rules.needs_manager(status=current.status, approval=current.approval,
                                                            flagged=current.flagged):
        raise ManagerDecisionRequired(f"refund {refund_id} needs a manager's decision (RFR-004/RFR-005)")
    row = await repository.move(conn, refund_id, from_=current.status, version=current.version, values={
        "status": RefundStatus.REJECTED.value, "decided_at": now, "decided_by": principal.sub,
        "decision_reason": data.reason, "resolved_at": now, "updated_at": now})
    if row is None:
        raise RefundNotPending(f"refund {refund_id} was decided or changed concurrently")
    refund = _read(row, now)
    await repository.add_events(conn, [_step(refund_id, "REJECTED", RefundStatus.REJECTED, now, principal,
                                             note=data.reason)])
    await audit.record(conn, principal, action="refund.rejected", entity_type="refund", entity_id=refund_id,
                       at=now, before=_read(current, now), after=refund)
    await _tell_customer(conn, refund, now)
    return await _detail(conn, row, now)


async def complete(conn: AsyncConnection, *, refund: RefundCompleted, now: datetime) -> RefundRead | None:
    """billing.refund.completed: the PROCESSING request `refund.refund_id` -> COMPLETED (resolved when the money
    went back), `sales.refund.processed` {refund_id, status, amount} with the amount Billing returned, the
    customer told. None for a refund Billing made without a request here; the same refund again is a no-op.
    RefundNotPending when the event contradicts the request (another order, or never sent to Billing)."""
    current = await repository.get(conn, refund.refund_id)
    if current is None:
        return None
    if current.order_id != refund.order_id:
        raise RefundNotPending(f"refund {refund.refund_id} belongs to order {current.order_id}")
    if current.status == RefundStatus.COMPLETED:
        return _read(current, now)
    if current.status != RefundStatus.PROCESSING:
        raise RefundNotPending(f"refund {refund.refund_id} is {current.status}, never sent to Billing")
    row = await repository.move(conn, refund.refund_id, from_=current.status, version=current.version, values={
        "status": RefundStatus.COMPLETED.value, "resolved_at": refund.completed_at, "updated_at": now})
    if row is None:  # completed by a concurrent delivery of the same event: retried, then a no-op
        raise RefundChangedConcurrently(f"refund {refund.refund_id} changed concurrently; retry")
    completed = _read(row, now)
    await repository.add_events(conn, [_step(refund.refund_id, "MONEY_RETURNED", RefundStatus.COMPLETED,
                                             refund.completed_at, None, role="BILLING",
                                             data={"amount": refund.amount})])
    await audit.record(conn, None, action="refund.completed", entity_type="refund", entity_id=refund.refund_id,
                       at=now, before=_read(current, now), after={**completed.model_dump(),
                                                                  "returned": refund.amount})
    await outbox.record(conn, type_=PROCESSED_EVENT, subject=refund.refund_id, at=now, data={
        "refund_id": str(refund.refund_id), "status": completed.status.value, "amount": refund.amount})
    await _tell_customer(conn, completed, now)
    return completed


async def get_guarantees(conn: AsyncConnection) -> GuaranteesRead:
    """GET /guarantees: every plan's guarantee, by plan id."""
    return GuaranteesRead(items=[GuaranteeRead.model_validate(r._mapping) for r in await repository.guarantees(conn)])


async def put_guarantees(conn: AsyncConnection, principal: Principal, *, data: GuaranteesWrite,
                         now: datetime) -> GuaranteesRead:
    """PUT /guarantees: replace the whole set (each plan at most once, a known plan); audited per plan changed.
    Claims already filed keep the terms they were evaluated on (stored in their rules)."""
    seen: set[UUID] = set()
    for index, item in enumerate(data.items):
        if item.plan_id in seen:
            raise InvalidInput(("items", index, "plan_id"), f"plan {item.plan_id} appears more than once")
        seen.add(item.plan_id)
        if await catalog_service.get_plan_facts(conn, item.plan_id) is None:
            raise InvalidInput(("items", index, "plan_id"), f"unknown plan {item.plan_id}")
    before = {g.plan_id: g for g in (await get_guarantees(conn)).items}
    rows = [{**item.model_dump(exclude={"condition"}), "condition": item.condition.model_dump(exclude_none=True),
             "updated_by": principal.sub, "created_at": now, "updated_at": now} for item in data.items]
    await repository.replace_guarantees(conn, rows)
    after = await get_guarantees(conn)
    for plan_id in sorted(seen | before.keys()):
        new = next((g for g in after.items if g.plan_id == plan_id), None)
        old = before.get(plan_id)
        if old is None or new is None or _terms(old) != _terms(new):
            await audit.record(conn, principal, action="guarantee.changed" if new else "guarantee.removed",
                               entity_type="plan_guarantee", entity_id=plan_id, at=now, before=old, after=new)
    return after


def _terms(guarantee: GuaranteeRead) -> dict[str, Any]:
    return guarantee.model_dump(exclude={"updated_by", "created_at", "updated_at"})


async def add_evidence(conn: AsyncConnection, principal: Principal, *, refund_id: UUID, upload: EvidenceUpload,
                       now: datetime) -> EvidenceRead:
    """POST /refunds/{id}/evidence: a file (JPEG, PNG or PDF by its content, at most `upload.max_bytes`) and a
    note on a claim under investigation, by the customer who filed it or refund staff; stored on disk with its
    sha256 and on the timeline. Another customer's refund is 404; a refund not taking evidence is 409."""
    current = await repository.get(conn, refund_id, scope=repository.readable_refunds(principal))
    if current is None:
        raise RefundNotFound(f"refund {refund_id} not found")
    if current.type != RefundType.GUARANTEE_CLAIM or current.status not in rules.DECIDABLE:
        raise EvidenceNotAccepted(f"refund {refund_id} is a {current.type} in {current.status}: evidence is "
                                  "taken on guarantee claims awaiting a decision")
    if len(upload.content) > upload.max_bytes:
        raise InvalidInput(("file",), f"larger than {upload.max_bytes} bytes")
    content_type = files.sniff(upload.content)
    if content_type is None:
        raise InvalidInput(("file",), "must be a JPEG, PNG or PDF file")
    required = _evidence_required(current.rules)
    if upload.kind is not None and upload.kind not in required:
        raise InvalidInput(("kind",), f"not evidence this guarantee asks for ({', '.join(required) or 'none'})")
    digest = files.sha256_of(upload.content)  # <directory>/<refund id>/<sha256>
    path = await upload.store.put(f"{refund_id}/{digest}", upload.content)  # removed again on a rollback
    row = await repository.add_evidence(conn, {
        "id": uuid.uuid4(), "refund_id": refund_id, "kind": upload.kind, "note": upload.note,
        "filename": upload.filename, "content_type": content_type, "size_bytes": len(upload.content),
        "sha256": digest, "storage_path": path, "uploaded_by": principal.sub, "uploaded_at": now})
    evidence = EvidenceRead.model_validate(row._mapping)
    await repository.add_events(conn, [_step(refund_id, "EVIDENCE_ADDED", RefundStatus(current.status), now,
                                             principal, note=upload.note,
                                             data={"evidence_id": str(evidence.id), "kind": upload.kind,
                                                   "sha256": digest})])
    await audit.record(conn, principal, action="refund.evidence_added", entity_type="refund", entity_id=refund_id,
                       at=now, after=evidence)
    return evidence


def _evidence_required(stored_rules: list[dict[str, Any]]) -> list[str]:
    """The evidence kinds of the guarantee the claim was evaluated on."""
    terms = next((r for r in stored_rules if r.get("id") == "GUARANTEE"), None)
    return list(terms["figures"].get("evidence_required", [])) if terms else []


async def _send_to_billing(conn: AsyncConnection, refund: RefundRead, now: datetime) -> None:
    await outbox.record(conn, type_=REQUESTED_EVENT, subject=refund.id, at=now, data={
        "refund_id": str(refund.id), "order_id": str(refund.order_id), "amount": refund.amount})


async def _tell_customer(conn: AsyncConnection, refund: RefundRead, now: datetime) -> None:
    """Each decision (and the money's return) is told to the customer (transactional: opt-outs of marketing
    do not apply); once per refund and status."""
    await notifications_service.notify(
        conn, recipient_type="CUSTOMER", recipient_id=refund.user_id, template=CUSTOMER_TEMPLATES[refund.status],
        data={"refund_id": str(refund.id), "order_id": str(refund.order_id), "status": refund.status.value,
              "amount": None if refund.amount is None else str(refund.amount),
              "reason": refund.decision_reason,
              "expected_resolution_by": refund.expected_resolution_by.isoformat().replace("+00:00", "Z")},
        dedupe_key=f"refund:{refund.id}:{refund.status.value}", transactional=True, now=now)


def _actor_role(principal: Principal | None) -> str:
    if principal is None:
        return "SYSTEM"
    return next((r.value for r in ACTOR_ROLES if principal.has(r)), sorted(r.value for r in principal.roles)[0])


def _step(refund_id: UUID, kind: str, status: RefundStatus, at: datetime, principal: Principal | None, *,
          note: str | None = None, data: dict[str, Any] | None = None, role: str | None = None) -> dict[str, Any]:
    return {"refund_id": refund_id, "kind": kind, "status": status.value, "at": at,
            "actor_id": principal.sub if principal else None, "actor_role": role or _actor_role(principal),
            "note": note, "data": data}


def _read(row: Any, now: datetime) -> RefundRead:
    values = dict(row._mapping)
    values["sla_breached"] = rules.sla_breached(expected_resolution_by=row.expected_resolution_by,
                                                resolved_at=row.resolved_at, at=now)
    return RefundRead.model_validate(values)


async def _detail(conn: AsyncConnection, row: Any, now: datetime) -> RefundDetail:
    steps = [TimelineEntry.model_validate(s._mapping) for s in await repository.timeline(conn, row.id)]
    evidence = [EvidenceRead.model_validate(e._mapping) for e in await repository.evidence_of(conn, row.id)]
    return RefundDetail(**_read(row, now).model_dump(), timeline=steps, evidence=evidence)


def _stored(outcome: rules.RuleOutcome) -> dict[str, Any]:
    """A rule outcome for the JSON column (its codec keeps Decimal figures exact)."""
    return asdict(outcome)
