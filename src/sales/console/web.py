"""Console plumbing: templates, the session dependency, CSRF, role checks and responses."""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from sales.console import security, service
from sales.console.service import LiveSession, SessionRejected
from sales.core.auth import Role
from sales.core.http import Conn, Now, dumps

HERE = Path(__file__).parent
SESSION_COOKIE = "sales_session"
DEVICE_COOKIE = "sales_device"
LOGIN_CSRF_COOKIE = "sales_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SUPERVISING = (Role.SUPERVISOR, Role.SALES_ADMIN)

templates = Jinja2Templates(directory=str(HERE / "templates"))


def _inr(value: Any) -> str:
    """Indian digit grouping: 1250000 -> ₹12,50,000."""
    if value is None or value == "":
        return "—"
    amount = Decimal(str(value))
    whole = int(abs(amount))
    s = str(whole)
    if len(s) > 3:
        head, tail = s[:-3], s[-3:]
        groups = []
        while len(head) > 2:
            groups.insert(0, head[-2:])
            head = head[:-2]
        s = ",".join([head, *groups]) + "," + tail if head else ",".join(groups) + "," + tail
    return f"{'-' if amount < 0 else ''}₹{s}"


def _inr_exact(value: Any) -> str:
    """Paise kept: 1499 -> ₹1,499.00, 499.5 -> ₹499.50 (orders and refunds are shown exactly)."""
    if value is None or value == "":
        return "—"
    amount = Decimal(str(value)).quantize(Decimal("0.01"))
    return f"{_inr(amount)}.{abs(amount) % 1 * 100:02.0f}"


def _compact_inr(value: Any) -> str:
    amount = Decimal(str(value or 0))
    if amount >= 10_000_000:
        return f"₹{amount / 10_000_000:.2f} Cr"
    if amount >= 100_000:
        return f"₹{amount / 100_000:.2f} L"
    return _inr(amount)


_ACRONYMS = {"RM": "RM", "SALES_ADMIN": "Sales admin", "FINANCE_ADMIN": "Finance admin", "SMS": "SMS",
             "WHATSAPP": "WhatsApp", "IN_APP": "In-app"}


def _label(value: Any) -> str:
    raw = str(getattr(value, "value", value) or "")
    return _ACRONYMS.get(raw) or raw.replace("_", " ").capitalize()


def _dt(value: datetime | None) -> str:
    return value.strftime("%d %b %Y, %H:%M UTC") if value else "—"


def _d(value: date | None) -> str:
    return value.strftime("%d %b %Y") if value else "—"


templates.env.filters.update(inr=_inr, inr_exact=_inr_exact, compact_inr=_compact_inr, label=_label, dt=_dt, d=_d,
                             tojson_safe=lambda v: dumps(v).decode().replace("</", "<\\/"))
templates.env.globals["asset_version"] = "4"


class LoginRequired(Exception):
    def __init__(self, reason: str | None, *, next_url: str | None = None) -> None:
        super().__init__(reason or "sign in")
        self.reason = reason
        self.next_url = next_url


class CsrfRejected(Exception):
    pass


class PageForbidden(Exception):
    pass


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def client_ip(request: Request) -> str:
    return (request.client.host if request.client else "unknown")[:64]


def secure(request: Request) -> bool:
    # Production cookies are always Secure: behind a TLS-terminating proxy the request itself may read http.
    return request.app.state.settings.is_production or request.url.scheme == "https"


def set_cookie(response: Response, request: Request, name: str, value: str, *, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/console", httponly=True, samesite="lax",
                        secure=secure(request))


def _device_key(request: Request) -> bytes:
    return security.device_key(request.app.state.settings.pii_key_bytes)


def device_id_of(request: Request) -> str | None:
    """The id of this browser's device cookie, if this server issued it (a forged or edited one counts as none)."""
    return security.device_id(_device_key(request), request.cookies.get(DEVICE_COOKIE))


@dataclass(frozen=True)
class Device:
    cookie: str
    id: str


def browser_device(request: Request) -> Device:
    """This browser's device, or a new one issued now: a client can keep its device but never choose one."""
    key = _device_key(request)
    cookie = request.cookies.get(DEVICE_COOKIE)
    if cookie and (known := security.device_id(key, cookie)):
        return Device(cookie, known)
    return Device(*security.new_device(key))


@dataclass
class Ctx:
    """What every signed-in page knows: the session and its principal."""

    session: LiveSession
    now: datetime

    @property
    def principal(self):  # type: ignore[no-untyped-def]
        return self.session.principal

    @property
    def role(self) -> Role:
        return self.session.role

    @property
    def supervising(self) -> bool:
        return self.role in SUPERVISING


async def console_session(request: Request, conn: Conn, now: Now) -> Ctx:
    try:
        live = await service.resume_session(conn, token=request.cookies.get(SESSION_COOKIE),
                                            device_id=device_id_of(request), now=now)
    except SessionRejected as exc:
        next_url = request.url.path if request.method == "GET" and not is_htmx(request) else None
        raise LoginRequired(exc.reason, next_url=next_url) from None
    request.state.console = live
    return Ctx(session=live, now=now)


Session = Annotated[Ctx, Depends(console_session)]


async def csrf_protected(request: Request, ctx: Session) -> Ctx:
    """Every state-changing console request carries the session's CSRF token (form field or htmx header)."""
    given = request.headers.get(CSRF_HEADER)
    if not given:
        form = await request.form()
        given = form.get(CSRF_FIELD)  # type: ignore[assignment]
    if not security.same_token(ctx.session.csrf_token, given if isinstance(given, str) else None):
        raise CsrfRejected()
    return ctx


Write = Annotated[Ctx, Depends(csrf_protected)]


def roles(*allowed: Role):  # type: ignore[no-untyped-def]
    async def check(ctx: Session) -> Ctx:
        if ctx.role not in allowed:
            raise PageForbidden()
        return ctx
    return check


def render(request: Request, template: str, ctx: Ctx | None = None, status_code: int = 200,
           headers: dict[str, str] | None = None, **values: Any) -> HTMLResponse:
    context = {"ctx": ctx, "csrf_token": ctx.session.csrf_token if ctx else values.pop("csrf_token", ""),
               "path": request.url.path, "Role": Role, **values}
    response = templates.TemplateResponse(request, template, context, status_code=status_code, headers=headers)
    response.headers["Cache-Control"] = "no-store"
    return response


def redirect(url: str, request: Request) -> Response:
    if is_htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def login_url(reason: str | None, next_url: str | None) -> str:
    params = []
    if reason:
        params.append(f"reason={quote(reason)}")
    if next_url and next_url.startswith("/console") and not next_url.startswith("/console/login"):
        params.append(f"next={quote(next_url)}")
    return "/console/login" + ("?" + "&".join(params) if params else "")


def json_script(value: Any) -> str:
    return json.dumps(value, default=str).replace("</", "<\\/")
