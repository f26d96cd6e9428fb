"""The product manager's experiments pages (issue 16): the list with a create form (an A/B test: the control and one
treatment), and an experiment's page with start/stop and its results (conversion over time per variant, the interval
plot of each treatment's lift). The same use cases as /upsells/experiments, with the session's principal."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Form, Request
from pydantic import ValidationError
from starlette.responses import Response

from sales.console.pages_desk import error_message
from sales.console.web import Ctx, Write, redirect, render, roles
from sales.core.auth import Role
from sales.core.errors import SalesError
from sales.core.http import Conn, Now
from sales.experiments import service
from sales.experiments.errors import ExperimentNotFound
from sales.experiments.schemas import ExperimentCreate, ExperimentUpdate
from sales.upsell.enums import UpsellChannel

router = APIRouter()
MANAGE_ROLES = (Role.PRODUCT_MANAGER, Role.SALES_ADMIN)  # as /upsells/experiments
Manager = Annotated[Ctx, Depends(roles(*MANAGE_ROLES))]
FIELDS = ("name", "hypothesis", "trigger", "control_message", "treatment_key", "treatment_message",
          "treatment_channel", "treatment_delay", "treatment_share", "coverage", "baseline", "effect")
PERCENT_FIELDS = {"treatment_share": "Treatment share", "coverage": "Coverage", "baseline": "Baseline conversion",
                  "effect": "Minimum detectable effect"}
DEFAULTS = {"treatment_key": "treatment", "treatment_share": "50", "coverage": "100", "baseline": "5",
            "effect": "20", "treatment_delay": "0"}


class FormError(ValueError):
    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def _percent(form: dict[str, str], name: str) -> Decimal:
    raw = form[name].strip().rstrip("%").strip()
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise FormError(f"{PERCENT_FIELDS[name]}: enter a percentage such as 50 or 12.5.", name) from None
    if not value.is_finite() or not 0 <= value <= 100 or len(raw) > 12:
        raise FormError(f"{PERCENT_FIELDS[name]}: enter a percentage between 0 and 100.", name)
    return value / 100


def _body(form: dict[str, str]) -> dict[str, Any]:
    """The form's strings as the API's JSON body (an A/B test: control + one treatment)."""
    share = _percent(form, "treatment_share")
    delay = form["treatment_delay"].strip() or "0"
    if not delay.isdigit() or len(delay) > 5:
        raise FormError("Delay: enter a whole number of minutes.", "treatment_delay")
    treatment: dict[str, Any] = {"key": form["treatment_key"].strip(), "weight": share,
                                 "message": form["treatment_message"].strip(), "delay_minutes": int(delay)}
    if form["treatment_channel"]:
        treatment["channel"] = form["treatment_channel"]
    return {"name": form["name"].strip(), "hypothesis": form["hypothesis"].strip() or None,
            "trigger": form["trigger"].strip(),
            "variants": [{"key": "control", "weight": 1 - share, "message": form["control_message"].strip(),
                          "control": True}, treatment],
            "coverage": _percent(form, "coverage"), "baseline_rate": _percent(form, "baseline"),
            "minimum_detectable_effect": _percent(form, "effect")}


async def _list_page(request: Request, ctx: Ctx, conn: Conn, *, status_code: int = 200, error: str | None = None,
                     field: str | None = None, typed: dict[str, str] | None = None) -> Response:
    experiments = await service.list_experiments(conn, status=None, trigger=None, limit=200, cursor=None)
    return render(request, "experiments.html", ctx, status_code=status_code, experiments=experiments,
                  values=typed or DEFAULTS, error=error, field=field, channels=list(UpsellChannel))


@router.get("/experiments", include_in_schema=False)
async def experiments_page(request: Request, ctx: Manager, conn: Conn) -> Response:
    return await _list_page(request, ctx, conn)


def _field_of(loc: tuple[Any, ...]) -> str | None:
    names = {"variants": "treatment_share", "coverage": "coverage", "baseline_rate": "baseline",
             "minimum_detectable_effect": "effect", "name": "name", "trigger": "trigger", "hypothesis": "hypothesis"}
    if len(loc) >= 3 and loc[0] == "variants":
        index, part = loc[1], loc[2]
        prefix = "control" if index == 0 else "treatment"
        return {"message": f"{prefix}_message", "key": "treatment_key", "channel": "treatment_channel",
                "delay_minutes": "treatment_delay"}.get(str(part), "treatment_share")
    return names.get(str(loc[0])) if loc else None


@router.post("/experiments", include_in_schema=False)
async def create_experiment(request: Request, ctx: Write, conn: Conn, now: Now,
                            name: Annotated[str, Form(max_length=400)] = "",
                            hypothesis: Annotated[str, Form(max_length=4000)] = "",
                            trigger: Annotated[str, Form(max_length=256)] = "",
                            control_message: Annotated[str, Form(max_length=2000)] = "",
                            treatment_key: Annotated[str, Form(max_length=128)] = "",
                            treatment_message: Annotated[str, Form(max_length=2000)] = "",
                            treatment_channel: Annotated[str, Form(max_length=32)] = "",
                            treatment_delay: Annotated[str, Form(max_length=12)] = "",
                            treatment_share: Annotated[str, Form(max_length=20)] = "",
                            coverage: Annotated[str, Form(max_length=20)] = "",
                            baseline: Annotated[str, Form(max_length=20)] = "",
                            effect: Annotated[str, Form(max_length=20)] = "") -> Response:
    """Create a DRAFT experiment through the POST /upsells/experiments use case; a bad field shows inline."""
    if ctx.role not in MANAGE_ROLES:
        return render(request, "error.html", ctx, status_code=403, title="Not available for your role",
                      message="Only a product manager or a sales admin creates experiments.")
    typed = dict(zip(FIELDS, (name, hypothesis, trigger, control_message, treatment_key, treatment_message,
                              treatment_channel, treatment_delay, treatment_share, coverage, baseline, effect)))
    try:
        data = ExperimentCreate.model_validate(_body(typed))
        created = await service.create_experiment(conn, ctx.principal, data=data, now=now)
    except FormError as exc:
        return await _list_page(request, ctx, conn, status_code=422, error=str(exc), field=exc.field, typed=typed)
    except ValidationError as exc:
        first = exc.errors()[0]
        fld = _field_of(tuple(first["loc"]))
        return await _list_page(request, ctx, conn, status_code=422, field=fld, typed=typed,
                                error=f"{(fld or 'Form').replace('_', ' ').capitalize()}: {first['msg']}.")
    except SalesError as exc:
        message, fld = error_message(exc)
        return await _list_page(request, ctx, conn, status_code=exc.status_code, error=message,
                                field=_field_of((fld,)) if fld else None, typed=typed)
    return redirect(f"/console/experiments/{created.id}", request)


def _charts(found: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """Conversion over time per variant (cumulative rate by day) and each treatment's lift intervals."""
    days = sorted({p.date for p in found.timeline})
    by_variant: dict[str, dict[str, float | None]] = {}
    for p in found.timeline:
        by_variant.setdefault(p.variant, {})[p.date] = (None if p.conversion_rate is None
                                                        else round(p.conversion_rate * 100, 4))
    lines = {"kind": "lines", "labels": days, "axis": "Cumulative conversion rate (%)",
             "datasets": [{"label": key, "data": [series.get(d) for d in days]} for key, series in by_variant.items()]}
    intervals = {"kind": "intervals", "labels": [c.variant for c in found.comparisons], "axis": "Relative lift (%)",
                 "datasets": [
                     {"label": "95% confidence interval", "data": [
                         [round(c.confidence_interval[0] * 100, 4), round(c.confidence_interval[1] * 100, 4)]
                         if c.confidence_interval else None for c in found.comparisons]},
                     {"label": "95% credible interval", "data": [
                         [round(c.credible_interval[0] * 100, 4), round(c.credible_interval[1] * 100, 4)]
                         if c.credible_interval else None for c in found.comparisons]}]}
    return lines, intervals


async def _detail(request: Request, ctx: Ctx, conn: Conn, now: Any, experiment_id: UUID, *, status_code: int = 200,
                  error: str | None = None) -> Response:
    try:
        experiment = await service.get_experiment(conn, experiment_id=experiment_id)
    except ExperimentNotFound:
        return render(request, "error.html", ctx, status_code=404, title="Experiment not found",
                      message="No experiment has this id.")
    found = await service.results(conn, experiment_id=experiment_id, now=now)
    lines, intervals = _charts(found)
    return render(request, "experiment.html", ctx, status_code=status_code, experiment=experiment, found=found,
                  lines=lines, intervals=intervals, error=error)


@router.get("/experiments/{experiment_id}", include_in_schema=False)
async def experiment_page(request: Request, ctx: Manager, conn: Conn, now: Now, experiment_id: UUID) -> Response:
    return await _detail(request, ctx, conn, now, experiment_id)


@router.post("/experiments/{experiment_id}/status", include_in_schema=False)
async def change_status(request: Request, ctx: Write, conn: Conn, now: Now, experiment_id: UUID,
                        status: Annotated[str, Form(max_length=16)] = "") -> Response:
    """Start a DRAFT or stop a RUNNING experiment through the PUT /upsells/experiments/{id} use case."""
    if ctx.role not in MANAGE_ROLES:
        return render(request, "error.html", ctx, status_code=403, title="Not available for your role",
                      message="Only a product manager or a sales admin starts or stops experiments.")
    try:
        data = ExperimentUpdate.model_validate({"status": status})
        await service.update_experiment(conn, ctx.principal, experiment_id=experiment_id, data=data, now=now)
    except ValidationError:
        return await _detail(request, ctx, conn, now, experiment_id, status_code=422,
                             error="Choose to start or to stop the experiment.")
    except SalesError as exc:
        if exc.status_code == 404:
            return await _detail(request, ctx, conn, now, experiment_id)
        return await _detail(request, ctx, conn, now, experiment_id, status_code=exc.status_code,
                             error=error_message(exc)[0])
    return redirect(f"/console/experiments/{experiment_id}", request)
