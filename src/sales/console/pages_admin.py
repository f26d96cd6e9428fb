"""SALES_ADMIN pages (allocation rules with simulation, console users) and the read-only overview."""
from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Request
from pydantic import ValidationError
from starlette.responses import Response

from sales.allocation.schemas import RuleSetChange, SimulationRequest
from sales.allocation import ruleset as allocation_ruleset
from sales.console import service
from sales.console.pages_desk import error_message
from sales.console.web import Ctx, Session, Write, redirect, render, roles
from sales.core.auth import Role
from sales.core.errors import SalesError
from sales.core.fields import storable
from sales.core.http import Conn, Now
from sales.directory import service as directory_service
from sales.pipelines import service as pipelines_service
from sales.pipelines.enums import Stage

router = APIRouter()
Admin = Annotated[Ctx, Depends(roles(Role.SALES_ADMIN))]
SIMULATION_DAYS = 7
MAX_RULES_TEXT = 64 * 1024
DISTRIBUTION_SHOWN = 40


# --- allocation rules --------------------------------------------------------------------------

async def _rules_page(request: Request, ctx: Ctx, conn: Conn, now: Any, *, city: str, text: str | None = None,
                      error: str | None = None, result: Any = None, saved: bool = False,
                      status_code: int = 200) -> Response:
    current = await allocation_ruleset.get_rules(conn, city=city)
    configured = await allocation_ruleset.list_rules(conn)
    teams = await directory_service.list_teams(conn, ctx.principal, city=None, limit=500, cursor=None)
    cities = sorted({t.city for t in teams})
    if text is None:
        text = json.dumps(current.rules.model_dump(mode="json"), indent=2)
    distribution = []
    if result is not None:
        distribution = [d for d in result.distribution if city == "*" or d.city.lower() == city.lower()]
        distribution.sort(key=lambda d: (-d.received, d.name))
    return render(request, "rules.html", ctx, status_code=status_code, city=city, current=current,
                  configured=configured, cities=cities, text=text, error=error, result=result,
                  distribution=distribution[:DISTRIBUTION_SHOWN], distribution_total=len(distribution), saved=saved,
                  days=SIMULATION_DAYS, since=(now - timedelta(days=SIMULATION_DAYS)).date(), today=now.date())


@router.get("/rules", include_in_schema=False)
async def rules_page(request: Request, ctx: Admin, conn: Conn, now: Now) -> Response:
    q = request.query_params
    return await _rules_page(request, ctx, conn, now, city=(q.get("city") or "*").strip() or "*",
                             saved=q.get("saved") == "1")


def _parse_rules(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text, parse_float=Decimal)
    except RecursionError:
        raise ValueError("nested too deeply") from None
    if not isinstance(value, dict):
        raise ValueError("the rules must be a JSON object")
    return storable(value)


@router.post("/rules", include_in_schema=False)
async def rules_action(request: Request, ctx: Write, conn: Conn, now: Now,
                       city: Annotated[str, Form(max_length=100)] = "*",
                       rules: Annotated[str, Form(max_length=MAX_RULES_TEXT)] = "",
                       action: Annotated[str, Form()] = "simulate") -> Response:
    """Simulate the edited rules on the last 7 days of leads, or save them as the city's next version."""
    if ctx.role is not Role.SALES_ADMIN:
        return render(request, "error.html", ctx, status_code=403, title="Not available for your role",
                      message="Only a sales admin edits allocation rules.")
    city = city.strip() or "*"
    try:
        proposed = _parse_rules(rules)
    except ValueError as exc:
        return await _rules_page(request, ctx, conn, now, city=city, text=rules, status_code=422,
                                 error=f"The rules are not valid JSON: {exc}")
    try:
        if action == "save":
            await allocation_ruleset.put_rules(conn, ctx.principal, change=RuleSetChange(city=city,
                                                                                                  rules=proposed),
                                                       now=now)
            return redirect("/console/rules?" + urlencode({"city": city, "saved": "1"}), request)
        today = now.date()
        result = await allocation_ruleset.simulate(conn, ctx.principal, request=SimulationRequest.model_validate(
            {"from": today - timedelta(days=SIMULATION_DAYS), "to": today, "rules": proposed}), now=now)
    except SalesError as exc:
        message, _ = error_message(exc)
        details = "; ".join(f"{'.'.join(str(p) for p in e['loc'][2:] or e['loc'])}: {e['msg']}"
                            for e in exc.extra.get("errors", []))
        return await _rules_page(request, ctx, conn, now, city=city, text=rules, status_code=exc.status_code,
                                 error=f"{message}{': ' + details if details else ''}")
    except ValidationError as exc:
        return await _rules_page(request, ctx, conn, now, city=city, text=rules, status_code=422,
                                 error=str(exc.errors()[0]["msg"]))
    return await _rules_page(request, ctx, conn, now, city=city, text=rules, result=result)


