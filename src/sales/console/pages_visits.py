"""Visit plans and tasks in the console (issue 15): a plan's itinerary drawn as SVG with its table, through the
GET /visit-plans/{id} use case with the session's principal."""
from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, Request
from starlette.responses import Response

from sales.console.itinerary import plot
from sales.console.web import Session, render
from sales.core.http import Conn
from sales.visits import service as visits_service
from sales.visits.errors import VisitPlanNotFound

router = APIRouter()


@router.get("/visit-plans/{plan_id}", include_in_schema=False)
async def visit_plan(request: Request, plan_id: UUID, ctx: Session, conn: Conn) -> Response:
    try:
        plan = await visits_service.get_plan(conn, ctx.principal, plan_id=plan_id)
    except VisitPlanNotFound:
        return render(request, "error.html", ctx, status_code=404, title="Visit plan not found",
                      message="This visit plan does not exist or is not in your scope.")
    return render(request, "visit_plan.html", ctx, plan=plan, drawing=plot(plan))
