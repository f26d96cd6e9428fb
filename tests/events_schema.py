"""Validate CloudEvents against the contracts in docs/events/ (JSON Schema 2020-12).

Use `assert_valid(envelope)` for one event, or `await assert_outbox_valid(conn)` to check every event a
test made the service publish. An event type without a schema file fails: add the schema with the event.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from sqlalchemy import select

SCHEMAS = Path(__file__).resolve().parents[1] / "docs" / "events"


@lru_cache(maxsize=1)
def _validators() -> dict[str, Draft202012Validator]:
    docs = {p.name: json.loads(p.read_text()) for p in SCHEMAS.glob("*.schema.json")}
    registry = Registry().with_resources((d["$id"], Resource.from_contents(d)) for d in docs.values())
    checker = FormatChecker()
    out = {}
    for name, doc in docs.items():
        Draft202012Validator.check_schema(doc)
        if name != "envelope.schema.json":
            out[doc["title"]] = Draft202012Validator(doc, registry=registry, format_checker=checker)
    return out


def schema_types() -> set[str]:
    return set(_validators())


def errors_of(envelope: dict[str, Any]) -> list[str]:
    validator = _validators().get(envelope.get("type", ""))
    if validator is None:
        return [f"no schema in docs/events/ for event type {envelope.get('type')!r}"]
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in validator.iter_errors(envelope)]


def assert_valid(envelope: dict[str, Any]) -> None:
    problems = errors_of(envelope)
    assert not problems, f"{envelope.get('type')} {envelope.get('id')} breaks its schema: {problems}"


async def assert_outbox_valid(conn: Any) -> int:
    """Every event in the outbox validates against its schema; returns how many were checked."""
    from sales.core.tables import outbox_events

    rows = (await conn.execute(select(outbox_events.c.envelope))).scalars().all()
    for envelope in rows:
        assert_valid(envelope)
    return len(rows)
