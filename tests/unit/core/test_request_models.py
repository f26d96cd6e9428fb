"""Every input the API accepts fits its column (issue 9 item 7) and is of its published JSON type (issue 9
item 16), checked on the real routes.

Walks each API route's body model (nested models, lists and unions included) and its query and path
parameters: every string refuses NUL and has a maximum length, every timestamp is converted to UTC,
every free-form JSON object is bounded, every number has bounds; booleans, integers, numbers, dates and
timestamps use the strict types of `sales.core.fields` (a body's or a query's), never Pydantic's lax parsing. Then the lengths are compared with the
columns the values are stored in, so a schema that allows more than its column fails here, not as a
500 on PostgreSQL.
"""
from __future__ import annotations

import types
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from sqlalchemy import String, Table

from sales.allocation.config import AllocationRules
from sales.allocation.models import allocation_rule_sets, rm_allocations
from sales.allocation.schemas import LeadAllocationRequest, RuleSetChange
from sales.app import API
from sales.core.fields import (iso_date, iso_datetime, json_boolean, json_integer, json_number, query_boolean,
                               query_integer, refuse_nul, storable, to_utc)
from sales.core.money import Money
from sales.directory.models import rm_leaves, rm_localities, rms, teams
from sales.directory.schemas import LeaveCreate, RMCreate, RMUpdate, TeamCreate, TeamUpdate
from sales.leads.models import leads
from sales.pipelines.models import sales_pipelines
from sales.pipelines.schemas import PipelineCreate, PipelineUpdate, StageChange
from sales.routes import include_routers


class _Mounted:
    """Stands in for the app to collect the routers `sales.routes` mounts (every API route)."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, APIRoute]] = []

    def include_router(self, router: Any, *, prefix: str) -> None:
        self.routes += [(prefix, route) for route in router.routes if isinstance(route, APIRoute)]


def _api_routes() -> list[tuple[str, APIRoute]]:
    mounted = _Mounted()
    include_routers(mounted, prefix=API)  # type: ignore[arg-type]
    assert len(mounted.routes) > 30
    return mounted.routes


def _parameters(dependant: Any) -> list[tuple[str, Any, FieldInfo]]:
    found = [(kind, field.name, field.field_info) for kind in ("path", "query", "body")
             for field in getattr(dependant, f"{kind}_params")]
    return found + [p for sub in dependant.dependencies for p in _parameters(sub)]


def _unwrap(annotation: Any, metadata: list[Any]) -> tuple[Any, list[Any]]:
    """The type under Annotated/Optional layers, with every constraint and validator met on the way."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation, *extra = get_args(annotation)
            metadata = [*metadata, *extra]
        elif origin in (Union, types.UnionType) and type(None) in get_args(annotation):
            others = [a for a in get_args(annotation) if a is not type(None)]
            if len(others) != 1:
                return annotation, metadata
            annotation = others[0]
        else:
            flat = []
            for item in metadata:
                flat += [item, *item.metadata] if isinstance(item, FieldInfo) else [item]
            return annotation, flat


def _validators(metadata: list[Any]) -> set[Any]:
    return {getattr(item, "func", None) for item in metadata}


def _max_length(metadata: list[Any]) -> int | None:
    lengths = [item.max_length for item in metadata if isinstance(item, annotated_types.MaxLen)]
    return min(lengths) if lengths else None


# The validator that parses each scalar strictly: a body holds JSON values, a path or query parameter text.
_MONEY_PARSER = _unwrap(Money, [])[1][0].func
_STRICT_PARSERS: dict[str, dict[Any, set[Any]]] = {
    "body": {bool: {json_boolean}, int: {json_integer}, float: {json_number}, Decimal: {json_number, _MONEY_PARSER},
             date: {iso_date}, datetime: {iso_datetime}},
    "text": {bool: {query_boolean}, int: {query_integer}, Decimal: {_MONEY_PARSER}, date: {iso_date},
             datetime: {iso_datetime}},
}


def _lax_problems(where: str, kind: str, annotation: Any, metadata: list[Any]) -> list[str]:
    parsers = _STRICT_PARSERS["body" if kind == "body" else "text"]
    if annotation not in (bool, int, float, Decimal, date, datetime):
        return []
    if annotation not in parsers or not parsers[annotation] & _validators(metadata):
        return [f"{where}: {annotation.__name__} parsed laxly (use sales.core.fields' strict {kind} types)"]
    return []


def _leaf_problems(where: str, annotation: Any, metadata: list[Any], kind: str = "body") -> list[str]:
    annotation, metadata = _unwrap(annotation, metadata)
    origin = get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return [p for arg in get_args(annotation) if arg is not Ellipsis
                for p in _leaf_problems(f"{where}[]", arg, [], kind)]
    if origin in (Union, types.UnionType):
        return [p for arg in get_args(annotation) for p in _leaf_problems(where, arg, metadata, kind)]
    problems = _lax_problems(where, kind, annotation, metadata)
    if origin is dict:
        return [] if storable in _validators(metadata) else [f"{where}: free-form dict without JSONObject"]
    if origin is Literal or (isinstance(annotation, type) and issubclass(annotation, Enum)):
        return []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [p for name, field in annotation.model_fields.items()
                for p in _leaf_problems(f"{where}.{name}", field.annotation, list(field.metadata), kind)]
    if annotation is str:
        problems = [] if refuse_nul in _validators(metadata) else [f"{where}: str without fields.Text (NUL)"]
        return problems + ([] if _max_length(metadata) else [f"{where}: str without max_length"])
    if annotation is datetime and to_utc not in _validators(metadata):
        problems.append(f"{where}: datetime without fields.UTCDatetime")
    if annotation in (int, float):
        bounded = {type(item) for item in metadata} & {annotated_types.Ge, annotated_types.Gt}
        capped = {type(item) for item in metadata} & {annotated_types.Le, annotated_types.Lt}
        problems += [] if bounded and capped else [f"{where}: {annotation.__name__} without both bounds"]
    return problems


# Models a route takes as a free-form JSON object and parses later (their keys are published in its schema).
PARSED_FROM_JSON_OBJECTS: list[type[BaseModel]] = [AllocationRules]


def test_every_api_input_is_of_a_type_that_fits_storage():
    """Strings refuse NUL and are bounded, datetimes are UTC, JSON objects are bounded, numbers are bounded;
    issue 9 item 16: no boolean, integer, number, date or timestamp is parsed laxly (0 as false, true or "5"
    as an integer, 0 as a date)."""
    problems = []
    for prefix, route in _api_routes():
        for kind, name, info in _parameters(route.dependant):
            where = f"{sorted(route.methods)[0]} {prefix}{route.path} {kind} {name}"
            problems += _leaf_problems(where, info.annotation, list(info.metadata), kind)
    for model in PARSED_FROM_JSON_OBJECTS:
        problems += _leaf_problems(model.__name__, model, [])
    assert problems == []


@pytest.mark.parametrize(("parser", "refused"), [
    (json_boolean, [0, 1, "true", "false", None]), (query_boolean, ["1", "0", "yes", "True", "t", "on"]),
    (json_integer, [True, False, "5", Decimal("0.5"), 0.5, Decimal("1e30")]),
    (query_integer, ["5.0", "+5", " 5", "1_000", "\u0665", "true", "1" * 20]),
    (json_number, [False, True, "5", None]),
    (iso_date, [0, Decimal("0.5"), "0", "1700000000", "20260117", "2026-01-17T00:00:00Z", True]),
    (iso_datetime, [0, Decimal("0.5"), "0.5", "1700000000", "2026-01-17 10:30:00Z", False]),
], ids=lambda v: getattr(v, "__name__", ""))
def test_strict_parsers_refuse_other_json_types(parser, refused):
    """issue 9 item 16: what Pydantic's lax mode would convert is refused (a 422 naming the field)."""
    for value in refused:
        with pytest.raises(ValueError):
            parser(value)


def test_strict_parsers_take_the_published_forms():
    assert (json_boolean(True), query_boolean("false"), json_integer(5), json_integer(Decimal("260.0"))) == \
        (True, False, 5, 260)
    assert (query_integer("-12"), json_number(Decimal("0.5")), iso_date("2026-01-17")) == (-12, Decimal("0.5"),
                                                                                         "2026-01-17")
    assert iso_datetime("2026-01-17T10:30:00Z") == "2026-01-17T10:30:00Z"


# Where each request model's values are stored: a field is checked against the same-named column of each table.
STORED_IN: dict[type[BaseModel], list[Table]] = {
    TeamCreate: [teams], TeamUpdate: [teams], RMCreate: [rms, rm_localities], RMUpdate: [rms, rm_localities],
    LeaveCreate: [rm_leaves], LeadAllocationRequest: [leads, rm_allocations], RuleSetChange: [allocation_rule_sets],
    PipelineCreate: [sales_pipelines], PipelineUpdate: [sales_pipelines], StageChange: [sales_pipelines],
}
ALSO_STORED_IN = {(RMCreate, "localities"): rm_localities.c.locality,
                  (RMUpdate, "localities"): rm_localities.c.locality}


def _column_pairs() -> list[tuple[type[BaseModel], str, Any]]:
    pairs = [(model, name, table.c[name]) for model, tables in STORED_IN.items() for table in tables
             for name in model.model_fields
             if name in table.c and isinstance(table.c[name].type, String) and table.c[name].type.length]
    return pairs + [(model, name, column) for (model, name), column in ALSO_STORED_IN.items()]


@pytest.mark.parametrize(("model", "name", "column"), _column_pairs(),
                         ids=lambda v: getattr(v, "__name__", None) or str(v))
def test_request_fields_are_no_longer_than_their_columns(model, name, column):
    """e.g. a team's city was allowed 200 characters for a String(100) column: a 500 on PostgreSQL."""
    annotation, metadata = _unwrap(model.model_fields[name].annotation, list(model.model_fields[name].metadata))
    if get_origin(annotation) is list:
        annotation, metadata = _unwrap(get_args(annotation)[0], [])
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        limit: int | None = max(len(member.value) for member in annotation)
    elif annotation is str:
        limit = _max_length(metadata)
    else:  # EmailStr: email-validator caps an address at 254 characters
        limit = 254
    assert limit is not None and limit <= column.type.length, f"{model.__name__}.{name}: {limit} > {column}"
