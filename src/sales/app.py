"""create_app(): routers, middleware, error handlers."""
from __future__ import annotations

import gc
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator

import structlog
from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from fastapi.telemetry import TelemetryConfig
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import exc as sa_exc, text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response

from sales.core.db import create_engine, is_transient
from sales.core.edge import BodyLimitMiddleware, SecurityHeadersMiddleware
from sales.core.errors import SalesError, problem
from sales.core.http import JSONResponse, dumps, refuse_nul_parameters
from sales.core.logging import configure_logging, describe_exception
from sales.core.middleware import UnitOfWorkMiddleware
from sales.core.openapi import install as install_openapi
from sales.core.ratelimit import RateLimitMiddleware, RedisCounters, counters_for
from sales.settings import Settings, get_settings

log = structlog.get_logger("sales.app")
API = "/api/v1/sales"
# POST /pipelines/{id}/documents takes a file up to SALES_MAX_DOCUMENT_BYTES plus its multipart framing (issue 15).
MULTIPART_OVERHEAD = 64 * 1024
# The service reports through Prometheus and its structlog access log. FastAPI's native OpenTelemetry, left on,
# asks the global tracer, meter and logger providers on every request whether they are configured (issue 19).
WITHOUT_OPENTELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False}


def _problem_response(status: int, body: dict[str, Any]) -> Response:
    return Response(dumps(body), status_code=status, media_type="application/problem+json")


def _loc(loc: tuple[Any, ...]) -> list[Any]:
    return [part for part in loc]


def _allowed_methods(request: Request) -> str:
    """The methods of the resource the path names (RFC 9110), not only those of the route Starlette matched:
    the first route whose template matches names the resource; every route of that template counts."""
    path = request.scope["path"]
    routes = [route for route in iter_route_contexts(request.app.routes) if route.methods]
    template = next((route.path_format for route in routes if route.path_regex.match(path)), None)
    return ", ".join(sorted({method for route in routes if route.path_format == template for method in route.methods}))


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(SalesError)
    async def sales_error(_: Request, exc: SalesError) -> Response:
        return _problem_response(exc.status_code, problem(exc.status_code, exc.title, exc.detail,
                                                          code=exc.code, **exc.extra))

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> Response:
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return _problem_response(400, problem(400, "Malformed JSON", "the request body is not valid JSON",
                                                  code="malformed_json"))
        items = [{"loc": _loc(e["loc"]), "msg": e["msg"]} for e in errors]
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors)
        return _problem_response(422, problem(422, "Validation error", f"invalid input: {fields}",
                                              code="validation_error", errors=items))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed", 401: "not_authenticated"}.get(exc.status_code,
                                                                                       "http_error")
        response = _problem_response(exc.status_code, problem(exc.status_code, str(exc.detail), str(exc.detail),
                                                              code=code))
        if exc.status_code == 405:
            response.headers["Allow"] = _allowed_methods(request)
        return response

    @app.exception_handler(sa_exc.TimeoutError)
    async def overloaded(_: Request, exc: sa_exc.TimeoutError) -> Response:
        # Every pooled connection stayed busy for pool_timeout: shed load instead of queueing for ever.
        response = _problem_response(503, problem(503, "Service overloaded", "no database connection became "
                                                  "free in time; retry shortly", code="service_overloaded"))
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(sa_exc.DBAPIError)
    async def lost_a_race(_: Request, exc: sa_exc.DBAPIError) -> Response:
        # A deadlock or serialization failure rolled the request back (nothing written): the client retries.
        if not is_transient(exc):
            raise exc
        log.warning("transient database conflict", error=describe_exception(exc))
        response = _problem_response(503, problem(503, "Try again", "the request met a concurrent one and was "
                                                  "rolled back; retry it", code="transient_conflict"))
        response.headers["Retry-After"] = "1"
        return response

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> Response:
        log.exception("unhandled error", error=describe_exception(exc))
        return _problem_response(500, problem(500, "Internal error", "an unexpected error occurred",
                                              code="internal_error"))


_frozen = False


def freeze_startup_objects() -> None:
    """Move what start-up built (modules, the app and its routes, tables, compiled statements) out of the
    cyclic garbage collector's generations (issue 19): a full collection no longer walks those objects again
    and again, and their pages are not written to by a collection (copy-on-write). Once per process: what a
    later app (tests build many) leaves behind must stay collectable."""
    global _frozen
    if not _frozen:
        _frozen = True
        gc.collect()
        gc.freeze()


def create_app(settings: Settings | None = None, *, engine: AsyncEngine | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.log_level, json=settings.log_json)
    engine = engine or create_engine(settings)
    counters = counters_for(settings) if settings.rate_limited else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        freeze_startup_objects()
        yield
        await engine.dispose()
        if isinstance(counters, RedisCounters):
            await counters.close()

    docs = settings.docs_published
    app = FastAPI(title="MySqrft Sales", version="1.0.0", lifespan=lifespan, telemetry=WITHOUT_OPENTELEMETRY,
                  default_response_class=JSONResponse, dependencies=[Depends(refuse_nul_parameters)],
                  openapi_url="/openapi.json" if docs else None,
                  docs_url="/docs" if docs else None, redoc_url="/redoc" if docs else None,
                  description="Sales domain: pipelines, lead allocation, RM workload, audit.")
    app.state.settings = settings
    app.state.engine = engine
    install_error_handlers(app)
    install_openapi(app)
    app.add_middleware(UnitOfWorkMiddleware, engine=engine, settings=settings)
    app.add_middleware(BodyLimitMiddleware, default=settings.max_body_bytes,
                       per_route={("POST", f"{API}/rms/import"): settings.max_import_bytes,
                                  # a claim's evidence file and its multipart envelope (issue 12)
                                  ("POST", f"{API}/refunds/*/evidence"):
                                      settings.max_evidence_bytes + MULTIPART_OVERHEAD,
                                  # a deal document and its multipart envelope (issue 15)
                                  ("POST", f"{API}/pipelines/*/documents"):
                                      settings.max_document_bytes + MULTIPART_OVERHEAD})
    if counters is not None:  # before the body is read or a connection taken
        app.add_middleware(RateLimitMiddleware, settings=settings, counters=counters)
    if settings.cors_origins:  # answers preflights itself; a 429 still carries the CORS headers
        app.add_middleware(CORSMiddleware, allow_origins=settings.cors_origins, allow_credentials=False,
                           allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-ID"],
                           expose_headers=["Retry-After", "X-Request-ID", "Idempotent-Replayed", "Location"],
                           max_age=600)
    # Outermost of ours: every answer above gets the headers.
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.is_production)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - readiness reports any failure
            return JSONResponse({"status": "unavailable", "detail": type(exc).__name__}, status_code=503)
        return JSONResponse({"status": "ready"})

    if settings.metrics_port is None:  # else `sales serve` serves them on 127.0.0.1:metrics_port
        @app.get("/metrics", include_in_schema=False)
        async def metrics() -> Response:
            return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    from sales.routes import include_routers
    include_routers(app, prefix=API)
    from sales.console import install as install_console
    install_console(app)
    return app
