"""The product manager's upsell page (issue 11): the funnel for a period, as a chart and a table, and the trigger
configuration form. The same use cases as GET /upsells/funnel and GET/PUT /upsells/triggers, in the request's
transaction, with the session's principal."""
from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from pydantic import ValidationError
from starlette.responses import Response

from sales.console.pages_desk import error_message
from sales.console.web import Ctx, Write, redirect, render, roles
from sales.core.auth import Role
from sales.core.errors import SalesError
from sales.core.http import Conn, Now
from sales.upsell import service as upsell_service
from sales.upsell.schemas import TriggerConfigWrite, TriggerName

router = APIRouter()
FUNNEL_ROLES = (Role.PRODUCT_MANAGER, Role.SALES_ADMIN, Role.FINANCE_ADMIN)  # as GET /upsells/funnel
CONFIGURE_ROLES = (Role.PRODUCT_MANAGER, Role.SALES_ADMIN)  # as GET/PUT /upsells/triggers
FunnelReader = Annotated[Ctx, Depends(roles(*FUNNEL_ROLES))]
GROUP_BY = {"": "Nothing (all upsells)", "trigger": "Trigger", "channel": "Channel", "user_type": "User type",
            "variant": "Experiment variant"}
STAGES = ("created", "presented", "clicked", "converted", "dismissed", "expired")
DEFAULT_DAYS = 30
MAX_DAYS = 3660
EARLIEST, LATEST = date(2000, 1, 1), date(2999, 12, 31)  # no date arithmetic overflow at the ends
INTEGER_FIELDS = {"views_without_contact": "Views without contact", "offer_window_days": "Offer window",
                  "attribution_window_days": "Attribution window",
                  "boost_expected_extra_views": "Boost extra views"}
FIELD_LABELS = {"quota_threshold_percent": "Quota threshold", **INTEGER_FIELDS,
                "enabled_triggers": "Enabled triggers", "version": "Version"}
_DIGITS = re.compile(r"[0-9]{1,9}")
_DECIMAL = re.compile(r"[0-9]{1,3}(\.[0-9]{1,6})?")


class PeriodError(ValueError):
    pass


def _period(q: Any, today: date) -> tuple[date, date, str]:
    """The page's period: whole UTC days, `to` included; default the 30 days up to today."""
    def day(name: str, default: date) -> date:
        raw = (q.get(name) or "").strip()
        if not raw:
            return default
        try:
            if len(raw) == 10 and EARLIEST <= (value := date.fromisoformat(raw)) <= LATEST:
                return value
        except ValueError:
            pass
        raise PeriodError(f"{'From' if name == 'from' else 'To'}: enter a date as YYYY-MM-DD.")

    to = day("to", today)
    since = day("from", to - timedelta(days=DEFAULT_DAYS - 1))
    if since > to:
        raise PeriodError("From: the period must start on or before its last day.")
    if (to - since).days > MAX_DAYS:
        raise PeriodError("From: choose a period of at most ten years.")
    group_by = (q.get("group_by") or "").strip()
    if group_by not in GROUP_BY:
        raise PeriodError("Group by: choose trigger, channel, user type or variant.")
    return since, to, group_by


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def _chart(funnel: Any) -> dict[str, Any]:
    groups = funnel.groups if funnel.group_by else [funnel.total]
    return {"labels": [s.capitalize() for s in STAGES],
            "datasets": [{"label": "All upsells" if not funnel.group_by else _key(g.key),
                          "data": [getattr(g, s) for s in STAGES]} for g in groups],
            "axis": "Upsells"}


def _key(key: str | None) -> str:
    return "(none)" if key is None else key


def _percent(rate: Decimal | None) -> str:
    return "—" if rate is None else f"{(Decimal(rate) * 100).quantize(Decimal('0.01'))}%"


async def _page(request: Request, ctx: Ctx, conn: Conn, now: datetime, *, status_code: int = 200,
                config_error: str | None = None, config_field: str | None = None,
                typed: dict[str, Any] | None = None, saved: str | None = None) -> Response:
    q = request.query_params
    period_error = None
    try:
        since, to, group_by = _period(q, now.date())
    except PeriodError as exc:
        period_error = str(exc)
        since, to, group_by = now.date() - timedelta(days=DEFAULT_DAYS - 1), now.date(), ""
        status_code = 422
    funnel = await upsell_service.funnel(conn, since=_midnight(since), until=_midnight(to + timedelta(days=1)),
                                         group_by=group_by or None, now=now)
    config = None
    if ctx.role in CONFIGURE_ROLES:
        config = await upsell_service.trigger_config(conn)
    values = typed or ({} if config is None else {
        "version": str(config.version), "quota_threshold_percent": str(config.quota_threshold_percent),
        **{f: str(getattr(config, f)) for f in INTEGER_FIELDS},
        "enabled_triggers": [t.value for t in config.enabled_triggers]})
    return render(request, "upsells.html", ctx, status_code=status_code, funnel=funnel, chart=_chart(funnel),
                  since=since, to=to, group_by=group_by, group_choices=GROUP_BY, period_error=period_error,
                  config=config, values=values, triggers=list(TriggerName), config_error=config_error,
                  config_field=config_field, saved=saved, key=_key, percent=_percent, now=now,
                  can_configure=ctx.role in CONFIGURE_ROLES)


