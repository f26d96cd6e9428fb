"""The published OpenAPI document: what every route really answers, errors included.

Handlers return `respond(...)` (orjson) for speed; their `response_model=` / `responses=` declarations exist
for this document only. FastAPI documents the success bodies; this module adds the errors every route can
answer, derived from what the route depends on, as RFC 9457 application/problem+json with one `Problem`
schema (FastAPI would document only a 422 with its own application/json `HTTPValidationError`).
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, Field

from sales.core.http import RoleRequirement, get_conn

PROBLEM_JSON = "application/problem+json"
PROBLEM_REF = "#/components/schemas/Problem"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
RETRY_AFTER = {"description": "seconds to wait before retrying", "required": True, "schema": {"type": "integer"}}


class FieldError(BaseModel):
    loc: list[str | int] = Field(description="where the bad value is, e.g. [\"body\", \"city\"]")
    msg: str


class Problem(BaseModel):
    """RFC 9457 problem details: the body of every error response."""

    type: str = Field(description="URI identifying the problem type")
    title: str
    status: int = Field(description="the HTTP status code")
    detail: str
    code: str = Field(description="stable machine-readable error code, e.g. `pipeline_not_found`")
    errors: list[FieldError] | None = Field(None, description="422: the fields at fault")


def problem_response(description: str, **extra: Any) -> dict[str, Any]:
    """An error response for `responses=` in a route decorator."""
    return {"description": description, "content": {PROBLEM_JSON: {"schema": {"$ref": PROBLEM_REF}}}, **extra}


def request_schema_of(model: type[BaseModel]) -> dict[str, Any]:
    """`model`'s request schema with its nested models written out in place: documents a field that takes the
    model's keys as a plain dict (e.g. partial allocation rules)."""
    schema = model.model_json_schema(mode="validation")
    definitions = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return resolve(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {key: resolve(value) for key, value in node.items() if key != "title"}
        if isinstance(node, list):
            return [resolve(item) for item in node]
        return node

    return resolve(schema)


def install(app: FastAPI) -> None:
    """Serve the document with every route's errors (built once, on the first request for it)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(title=app.title, version=app.version, description=app.description,
                                   routes=app.routes)
            add_error_responses(document, app.routes)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def add_error_responses(document: dict[str, Any], routes: list[Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(problem.pop("$defs", {}))
    schemas["Problem"] = problem
    for route in api_routes(routes):
        for method in route.methods:
            operation = document["paths"][route.path_format][method.lower()]
            responses = operation["responses"]
            for status, response in errors_of(route, method).items():
                # A decorator's own description of an error wins over the generic one.
                declared = responses.get(str(status))
                if declared is None or PROBLEM_JSON not in declared.get("content", {}):
                    responses[str(status)] = response
            operation["responses"] = dict(sorted(responses.items()))


def api_routes(routes: list[Any]) -> Iterator[Any]:
    """The published API routes, seen as FastAPI sees them under their include prefixes.

    (FastAPI keeps an included router as one entry of `app.routes`; a route context exposes the route's
    attributes - path_format, methods, dependant, body_field - with the prefix and the router's
    dependencies applied.)
    """
    for context in iter_route_contexts(routes):
        if isinstance(context.original_route, APIRoute) and context.include_in_schema:
            yield context


def errors_of(route: Any, method: str) -> dict[int, dict[str, Any]]:
    """The errors a route can answer, from its parameters, body and dependencies."""
    calls = [dependant.call for dependant in _dependants(route.dependant)]
    errors: dict[int, dict[str, Any]] = {}
    if _takes_json(route):
        errors[400] = problem_response("The body is not valid JSON (`malformed_json`)")
    if any(isinstance(call, RoleRequirement) for call in calls):
        errors[401] = problem_response("Missing, expired or invalid bearer token (`not_authenticated`)")
    required_roles = [getattr(call, "required_roles") for call in calls if hasattr(call, "required_roles")]
    if required_roles:
        roles = ", ".join(sorted(required_roles[0]))
        errors[403] = problem_response(f"The caller's roles do not allow this (`forbidden`); requires one of {roles}")
    if route.dependant.path_params:
        errors[404] = problem_response("No such record in the caller's scope (`*_not_found`)")
    if method in BODY_METHODS:
        errors[409] = problem_response("The request conflicts with the current state, or a request with the "
                                       "same Idempotency-Key is still in progress")
        errors[413] = problem_response("The body is larger than the service accepts")
        errors[422] = problem_response("Invalid input, `errors` naming each field at fault (`validation_error`), "
                                       "or an Idempotency-Key already used for another request")
    elif _has_parameters(route):
        errors[422] = problem_response("Invalid input: `errors` names each field at fault (`validation_error`)")
    errors[429] = problem_response(
        "Over the caller's or the source address's budget for this route class (`rate_limited`); retry after "
        "`Retry-After`", headers={"Retry-After": RETRY_AFTER})
    if get_conn in calls:
        errors[503] = problem_response(
            "No database connection became free in time (`service_overloaded`); retry after `Retry-After`",
            headers={"Retry-After": RETRY_AFTER})
    return errors


def _takes_json(route: Any) -> bool:
    declared_body = (route.openapi_extra or {}).get("requestBody", {})
    return route.body_field is not None or "application/json" in declared_body.get("content", {})


def _has_parameters(route: Any) -> bool:
    return any(dependant.path_params or dependant.query_params or dependant.header_params or dependant.body_params
               for dependant in _dependants(route.dependant))


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for sub in dependant.dependencies:
        yield from _dependants(sub)
