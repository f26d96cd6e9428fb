"""The route table as the OWASP tests walk it: every published route, its path parameters filled, the roles
its dependencies require. A route added later is walked without anyone listing it here."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI

from sales.core.auth import Role
from sales.core.http import RoleRequirement
from sales.core.openapi import _dependants, api_routes


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    path_params: tuple[tuple[str, Any], ...]  # (name, annotation)
    authenticated: bool
    allowed_roles: frozenset[Role] | None  # None: any authenticated principal (scoping decides)

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"

    def path(self, value_for: Any = None) -> str:
        """The path with every parameter filled: a fresh UUID (an object nobody owns) unless told."""
        path = self.template
        for name, annotation in self.path_params:
            value = (value_for or {}).get(name) or (uuid.uuid4() if annotation is uuid.UUID else f"no-such-{name}")
            path = path.replace("{" + name + "}", str(value))
        return path


def operations(app: FastAPI) -> Iterator[Operation]:
    for route in api_routes(app.routes):
        calls = [dependant.call for dependant in _dependants(route.dependant)]
        required = [frozenset(getattr(call, "required_roles")) for call in calls if hasattr(call, "required_roles")]
        params = tuple((p.name, p.field_info.annotation) for p in route.dependant.path_params)
        for method in sorted(route.methods):
            yield Operation(method=method, template=route.path_format, path_params=params,
                            authenticated=any(isinstance(call, RoleRequirement) for call in calls),
                            allowed_roles=frozenset.intersection(*required) if required else None)


def minimal_instance(schema: dict[str, Any]) -> Any:
    """A small value valid against a (resolved) JSON schema: required properties only, each at its lower bound."""
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        if combinator in schema:
            options = [o for o in schema[combinator] if o.get("type") != "null"] or schema[combinator]
            return minimal_instance(options[0])
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {name: minimal_instance(properties.get(name, {})) for name in schema.get("required", [])}
    if kind == "array":
        return [minimal_instance(schema.get("items", {})) for _ in range(schema.get("minItems", 0))]
    if kind == "integer":
        return max(schema.get("minimum", 1), int(schema.get("exclusiveMinimum", 0)) + 1)
    if kind == "number":
        return max(schema.get("minimum", 1), schema.get("exclusiveMinimum", 0) + 1)
    if kind == "boolean":
        return False
    if kind == "string":
        return _string(schema)
    return None


def _string(schema: dict[str, Any]) -> str:
    formats = {"uuid": str(uuid.uuid4()), "date-time": "2030-01-01T00:00:00Z", "date": "2030-01-01",
               "email": "someone@example.com", "uri": "https://example.com"}
    if schema.get("format") in formats:
        return formats[schema["format"]]
    return "a" * max(schema.get("minLength", 1), 1)


def request_body(app: FastAPI, operation: Operation) -> Any:
    """A schema-valid body for the operation, from the published document (None when it takes none)."""
    document = app.openapi()
    content = document["paths"][operation.template][operation.method.lower()].get("requestBody", {}).get("content", {})
    schema = content.get("application/json", {}).get("schema")
    if schema is None:
        return None
    return minimal_instance(_resolved(schema, document["components"]["schemas"]))


def _resolved(node: Any, schemas: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        if "$ref" in node:
            return _resolved(schemas[node["$ref"].rsplit("/", 1)[-1]], schemas)
        return {key: _resolved(value, schemas) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolved(item, schemas) for item in node]
    return node
