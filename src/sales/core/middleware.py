"""Pure ASGI middleware: request id, one transaction per request, idempotent retries, metrics.

The response is buffered so the transaction can be committed *before* the client sees success,
and rolled back for any 4xx/5xx: a failed request writes nothing. On every path, exceptions and
cancellation included, the request's transaction ends (and its Idempotency-Key claim is settled) before
the middleware returns: no connection is left checked out or idle in transaction.
"""
from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import timedelta
from functools import lru_cache
from typing import Any

import structlog
from prometheus_client import Counter, Histogram
from sqlalchemy import exc as sa_exc
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sales.core import idempotency
from sales.core.auth import Principal, bearer_token, principal_of
from sales.core.db import LazyTransaction
from sales.core.edge import replay_body
from sales.core.errors import SalesError, problem
from sales.core.http import dumps

log = structlog.get_logger("sales.http")

REQUESTS = Counter("sales_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("sales_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
                    buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5))


# The labelled series, looked up once per label values (issue 19: `labels()` checks and locks on every call).
# Prometheus keeps every series it was asked for anyway; the bound only caps what these caches hold.
@lru_cache(maxsize=4096)
def _requests_counted(method: str, route: str, status: int) -> Any:
    return REQUESTS.labels(method, route, str(status))


@lru_cache(maxsize=4096)
def _latency_of(method: str, route: str) -> Any:
    return LATENCY.labels(method, route)


WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


@dataclass
class _Response:
    status: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytearray = field(default_factory=bytearray)

    async def collect(self, message: Message) -> None:
        """The `send` given to the app: the response is kept until the transaction has ended."""
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")

    @property
    def content_type(self) -> str | None:
        return next((v.decode("latin-1") for k, v in self.headers if k.lower() == b"content-type"), None)

    @classmethod
    def of(cls, status: int, body: bytes, *, content_type: str | None,
           extra: tuple[tuple[bytes, bytes], ...] = ()) -> _Response:
        headers = [(b"content-length", str(len(body)).encode()), *extra]
        if content_type:
            headers.insert(0, (b"content-type", content_type.encode("latin-1")))
        return cls(status=status, headers=headers, body=bytearray(body))

    @classmethod
    def error(cls, status: int, title: str, detail: str, *, code: str,
                extra: tuple[tuple[bytes, bytes], ...] = (), **fields: Any) -> _Response:
        return cls.of(status, dumps(problem(status, title, detail, code=code, **fields)),
                      content_type="application/problem+json", extra=extra)

    async def send_to(self, send: Send, request_id: str) -> None:
        await send({"type": "http.response.start", "status": self.status,
                    "headers": [*self.headers, (b"x-request-id", request_id.encode())]})
        await send({"type": "http.response.body", "body": bytes(self.body)})


def _headers(scope: Scope) -> dict[str, str]:
    # latin-1, as Starlette does: every byte decodes, so a non-UTF-8 byte is an odd character, not a 500.
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def _request_id(given: str | None) -> str:
    """The caller's X-Request-ID when it is a sane token (it goes to logs and the audit trail), else a new one."""
    return given if given and _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex


def _writes(method: str, path: str) -> bool:
    """Whether the request's transaction is for writing (on SQLite it takes the write lock at BEGIN).
    Console pages record the session's activity on every request, reads included."""
    return method in WRITE_METHODS or path == "/console" or path.startswith("/console/")


def _shielded(cleanup: Awaitable[None]) -> Awaitable[None]:
    """Run a clean-up to its end even when the request's task is being cancelled."""
    return asyncio.shield(cleanup)