# --- console users -----------------------------------------------------------------------------

async def _users_page(request: Request, ctx: Ctx, conn: Conn, *, error: str | None = None,
                      typed: dict[str, Any] | None = None, created: str | None = None,
                      status_code: int = 200) -> Response:
    users = await service.list_users(conn)
    teams = await directory_service.list_teams(conn, ctx.principal, city=None, limit=500, cursor=None)
    return render(request, "users.html", ctx, status_code=status_code, users=users, teams=teams[:500], error=error,
                  typed=typed or {}, created=created, roles=service.CONSOLE_ROLES)


@router.get("/users", include_in_schema=False)
async def users_page(request: Request, ctx: Admin, conn: Conn) -> Response:
    return await _users_page(request, ctx, conn, created=request.query_params.get("created"))


@router.post("/users", include_in_schema=False)
async def create_user(request: Request, ctx: Write, conn: Conn, now: Now,
                      email: Annotated[str, Form(max_length=320)] = "", name: Annotated[str, Form(max_length=200)] = "",
                      password: Annotated[str, Form(max_length=1024)] = "", role: Annotated[str, Form()] = "",
                      rm_id: Annotated[str, Form()] = "") -> Response:
    if ctx.role is not Role.SALES_ADMIN:
        return render(request, "error.html", ctx, status_code=403, title="Not available for your role",
                      message="Only a sales admin creates console users.")
    form = await request.form()
    team_values = [str(v) for v in form.getlist("team_ids") if v]
    typed = {"email": email, "name": name, "role": role, "rm_id": rm_id, "team_ids": team_values}
    try:
        team_ids = [UUID(v) for v in team_values]
        rm = UUID(rm_id.strip()) if rm_id.strip() else None
    except ValueError:
        return await _users_page(request, ctx, conn, error="The RM id must be a UUID.", typed=typed, status_code=422)
    try:
        user = await service.create_user(conn, ctx.principal, email=email, password=password, role=role,
                                         name=name or None, rm_id=rm, team_ids=team_ids, now=now)
    except SalesError as exc:
        message, fld = error_message(exc)
        label = {"email": "Email", "password": "Password", "role": "Role", "rm_id": "RM id",
                 "team_ids": "Teams"}.get(fld or "", "")
        return await _users_page(request, ctx, conn, error=f"{label + ': ' if label else ''}{message}", typed=typed,
                                 status_code=exc.status_code)
    return redirect("/console/users?" + urlencode({"created": user.email}), request)


# --- overview (read-only roles) -----------------------------------------------------------------

@router.get("/overview", include_in_schema=False)
async def overview(request: Request, ctx: Session, conn: Conn, now: Now) -> Response:
    stats = await pipelines_service.pipeline_stats(conn, ctx.principal, filters={}, today=now.date())
    order = list(Stage)
    funnel = {"labels": [s.value.replace("_", " ").title() for s in order],
              "counts": [stats.stages[s].count for s in order],
              "values": [float((stats.stages[s].deal_value / Decimal(100000)).quantize(Decimal("0.01")))
                         for s in order]}
    return render(request, "overview.html", ctx, stats=stats, stages=order, funnel=funnel, now=now)
