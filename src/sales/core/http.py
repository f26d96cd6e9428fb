"""HTTP plumbing shared by every router: exact-decimal JSON in and out, dependencies, pagination."""
from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

import orjson
from fastapi import Depends, Query, Request, Response
from fastapi.responses import JSONResponse as _FastAPIJSONResponse
from fastapi.routing import APIRoute, APIRouter
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.auth import Principal, Role, decode_token
from sales.core.clock import business_now
from sales.core.errors import Forbidden, InvalidInput, NotAuthenticated

T = TypeVar("T")

_ORJSON_OPTS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # Money leaves as a JSON number with its two decimals, never through float.
        return orjson.Fragment(format(value, "f"))
    if isinstance(value, UUID):  # asyncpg's UUID subclass is not orjson's native uuid.UUID
        return str(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="python")
    raise TypeError(f"not JSON serializable: {type(value)!r}")


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=_ORJSON_OPTS)


class JSONResponse(_FastAPIJSONResponse):
    """orjson with exact decimals. A FastAPI JSONResponse subclass, so OpenAPI documents the routes'
    response_model (with a plain Response class every 200 was documented as a string)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


def respond(content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    if isinstance(content, BaseModel):
        content = content.model_dump(mode="python")
    return JSONResponse(content, status_code=status_code, headers=headers)


class _DecimalJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            self._json = json.loads(body, parse_float=Decimal)
        return self._json


class DecimalJSONRoute(APIRoute):
    """Parses JSON numbers with a fraction as Decimal so money never passes through float."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            return await handler(_DecimalJSONRequest(request.scope, request.receive))

        return route_handler


def make_router(**kwargs: Any) -> APIRouter:
    """Every router parses JSON numbers as Decimal (see DecimalJSONRoute)."""
    return APIRouter(route_class=DecimalJSONRoute, **kwargs)


# --- dependencies ------------------------------------------------------------------------------

async def get_conn(request: Request) -> AsyncConnection:
    return await request.state.uow.connection()


Conn = Annotated[AsyncConnection, Depends(get_conn)]


async def get_now(request: Request, conn: Conn) -> datetime:
    uow = request.state.uow
    if uow.now_cache is None:
        uow.now_cache = await business_now(conn, frozen_allowed=not request.app.state.settings.is_production)
    return uow.now_cache


Now = Annotated[datetime, Depends(get_now)]

_bearer = HTTPBearer(auto_error=False, description="JWT issued by the MySqrft identity service")


async def get_principal(request: Request,
                  credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("missing bearer token")
    principal = decode_token(credentials.credentials, request.app.state.settings)
    request.state.principal = principal
    return principal


AnyPrincipal = Annotated[Principal, Depends(get_principal)]


def require(*roles: Role) -> Callable[[Principal], Awaitable[Principal]]:
    """Dependency: an authenticated principal holding at least one of `roles`, else 403."""

    async def dependency(principal: AnyPrincipal) -> Principal:
        if not principal.has(*roles):
            raise Forbidden(f"requires one of the roles {', '.join(sorted(roles))}")
        return principal

    return dependency


# --- pagination --------------------------------------------------------------------------------

class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


class PageParams(BaseModel):
    limit: int
    cursor: list[Any] | None


async def page_params(limit: Annotated[int, Query(ge=1, le=500)] = 50,
                cursor: Annotated[str | None, Query()] = None) -> PageParams:
    return PageParams(limit=limit, cursor=decode_cursor(cursor) if cursor else None)


Paging = Annotated[PageParams, Depends(page_params)]


def encode_cursor(*values: Any) -> str:
    raw = orjson.dumps([str(v) if isinstance(v, (UUID, Decimal)) else v for v in values],
                       option=_ORJSON_OPTS)
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = orjson.loads(raw)
        if not isinstance(values, list):
            raise ValueError
        return values
    except (ValueError, orjson.JSONDecodeError):
        raise InvalidInput.query(("cursor",), "malformed cursor") from None


def page_of(rows: list[T], limit: int, cursor_of: Callable[[T], tuple[Any, ...]]) -> dict[str, Any]:
    """Build a page from `limit + 1` fetched rows."""
    has_more = len(rows) > limit
    items = rows[:limit]
    return {"items": items, "next_cursor": encode_cursor(*cursor_of(items[-1])) if has_more else None}
