"""The web console: server-rendered pages under /console (Jinja2 + htmx, assets vendored)."""
from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response

from sales.console.web import HERE, CsrfRejected, LoginRequired, PageForbidden, is_htmx, login_url, redirect, render


def install(app: FastAPI) -> None:
    """Mount the console pages, their static assets and their error pages."""
    from sales.console import (pages_admin, pages_auth, pages_commissions, pages_dashboards, pages_desk,
                               pages_experiments, pages_journey, pages_refunds, pages_targets, pages_team,
                               pages_upsell, pages_visits)

    app.mount("/console/static", StaticFiles(directory=str(HERE / "static")), name="console-static")
    for module in (pages_auth, pages_desk, pages_team, pages_admin, pages_upsell, pages_refunds, pages_experiments,
                   pages_targets, pages_commissions, pages_journey, pages_visits, pages_dashboards):
        app.include_router(module.router, prefix="/console", include_in_schema=False)
    from sales.journey import public as journey_public  # the customer's page: public, outside /console
    app.include_router(journey_public.router, include_in_schema=False)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        return redirect(login_url(exc.reason, exc.next_url), request)

    @app.exception_handler(CsrfRejected)
    async def csrf_rejected(request: Request, _: CsrfRejected) -> Response:
        message = "This form was rejected because its security token is missing or stale. Reload the page and try again."
        if is_htmx(request):
            return render(request, "_flash.html", None, status_code=403, level="error", message=message)
        return render(request, "error.html", None, status_code=403, title="Request rejected", message=message)

    @app.exception_handler(PageForbidden)
    async def forbidden(request: Request, _: PageForbidden) -> Response:
        return render(request, "error.html", getattr(request.state, "console_ctx", None), status_code=403,
                      title="Not available for your role",
                      message="Your role does not give access to this page.")
