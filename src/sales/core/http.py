"""HTTP plumbing shared by every router: exact-decimal JSON in and out, dependencies, pagination."""
from __future__ import annotations

import base64
import json
from collections.abc import Callable, Coroutine
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Generic, TypeVar
from uuid import UUID

import orjson
from fastapi import Depends, Query, Request, Response
from fastapi.responses import JSONResponse as _FastAPIJSONResponse
from fastapi.routing import APIRoute, APIRouter
from fastapi.security import HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.auth import Principal, Role, principal_of
from sales.core.clock import business_now
from sales.core.errors import Forbidden, InvalidInput, NotAuthenticated
from sales.core.fields import INT64_MAX, NUL, Text, UTCDatetime, bounded_query_integer

T = TypeVar("T")

_ORJSON_OPTS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


def money_fragment(value: Decimal) -> orjson.Fragment:
    """Money as `dumps` writes a Decimal: a JSON number with its own places, never through float. Views built for
    an answer hold it so, and orjson writes it without calling `default=` (issue 19)."""
    return orjson.Fragment(format(value, "f"))


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return money_fragment(value)
    if isinstance(value, UUID):  # asyncpg's UUID subclass is not orjson's native uuid.UUID
        return str(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="python")
    raise TypeError(f"not JSON serializable: {type(value)!r}")


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=_ORJSON_OPTS)


class JSONResponse(_FastAPIJSONResponse):
    """orjson-rendered JSON. Being a JSONResponse is what makes FastAPI publish the routes' response models
    (for any other response class it documents the body as a plain string)."""

    def render(self, content: Any) -> bytes:
        return dumps(content)


def respond(content: Any, status_code: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    if isinstance(content, BaseModel):
        content = content.model_dump(mode="python")
    return JSONResponse(content, status_code=status_code, headers=headers)


def _refuse_constant(name: str) -> Any:
    raise json.JSONDecodeError(f"{name} is not a JSON number", name, 0)


class _DecimalJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            self._json = json.loads(body, parse_float=Decimal, parse_constant=_refuse_constant)
        return self._json

    async def refuse_runaway_nesting(self) -> None:
        """A JSON body nested deeper than the parser can go is a 422 (FastAPI would answer a bare 400)."""
        if not _is_json(self.headers.get("content-type")):
            return
        try:
            await self.json()
        except RecursionError:
            raise InvalidInput((), "JSON nested too deeply") from None
        except ValueError:
            pass  # unparsable JSON: FastAPI parses again and answers 400 (see app.install_error_handlers)


def _is_json(content_type: str | None) -> bool:
    media_type = (content_type or "application/json").split(";")[0].strip().lower()
    return media_type == "application/json" or (media_type.startswith("application/") and media_type.endswith("+json"))


class DecimalJSONRoute(APIRoute):
    """Parses JSON numbers with a fraction as Decimal so money never passes through float."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Response:
            decimal_request = _DecimalJSONRequest(request.scope, request.receive)
            if self.body_field is not None:
                await decimal_request.refuse_runaway_nesting()
            return await handler(decimal_request)

        return route_handler


def make_router(**kwargs: Any) -> APIRouter:
    """Every router parses JSON numbers as Decimal (see DecimalJSONRoute)."""
    return APIRouter(route_class=DecimalJSONRoute, **kwargs)


# --- dependencies ------------------------------------------------------------------------------

async def refuse_nul_parameters(request: Request) -> None:
    """Path, query and form parameters never carry NUL: PostgreSQL can neither store nor compare it.

    Installed on the whole app (API and console); JSON bodies are held to the same by `fields.Text`."""
    named = [("path", name, value) for name, value in request.path_params.items()]
    named += [("query", name, value) for name, value in request.query_params.multi_items()]
    if _is_form(request.headers.get("content-type")):
        form = await request.form()
        named += [("body", name, value) for name, value in form.multi_items() if isinstance(value, str)]
    for where, name, value in named:
        if NUL in name or NUL in value:
            raise InvalidInput((name,), "must not contain NUL characters", where=where)


def _is_form(content_type: str | None) -> bool:
    media_type = (content_type or "").split(";")[0].strip().lower()
    return media_type in ("application/x-www-form-urlencoded", "multipart/form-data")


async def get_conn(request: Request) -> AsyncConnection:
    return await request.state.uow.connection()


Conn = Annotated[AsyncConnection, Depends(get_conn)]


async def get_now(request: Request, conn: Conn) -> datetime:
    uow = request.state.uow
    if uow.now_cache is None:
        uow.now_cache = await business_now(conn, frozen_allowed=not request.app.state.settings.is_production)
    return uow.now_cache


Now = Annotated[datetime, Depends(get_now)]

class RoleRequirement(HTTPBearer):
    """Dependency: the caller's principal from the bearer token (401 without a valid one), holding at least one of
    `required_roles` (403 otherwise).

    One dependency where there were three (the role check, the principal, the bearer scheme; issue 19: FastAPI's
    solving costs per dependency and request). Being an `HTTPBearer` named as the scheme, it is what publishes the
    bearer security scheme in OpenAPI; `sales.core.openapi` documents its 401 and 403."""

    def __init__(self, roles: tuple[Role, ...]) -> None:
        super().__init__(auto_error=False, scheme_name="HTTPBearer",
                         description="JWT issued by the MySqrft identity service")
        self.required_roles = roles
        self._refusal = f"requires one of the roles {', '.join(sorted(roles))}"

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
        if not token or scheme.lower() != "bearer":
            raise NotAuthenticated("missing bearer token")
        principal = principal_of(request.scope.setdefault("state", {}), token, request.app.state.settings)
        request.state.principal = principal
        if not principal.has(*self.required_roles):
            raise Forbidden(self._refusal)
        return principal


def require(*roles: Role) -> RoleRequirement:
    """Dependency: an authenticated principal holding at least one of `roles`, else 403."""
    return RoleRequirement(roles)


# --- pagination --------------------------------------------------------------------------------

class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None


class PageParams(BaseModel):
    limit: int
    cursor: list[Any] | None


Seq = Annotated[int, Field(ge=0, le=INT64_MAX)]
AFTER_SEQ: TypeAdapter[tuple[int]] = TypeAdapter(tuple[Seq])
AFTER_TIME_AND_ID: TypeAdapter[tuple[datetime, UUID]] = TypeAdapter(tuple[UTCDatetime, UUID])


def after_name_and_id(max_length: int) -> TypeAdapter[tuple[str, UUID]]:
    return TypeAdapter(tuple[Annotated[Text, Field(max_length=max_length)], UUID])


def cursor_after(cursor: list[Any] | None, shape: TypeAdapter[T]) -> T | None:
    """The decoded `?cursor=` checked against a list's sort key before it reaches SQL, or None without one.

    A cursor comes back from the client, so it is input like any other: `shape` is the sort key's types
    (UTC timestamps, 64-bit sequence numbers, bounded text)."""
    if cursor is None:
        return None
    try:
        return shape.validate_python(cursor)
    except ValidationError:
        raise InvalidInput.query(("cursor",), "malformed cursor") from None


MAX_CURSOR = 2048  # a sort key of a 200-character name and an id, base64-encoded, with room to spare


async def page_params(limit: Annotated[bounded_query_integer(ge=1, le=500), Query()] = 50,
                cursor: Annotated[Text | None, Query(max_length=MAX_CURSOR)] = None) -> PageParams:
    return PageParams(limit=limit, cursor=decode_cursor(cursor) if cursor else None)


Paging = Annotated[PageParams, Depends(page_params)]
CityFilter = Annotated[Text | None, Query(max_length=100, description="matched case-insensitively")]


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
