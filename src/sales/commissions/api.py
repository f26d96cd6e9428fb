"""/api/v1/sales/commissions: plans, the ledger, approvals, disputes and payouts (issue 13; PRD §7.2 Commission
APIs, §6.2 CMR-001..006, US-SALE-041/042)."""
from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import Depends, Query, Request
from fastapi.responses import Response

from sales.commissions import service
from sales.commissions.enums import CommissionStatus, LineKind, PlanKey
from sales.commissions.permissions import Disputer, Finance, LinesRead, PlansRead, PlansWrite
from sales.commissions.schemas import (BatchApprove, BatchResult, CommissionRead, DisputeCreate, DisputeResolve,
                                       PayoutCreate, PayoutRead, PayoutReport, Period, PlanCreate, PlanRead, Summary)
from sales.core.fields import QueryBoolean
from sales.core.http import Conn, Now, Page, Paging, make_router, page_of, respond
from sales.core.openapi import problem_response

router = make_router(tags=["commissions"])
BASE = "/commissions"


@router.post(f"{BASE}/plans", status_code=201, response_model=PlanRead)
async def create_plan(data: PlanCreate, principal: PlansWrite, conn: Conn, now: Now):
    """A new version of the plan of a transaction type (FIXED amount, PERCENTAGE rate, or TIERED by the RM's
    monthly REVENUE target achievement, CMR-003) or of the TEAM_BONUS (BONUS amount per member, CMR-004).
    Sales from `effective_from` use it; lines calculated before never change."""
    return respond(await service.create_plan(conn, principal, data=data, now=now), 201)


@router.get(f"{BASE}/plans", response_model=Page[PlanRead])
async def list_plans(principal: PlansRead, conn: Conn, paging: Paging, plan_key: PlanKey | None = None):
    """Every plan version, newest first."""
    items = await service.list_plans(conn, plan_key=plan_key, limit=paging.limit, cursor=paging.cursor)
    return respond(page_of(items, paging.limit, service.plan_cursor))


@router.get(f"{BASE}/plans/{{plan_id}}", response_model=PlanRead,
            responses={404: problem_response("No such plan version")})
async def get_plan(plan_id: UUID, principal: PlansRead, conn: Conn):
    return respond(await service.get_plan(conn, plan_id=plan_id))


async def line_filters(rm_id: UUID | None = None, team_id: UUID | None = None,
                       status: CommissionStatus | None = None, kind: LineKind | None = None,
                       period: Annotated[Period | None, Query()] = None,  # type: ignore[valid-type]
                       transaction_id: UUID | None = None, transaction_type: PlanKey | None = None,
                       exception: QueryBoolean | None = None) -> dict:
    return {"rm_id": rm_id, "team_id": team_id, "status": status.value if status else None,
            "kind": kind.value if kind else None, "period": period, "transaction_id": transaction_id,
            "transaction_type": transaction_type.value if transaction_type else None, "exception": exception}


Filters = Annotated[dict, Depends(line_filters)]


@router.get(BASE, response_model=Page[CommissionRead])
async def list_commissions(principal: LinesRead, conn: Conn, paging: Paging, filters: Filters):
    """Ledger lines newest first: an RM sees their own, a SUPERVISOR their teams', FINANCE_ADMIN / SALES_ADMIN
    all. Each line explains itself (`rule`, `explanation.text`, `explanation.inputs`)."""
    items = await service.list_lines(conn, principal, filters=filters, limit=paging.limit, cursor=paging.cursor)
    return respond(page_of(items, paging.limit, service.line_cursor))


@router.get(f"{BASE}/payout-report", response_model=PayoutReport,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}},
                             "description": "JSON, or the payroll CSV with `Accept: text/csv`"}})
async def payout_report(principal: Finance, conn: Conn, request: Request,
                        period: Annotated[Period, Query()]):  # type: ignore[valid-type]
    """Per RM: APPROVED lines payable in the period (its month and earlier) and what its payouts paid."""
    report = await service.payout_report(conn, period=period)
    if "text/csv" in request.headers.get("accept", ""):
        return Response(service.payout_csv(report), media_type="text/csv; charset=utf-8", headers={
            "Content-Disposition": f'attachment; filename="commission-payout-{period}.csv"'})
    return respond(report)


@router.post(f"{BASE}/payouts", status_code=201, response_model=PayoutRead,
             responses={409: problem_response("The payout reference was used")})
async def create_payout(data: PayoutCreate, principal: Finance, conn: Conn, now: Now):
    """Pay every APPROVED line of the period and earlier: PAID with the reference, `sales.commission.paid` each.
    Reversals of clawed-back paid lines (negative) are deducted. A line is never paid twice."""
    return respond(await service.pay(conn, principal, data=data, now=now), 201)


@router.post(f"{BASE}/batch-approve", response_model=BatchResult,
             responses={404: problem_response("Unknown commission"),
                        409: problem_response("Some line could not be approved: none was (`items` says why)")})
async def batch_approve(data: BatchApprove, principal: Finance, conn: Conn, now: Now):
    """Approve EARNED lines all or nothing, with each line's outcome (APPROVED, or FIRST_APPROVAL for an
    exception that needs its second, different approver)."""
    return respond(await service.batch_approve(conn, principal, ids=data.ids, now=now))


@router.get(f"{BASE}/rm/{{rm_id}}/summary", response_model=Summary,
            responses={404: problem_response("No such RM in the caller's scope")})
async def rm_summary(rm_id: UUID, principal: LinesRead, conn: Conn, now: Now):
    """Pending, earned, approved, paid (and disputed, clawed back) this month and this year."""
    return respond(await service.summary(conn, principal, rm_id=rm_id, now=now))


@router.get(f"{BASE}/{{commission_id}}", response_model=CommissionRead,
            responses={404: problem_response("No such commission in the caller's scope")})
async def get_commission(commission_id: UUID, principal: LinesRead, conn: Conn):
    return respond(await service.get_line(conn, principal, line_id=commission_id))


@router.post(f"{BASE}/{{commission_id}}/approve", response_model=CommissionRead,
             responses={404: problem_response("No such commission"),
                        409: problem_response("Not EARNED, or the same approver twice on an exception")})
async def approve(commission_id: UUID, principal: Finance, conn: Conn, now: Now):
    """EARNED -> APPROVED. An exception line (above the plan's exception amount, a manual adjustment, a
    fraud-flagged customer) needs two different approvers: the first approval leaves it EARNED."""
    return respond(await service.approve(conn, principal, line_id=commission_id, now=now))


@router.post(f"{BASE}/{{commission_id}}/dispute", response_model=CommissionRead,
             responses={404: problem_response("No such commission in the caller's scope"),
                        409: problem_response("Not the earner, not disputable, or past the 7 days (CMR-006)")})
async def dispute(commission_id: UUID, data: DisputeCreate, principal: Disputer, conn: Conn, now: Now):
    """CMR-006: the RM who earned the line disputes it within 7 days of its calculation -> DISPUTED."""
    return respond(await service.dispute(conn, principal, line_id=commission_id, reason=data.reason, now=now))


@router.post(f"{BASE}/{{commission_id}}/resolve", response_model=CommissionRead,
             responses={404: problem_response("No such commission"),
                        409: problem_response("The commission is not DISPUTED")})
async def resolve(commission_id: UUID, data: DisputeResolve, principal: Finance, conn: Conn, now: Now):
    """Decide a dispute: the line returns to its earlier status; UPHELD adds an adjustment line of `amount`."""
    return respond(await service.resolve(conn, principal, line_id=commission_id, data=data, now=now))
