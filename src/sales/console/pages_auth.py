"""/console/login, /console/logout."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from sales.console import security, service
from sales.console.errors import SignInFailed, SignInThrottled
from sales.console.web import (DEVICE_COOKIE, LOGIN_CSRF_COOKIE, SESSION_COOKIE, Write, browser_device, client_ip,
                               device_id_of, redirect, render, set_cookie)
from sales.core.http import Conn, Now

router = APIRouter()

DEVICE_MAX_AGE = 400 * 24 * 3600  # the device id outlives sessions: it is what "the same device" means
REASONS = {
    "expired": "Your session ended after 30 minutes without activity. Please sign in again.",
    "replaced": "You were signed out because someone signed in again on this device.",
    "signed_out": "You have signed out.",
}


def _login_page(request: Request, *, status_code: int = 200, error: str | None = None, email: str = "",
                next_url: str = "") -> Response:
    """The sign-in form with a fresh double-submit CSRF token (there is no session to hold one yet)."""
    csrf = security.new_token()
    reason = request.query_params.get("reason")
    response = render(request, "login.html", None, status_code=status_code, csrf_token=csrf, error=error,
                      notice=REASONS.get(reason or ""), email=email,
                      next_url=next_url or request.query_params.get("next", ""))
    set_cookie(response, request, LOGIN_CSRF_COOKIE, csrf, max_age=3600)
    if not device_id_of(request):
        set_cookie(response, request, DEVICE_COOKIE, browser_device(request).cookie, max_age=DEVICE_MAX_AGE)
    return response


@router.get("/login", include_in_schema=False)
async def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login", include_in_schema=False)
async def login(request: Request, conn: Conn, now: Now, email: Annotated[str, Form(max_length=320)] = "",
                password: Annotated[str, Form(max_length=1024)] = "", csrf_token: Annotated[str, Form()] = "",
                next: Annotated[str, Form()] = "") -> Response:
    if not security.same_token(request.cookies.get(LOGIN_CSRF_COOKIE), csrf_token):
        return _login_page(request, status_code=403, email=email, next_url=next,
                           error="Your sign-in form expired. Please try again.")
    if not email.strip() or not password:
        return _login_page(request, status_code=422, email=email, next_url=next,
                           error="Enter your email and password.")
    device = browser_device(request)
    ip = client_ip(request)
    try:
        started = await service.sign_in(conn, email=email, password=password, device_id=device.id, ip=ip,
                                        user_agent=request.headers.get("user-agent"), now=now)
    except SignInThrottled as exc:
        response = _login_page(request, status_code=429, email=email, next_url=next, error=exc.detail)
        response.headers["Retry-After"] = str(exc.extra["retry_after_seconds"])
        return response
    except SignInFailed as exc:
        # The attempt is kept in a transaction of its own, as this request's is rolled back. End this one
        # first: on SQLite it holds the write lock the other needs.
        await request.state.uow.finish(commit=False)
        await service.record_failed_sign_in(request.app.state.engine, email=email, ip=ip, now=now)
        return _login_page(request, status_code=401, email=email, next_url=next, error=exc.detail)
    target = next if next.startswith("/console") and not next.startswith(("/console/login", "//")) else "/console"
    response = redirect(target, request)
    set_cookie(response, request, SESSION_COOKIE, started.token)  # a browser-session cookie; the server decides expiry
    set_cookie(response, request, DEVICE_COOKIE, device.cookie, max_age=DEVICE_MAX_AGE)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/console")
    return response


@router.post("/logout", include_in_schema=False)
async def logout(request: Request, ctx: Write, conn: Conn, now: Now) -> Response:
    await service.sign_out(conn, ctx.session, now=now)
    response = redirect("/console/login?reason=signed_out", request)
    response.delete_cookie(SESSION_COOKIE, path="/console")
    return response
