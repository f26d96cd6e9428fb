"""What every HTTP request meets before anything else: a body size limit and the security headers.

Both are pure ASGI middleware outside routing and authentication, so an unauthenticated client cannot make
the service buffer a large body, and every response, errors included, carries the headers.
"""
from __future__ import annotations


from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sales.core.errors import problem
from sales.core.http import dumps

# The console's pages (and any other HTML page the service renders, such as the public shortlist pages under
# /s/) load only their own vendored scripts and styles: no inline code, no framing.
CONSOLE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'")
HSTS = b"max-age=31536000; includeSubDomains"
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})  # Swagger UI / ReDoc load their own assets
_EVERY_RESPONSE = [(b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY")]
_API_RESPONSE = [(b"referrer-policy", b"no-referrer")]
_PAGE_RESPONSE = [(b"content-security-policy", CONSOLE_CSP.encode()), (b"referrer-policy", b"same-origin")]
_NO_STORE = (b"cache-control", b"no-store")


def _is_console(path: str) -> bool:
    """The console and the customer's public shortlist pages (/s/{token}) share the strict headers."""
    return path == "/console" or path.startswith(("/console/", "/s/"))


def _is_html(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(k.lower() == b"content-type" and v.lower().startswith(b"text/html") for k, v in headers)


class SecurityHeadersMiddleware:
    """Headers against sniffing, framing, referrer leaks and caching (OWASP API8:2023), on every response,
    errors and 429s included:

    - every response: `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY`; in production also HSTS;
    - the console and every other HTML page (docs pages aside): a strict self-only CSP, same-origin referrer;
    - the rest (the JSON API): `Referrer-Policy: no-referrer` and, unless the route set its own caching,
      `Cache-Control: no-store` (answers carry personal data: no shared or browser cache keeps them).
    """

    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.every = _EVERY_RESPONSE + ([(b"strict-transport-security", HSTS)] if hsts else [])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                page = _is_console(path) or (_is_html(headers) and path not in DOCS_PATHS)
                extra = self.every + (_PAGE_RESPONSE if page else _API_RESPONSE)
                if not page and not any(k.lower() == b"cache-control" for k, _ in headers):
                    extra = extra + [_NO_STORE]
                names = {name for name, _ in extra}
                message = {**message, "headers": [(k, v) for k, v in headers if k.lower() not in names] + extra}
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
