"""Assertions shared by the API tests: problem+json bodies and what the database holds."""
from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from sales.core.tables import audit_log, outbox_events


def assert_problem(response: httpx.Response, status: int, code: str, *, loc: list[Any] | None = None) -> dict:
    """An RFC 9457 problem with this status and stable code; with `loc`, one of its errors names that field."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code, body
    assert {"type", "title", "detail"} <= body.keys()
    if loc is not None:
        assert status == 422
        locs = [e["loc"] for e in body["errors"]]
        assert loc in locs, f"{loc} not among {locs}"
        assert all(e["msg"] for e in body["errors"])
    return body


async def count(engine: AsyncEngine, table: Any, *where: Any) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(table).where(*where))).scalar_one()


async def fetch(engine: AsyncEngine, table: Any, *where: Any, order_by: Any = None) -> list[Any]:
    async with engine.connect() as conn:
        query = select(table).where(*where)
        if order_by is not None:
            query = query.order_by(order_by)
        return list((await conn.execute(query)).all())


async def audit_rows(engine: AsyncEngine, **where: Any) -> list[Any]:
    return await fetch(engine, audit_log, *[audit_log.c[k] == v for k, v in where.items()], order_by=audit_log.c.seq)


async def events(engine: AsyncEngine, **where: Any) -> list[Any]:
    return await fetch(engine, outbox_events, *[outbox_events.c[k] == v for k, v in where.items()],
                       order_by=outbox_events.c.seq)


async def row_counts(engine: AsyncEngine) -> dict[str, int]:
    """Rows per written table: compare before and after a failed request to show it wrote nothing."""
    from sales.core.tables import idempotency_keys
    from sales.directory.models import rm_leaves, rm_localities, rms, teams
    from sales.pipelines.models import pipeline_stage_history, sales_pipelines

    tables = (audit_log, outbox_events, idempotency_keys, teams, rms, rm_localities, rm_leaves, sales_pipelines,
              pipeline_stage_history)
    return {t.name: await count(engine, t) for t in tables}


def exact_json(response: httpx.Response) -> Any:
    """The body with JSON numbers as Decimal, so money is compared exactly (never through float)."""
    import json
    from decimal import Decimal

    return json.loads(response.text, parse_float=Decimal)