class UnitOfWorkMiddleware:
    def __init__(self, app: ASGIApp, *, engine: Any, settings: Any) -> None:
        self.app = app
        self.engine = engine
        self.settings = settings
        self.idempotency_ttl = timedelta(hours=settings.idempotency_ttl_hours)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = _headers(scope)
        request_id = _request_id(headers.get("x-request-id"))
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)

        try:
            response = await self._respond(scope, receive, headers)
        except sa_exc.TimeoutError:  # no pooled connection within the queue's limits (the idempotency claim's own)
            response = _Response.error(503, "Service overloaded", "no database connection became free in time; "
                                       "retry shortly", code="service_overloaded", extra=((b"retry-after", b"1"),))

        await response.send_to(send, request_id)
        method, route_path = scope["method"], _route_template(scope)
        elapsed = time.perf_counter() - started
        _requests_counted(method, route_path, response.status).inc()
        _latency_of(method, route_path).observe(elapsed)
        level = log.error if response.status >= 500 else log.info
        level("request", method=method, path=scope["path"], route=route_path, status=response.status,
              ms=round(elapsed * 1000, 2))

    async def _respond(self, scope: Scope, receive: Receive, headers: dict[str, str]) -> _Response:
        method = scope["method"]
        principal = self._principal(scope, headers) if method in WRITE_METHODS and "idempotency-key" in headers else None
        if principal is None:  # no key, or no caller to bind it to (the request is then answered 401)
            return await self._run(scope, receive, None)
        key = headers["idempotency-key"]
        if not idempotency.valid_key(key):
            return _invalid_key()
        body = await _read_body(receive)
        attempt = idempotency.Attempt.of(principal, key=key, method=method, path=scope["path"],
                                         query=scope.get("query_string", b""), body=body)
        earlier = await idempotency.claim(self.engine, attempt, frozen_clock_allowed=self._frozen_clock_allowed)
        if earlier is not None:
            return _answer_from(earlier)
        return await self._run(scope, replay_body(body, receive), attempt)

    async def _run(self, scope: Scope, receive: Receive, attempt: idempotency.Attempt | None) -> _Response:
        """Run the request in its unit of work: commit only a success, end the transaction on every path."""
        uow = LazyTransaction(self.engine, writes=_writes(scope["method"], scope["path"]))
        scope.setdefault("state", {})["uow"] = uow
        response = _Response()
        try:
            await self.app(scope, receive, response.collect)
            succeeded = response.status < 400
            if succeeded and attempt is not None:
                await idempotency.store(await uow.connection(), attempt, status=response.status,
                                        content_type=response.content_type, body=bytes(response.body),
                                        frozen_clock_allowed=self._frozen_clock_allowed, ttl=self.idempotency_ttl)
            await uow.finish(commit=succeeded or (uow.commit_on_failure and response.status < 500))
        except BaseException:
            await _shielded(self._abandon(uow, attempt))
            raise
        if not succeeded and attempt is not None:
            await _shielded(idempotency.release(self.engine, attempt))
        return response

    async def _abandon(self, uow: LazyTransaction, attempt: idempotency.Attempt | None) -> None:
        try:
            await uow.finish(commit=False)
        finally:
            if attempt is not None:
                await idempotency.release(self.engine, attempt)

    @property
    def _frozen_clock_allowed(self) -> bool:
        return not self.settings.is_production

    def _principal(self, scope: Scope, headers: dict[str, str]) -> Principal | None:
        token = bearer_token(headers.get("authorization"))
        if token is None:
            return None
        try:
            return principal_of(scope.setdefault("state", {}), token, self.settings)
        except SalesError:
            return None


def _invalid_key() -> _Response:
    msg = "must be 1 to 255 printable ASCII characters"
    return _Response.error(422, "Validation error", f"invalid input: {idempotency.HEADER}", code="validation_error",
                             errors=[{"loc": ["header", idempotency.HEADER], "msg": msg}])


def _answer_from(earlier: idempotency.Earlier) -> _Response:
    """What a request gets when its Idempotency-Key was claimed before."""
    if not earlier.same_request:
        return _Response.error(422, "Idempotency key reused", "this Idempotency-Key was used for a different "
                                 "request or by a caller with other roles", code="idempotency_key_reused")
    if earlier.status is None:
        return _Response.error(409, "Request in progress", "a request with this Idempotency-Key is still being "
                                 "processed; retry shortly", code="idempotency_in_progress",
                                 extra=((b"retry-after", b"1"),))
    return _Response.of(earlier.status, earlier.body, content_type=earlier.content_type,
                        extra=((b"idempotent-replayed", b"true"),))


def _route_template(scope: Scope) -> str:
    """The matched route's full template (`/api/v1/sales/rms/{rm_id}`) for metric labels.

    FastAPI puts the router's own route (path without the include prefix) in the scope, so the prefix is
    recovered as the part of the request path before the route's pattern matches.
    """
    route = scope.get("route")
    template, regex = getattr(route, "path_format", None), getattr(route, "path_regex", None)
    if template is None or regex is None:
        return "unmatched"
    path = scope["path"]
    cut = path.find("/")
    while cut != -1:  # the shortest prefix after which the route's pattern matches
        if regex.match(path[cut:]):
            return path[:cut] + template
        cut = path.find("/", cut + 1)
    return path + template if regex.match("") else template


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)
