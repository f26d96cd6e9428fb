"""What every HTTP request meets before anything else: a body size limit and the security headers.

Both are pure ASGI middleware outside routing and authentication, so an unauthenticated client cannot make
the service buffer a large body, and every response, errors included, carries the headers.
"""
from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sales.core.errors import problem
from sales.core.http import dumps

# The console's pages load only their own vendored scripts and styles: no inline code, no framing.
CONSOLE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
_EVERY_RESPONSE = [(b"x-content-type-options", b"nosniff")]
_CONSOLE_RESPONSE = [(b"content-security-policy", CONSOLE_CSP.encode()), (b"x-frame-options", b"DENY"),
                     (b"referrer-policy", b"same-origin")]


def _is_console(path: str) -> bool:
    """The console and the customer's public shortlist pages (/s/{token}) share the strict headers."""
    return path == "/console" or path.startswith(("/console/", "/s/"))


class SecurityHeadersMiddleware:
    """nosniff on every response; on the console also CSP, no framing and a same-origin referrer policy."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = _EVERY_RESPONSE + (_CONSOLE_RESPONSE if _is_console(scope["path"]) else [])
        names = {name for name, _ in extra}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": kept + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimitMiddleware:
    """Bodies over the limit are refused with 413: a declared Content-Length before reading anything, a
    chunked body as soon as it passes the limit. The whole (small enough) body is then handed on."""

    def __init__(self, app: ASGIApp, *, default: int, per_route: dict[tuple[str, str], int]) -> None:
        """`per_route`: (method, path) -> limit; a path segment `*` stands for any one segment (an id)."""
        self.app = app
        self.default = default
        self.per_route = {key: limit for key, limit in per_route.items() if "*" not in key[1]}
        self.patterns = [(method, path.split("/"), limit) for (method, path), limit in per_route.items()
                         if "*" in path]

    def _limit(self, method: str, path: str) -> int:
        exact = self.per_route.get((method, path))
        if exact is not None:
            return exact
        segments = path.split("/")
        for pattern_method, pattern, limit in self.patterns:
            if pattern_method == method and len(pattern) == len(segments) and all(
                    p in ("*", s) for p, s in zip(pattern, segments)):
                return limit
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope["method"], scope["path"])
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(send, limit)
            return
        try:
            body = await _read_at_most(receive, limit)
        except _ClientGone:
            return  # nobody to answer, and a partial body must not be acted on
        if body is None:
            await _too_large(send, limit)
            return
        await self.app(scope, replay_body(body, receive), send)


class _ClientGone(Exception):
    pass


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


async def _read_at_most(receive: Receive, limit: int) -> bytes | None:
    """The whole body, or None as soon as it is longer than `limit` bytes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


def replay_body(body: bytes, receive: Receive) -> Receive:
    """A receive channel that yields `body` in one message, then waits on the client (disconnects)."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


async def _too_large(send: Send, limit: int) -> None:
    body = dumps(problem(413, "Payload too large", f"the request body is larger than {limit} bytes",
                         code="payload_too_large", max_bytes=limit))
    await send({"type": "http.response.start", "status": 413, "headers": [
        (b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