@router.get("/upsells", include_in_schema=False)
async def upsells_page(request: Request, ctx: FunnelReader, conn: Conn, now: Now) -> Response:
    return await _page(request, ctx, conn, now, saved=request.query_params.get("saved"))


def _config_body(form: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None, str | None]:
    """The form's strings as the API's JSON values: (body, error, field)."""
    body: dict[str, Any] = {}
    raw = form["quota_threshold_percent"].strip().rstrip("%").strip()
    if not _DECIMAL.fullmatch(raw):
        return None, "Quota threshold: enter a percentage such as 80 or 82.5.", "quota_threshold_percent"
    try:
        body["quota_threshold_percent"] = Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        return None, "Quota threshold: enter a percentage such as 80 or 82.5.", "quota_threshold_percent"
    for name, label in INTEGER_FIELDS.items():
        value = form[name].strip()
        if not _DIGITS.fullmatch(value):
            return None, f"{label}: enter a whole number.", name
        body[name] = int(value)
    known = {t.value for t in TriggerName}
    chosen = form["enabled_triggers"]
    if any(t not in known for t in chosen):
        return None, "Enabled triggers: choose among the listed triggers.", "enabled_triggers"
    body["enabled_triggers"] = sorted(set(chosen))
    version = form["version"].strip()
    if not _DIGITS.fullmatch(version):
        return None, "The form's version is missing: reload the page and try again.", "version"
    body["version"] = int(version)
    return body, None, None


@router.post("/upsells/triggers", include_in_schema=False)
async def save_triggers(request: Request, ctx: Write, conn: Conn, now: Now,
                        version: Annotated[str, Form(max_length=12)] = "",
                        quota_threshold_percent: Annotated[str, Form(max_length=20)] = "",
                        views_without_contact: Annotated[str, Form(max_length=12)] = "",
                        offer_window_days: Annotated[str, Form(max_length=12)] = "",
                        attribution_window_days: Annotated[str, Form(max_length=12)] = "",
                        boost_expected_extra_views: Annotated[str, Form(max_length=12)] = "") -> Response:
    """Save the trigger configuration as its next version through the PUT /upsells/triggers use case; a stale
    version (someone saved meanwhile) or a bad figure shows inline with what was typed kept."""
    if ctx.role not in CONFIGURE_ROLES:
        return render(request, "error.html", ctx, status_code=403, title="Not available for your role",
                      message="Only a product manager or a sales admin changes the upsell triggers.")
    form = await request.form()
    typed = {"version": version, "quota_threshold_percent": quota_threshold_percent,
             "views_without_contact": views_without_contact, "offer_window_days": offer_window_days,
             "attribution_window_days": attribution_window_days,
             "boost_expected_extra_views": boost_expected_extra_views,
             "enabled_triggers": [str(v)[:64] for v in form.getlist("enabled_triggers")][:10]}
    body, error, fld = _config_body(typed)
    if body is None:
        return await _page(request, ctx, conn, now, status_code=422, config_error=error, config_field=fld,
                           typed=typed)
    try:
        data = TriggerConfigWrite.model_validate(body)
        saved = await upsell_service.put_trigger_config(conn, ctx.principal, data=data, now=now)
    except ValidationError as exc:
        first = exc.errors()[0]
        fld = str(first["loc"][0]) if first["loc"] else None
        label = FIELD_LABELS.get(fld or "", "")
        return await _page(request, ctx, conn, now, status_code=422, config_field=fld, typed=typed,
                           config_error=f"{label + ': ' if label else ''}{first['msg']}.")
    except SalesError as exc:
        message, fld = error_message(exc)
        if exc.status_code == 409:
            message = (f"{message}. Someone saved the configuration after you opened this page: reload it to see "
                       "their version, then make your change again.")
        return await _page(request, ctx, conn, now, status_code=exc.status_code, config_error=message,
                           config_field=fld, typed=typed)
    return redirect("/console/upsells?" + urlencode({"saved": str(saved.version)}), request)
