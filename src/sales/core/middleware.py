"""Pure ASGI middleware: request id, one transaction per request, idempotent retries, metrics.

The response is buffered so the transaction can be committed *before* the client sees success,
and rolled back for any 4xx/5xx: a failed request writes nothing.
"""
from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any

import structlog
from prometheus_client import Counter, Histogram
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sales.core.auth import decode_token
from sales.core.clock import wall_now
from sales.core.db import LazyTransaction
from sales.core.errors import SalesError, problem
from sales.core.http import dumps
from sales.core.tables import idempotency_keys

log = structlog.get_logger("sales.http")

REQUESTS = Counter("sales_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("sales_http_request_duration_seconds", "HTTP request latency", ["method", "route"],
                    buckets=(.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5))

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


class _Buffered:
    def __init__(self) -> None:
        self.status = 500
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = bytearray()
        self.messages: list[Message] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.body += message.get("body", b"")
        self.messages.append(message)


class UnitOfWorkMiddleware:
    def __init__(self, app: ASGIApp, *, engine: Any, settings: Any) -> None:
        self.app = app
        self.engine = engine
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
        request_id = headers.get("x-request-id") or uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        uow = LazyTransaction(self.engine)
        scope.setdefault("state", {})["uow"] = uow
        method = scope["method"]

        body = b""
        idem_key = headers.get("idempotency-key") if method in WRITE_METHODS else None
        actor = self._actor(headers) if idem_key else None
        if idem_key and actor:
            body = await _read_body(receive)
            receive = _replay(body)
            request_hash = hashlib.sha256(method.encode() + scope["path"].encode() + b"\0" + body).hexdigest()
            stored = await self._stored(actor, idem_key)
            if stored is not None:
                await self._send_stored(send, stored, request_hash, request_id)
                return

        buffered = _Buffered()
        try:
            await self.app(scope, receive, buffered.send)
        except BaseException:
            await uow.finish(commit=False)
            raise
        commit = buffered.status < 400
        if commit and idem_key and actor and uow.opened:
            conn = await uow.connection()
            await conn.execute(idempotency_keys.insert().values(
                actor=actor, key=idem_key, method=method, path=scope["path"], request_hash=request_hash,
                status_code=buffered.status, response_body=bytes(buffered.body).decode(),
                created_at=wall_now()))
        try:
            await uow.finish(commit=commit)
        except IntegrityError:
            # A concurrent request with the same Idempotency-Key committed first: answer as it did.
            stored = await self._stored(actor, idem_key) if idem_key and actor else None
            if stored is None:
                raise
            await self._send_stored(send, stored, request_hash, request_id)
            return

        buffered.headers.append((b"x-request-id", request_id.encode()))
        for message in buffered.messages:
            if message["type"] == "http.response.start":
                message = {**message, "headers": buffered.headers}
            await send(message)
        route_path = _route_template(scope)
        elapsed = time.perf_counter() - started
        REQUESTS.labels(method, route_path, str(buffered.status)).inc()
        LATENCY.labels(method, route_path).observe(elapsed)
        level = log.error if buffered.status >= 500 else log.info
        level("request", method=method, path=scope["path"], route=route_path, status=buffered.status,
              ms=round(elapsed * 1000, 2))

    def _actor(self, headers: dict[str, str]) -> str | None:
        auth = headers.get("authorization", "")
        if not auth.lower().startswith("bearer "):
            return None
        try:
            return str(decode_token(auth[7:], self.settings).sub)
        except SalesError:
            return None

    async def _stored(self, actor: str, key: str) -> Any:
        async with self.engine.connect() as conn:
            return (await conn.execute(select(idempotency_keys).where(
                idempotency_keys.c.actor == actor, idempotency_keys.c.key == key))).first()

    async def _send_stored(self, send: Send, stored: Any, request_hash: str, request_id: str) -> None:
        if stored.request_hash != request_hash:
            body = dumps(problem(422, "Idempotency key reused", "this Idempotency-Key was used for a "
                                 "different request", code="idempotency_key_reused"))
            status, ctype = 422, b"application/problem+json"
        else:
            body, status = stored.response_body.encode(), stored.status_code
            ctype = b"application/json"
        await send({"type": "http.response.start", "status": status, "headers": [
            (b"content-type", ctype), (b"content-length", str(len(body)).encode()),
            (b"idempotent-replayed", b"true"), (b"x-request-id", request_id.encode())]})
        await send({"type": "http.response.body", "body": body})


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
    for cut in [i for i, ch in enumerate(path) if ch == "/"] + [len(path)]:
        if regex.match(path[cut:]):
            return path[:cut] + template
    return template


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive
