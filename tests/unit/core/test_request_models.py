"""Every input the API accepts fits its column (issue 9 item 7), checked on the real routes.

Walks each API route's body model (nested models, lists and unions included) and its query and path
parameters: every string refuses NUL and has a maximum length, every timestamp is converted to UTC,
every free-form JSON object is bounded, every number has bounds. Then the lengths are compared with the
columns the values are stored in, so a schema that allows more than its column fails here, not as a
500 on PostgreSQL.
"""
from __future__ import annotations

import types
from datetime import datetime
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from sqlalchemy import String, Table

from sales.allocation.models import allocation_rule_sets, rm_allocations
from sales.allocation.schemas import LeadAllocationRequest, RuleSetChange
from sales.app import API
from sales.core.fields import refuse_nul, storable, to_utc
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


def _leaf_problems(where: str, annotation: Any, metadata: list[Any]) -> list[str]:
    annotation, metadata = _unwrap(annotation, metadata)
    origin = get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return [p for arg in get_args(annotation) if arg is not Ellipsis
                for p in _leaf_problems(f"{where}[]", arg, [])]
    if origin in (Union, types.UnionType):
        return [p for arg in get_args(annotation) for p in _leaf_problems(where, arg, metadata)]
    if origin is dict:
        return [] if storable in _validators(metadata) else [f"{where}: free-form dict without JSONObject"]
    if origin is Literal or (isinstance(annotation, type) and issubclass(annotation, Enum)):
        return []
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [p for name, field in annotation.model_fields.items()
                for p in _leaf_problems(f"{where}.{name}", field.annotation, list(field.metadata))]
    if annotation is str:
        problems = [] if refuse_nul in _validators(metadata) else [f"{where}: str without fields.Text (NUL)"]
        return problems + ([] if _max_length(metadata) else [f"{where}: str without max_length"])
    if annotation is datetime:
        return [] if to_utc in _validators(metadata) else [f"{where}: datetime without fields.UTCDatetime"]
    if annotation in (int, float):
        bounded = {type(item) for item in metadata} & {annotated_types.Ge, annotated_types.Gt}
        capped = {type(item) for item in metadata} & {annotated_types.Le, annotated_types.Lt}
        return [] if bounded and capped else [f"{where}: {annotation.__name__} without both bounds"]
    return []


def test_every_api_input_is_of_a_type_that_fits_storage():
    """Strings refuse NUL and are bounded, datetimes are UTC, JSON objects are bounded, numbers are bounded."""
    problems = []
    for prefix, route in _api_routes():
        for kind, name, info in _parameters(route.dependant):
            where = f"{sorted(route.methods)[0]} {prefix}{route.path} {kind} {name}"
            problems += _leaf_problems(where, info.annotation, list(info.metadata))
    assert problems == []


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
