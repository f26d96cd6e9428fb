"""`sales keys rotate` (issue 20): every sealed value re-encrypted under the active key, while the service runs.

Each sealed column (`core.sealed.sealed_columns`) is walked once in primary-key order, in batches of its own
short transaction. A value already under the active key is skipped by the query; any other is opened with the
key ring and written back with a conditional UPDATE (`... WHERE key = :key AND column = :seen`): a value the
service changed meanwhile is left to the service (its write is already under the active key) and counted as
`changed`. Running it again finds nothing to do (idempotent).

Every process must run with the new SALES_PII_KEYS / SALES_PII_ACTIVE_KEY before a rotation starts, otherwise a
process still sealing under the old key writes values a later run rotates again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag
from sqlalchemy import Column, and_, column, literal, not_, select, table, tuple_, update
from sqlalchemy.ext.asyncio import AsyncEngine

from sales.core import audit
from sales.core.clock import business_now
from sales.core.db import unit_of_work
from sales.core.pii import DEFAULT_KEY_ID, PiiCipher, UnknownKey
from sales.core.sealed import sealed_columns
from sales.models import metadata

BATCH = 500


@dataclass
class ColumnCount:
    rotated: int = 0
    changed: int = 0  # rewritten by the service between our read and our write: left as the service wrote it


@dataclass
class RotationReport:
    active_key: str
    columns: dict[str, ColumnCount] = field(default_factory=dict)  # "table.column" -> counts

    def per_table(self) -> dict[str, dict[str, int]]:
        tables: dict[str, dict[str, int]] = {}
        for name, count in self.columns.items():
            totals = tables.setdefault(name.split(".")[0], {"rotated": 0, "changed": 0})
            totals["rotated"] += count.rotated
            totals["changed"] += count.changed
        return tables

    @property
    def rotated(self) -> int:
        return sum(c.rotated for c in self.columns.values())


async def rotate(engine: AsyncEngine, aead: PiiCipher, *, batch: int = BATCH, frozen_allowed: bool) -> RotationReport:
    report = RotationReport(active_key=aead.active)
    for sealed in sealed_columns(metadata):
        report.columns[f"{sealed.table.name}.{sealed.name}"] = await _rotate_column(engine, aead, sealed, batch)
    async with unit_of_work(engine) as conn:
        now = await business_now(conn, frozen_allowed=frozen_allowed)
        await audit.record(conn, None, action="pii.keys_rotated", entity_type="pii_key", entity_id=aead.active,
                           at=now, after={"active_key": aead.active, "tables": report.per_table()})
    return report


class RotationError(RuntimeError):
    """A stored value that the configured key ring cannot open: nothing after it is rotated."""


def _reseal(aead: PiiCipher, seen: str, sealed: Column[Any], key: list[Any]) -> str:
    where = f"{sealed.table.name}.{sealed.name} (row {', '.join(str(k) for k in key)})"
    try:
        return aead.reseal(seen)
    except UnknownKey as exc:
        raise RotationError(f"{where}: {exc}") from None
    except InvalidTag:
        kid = seen.partition(":")[0] if ":" in seen else DEFAULT_KEY_ID
        raise RotationError(f"{where}: the value does not open with key {kid!r} (a different key under that id)") \
            from None


async def _rotate_column(engine: AsyncEngine, aead: PiiCipher, sealed: Column[Any], batch: int) -> ColumnCount:
    keys = list(sealed.table.primary_key.columns)
    raw = table(sealed.table.name, *(column(k.name, k.type) for k in keys), column(sealed.name))
    key_columns = [raw.c[k.name] for k in keys]
    value = raw.c[sealed.name]
    position = tuple_(*key_columns) if len(key_columns) > 1 else key_columns[0]
    count, last = ColumnCount(), None
    while True:
        query = select(*key_columns, value).where(value.is_not(None), not_(value.startswith(f"{aead.active}:", autoescape=True)))
        if last is not None:
            bound = [literal(v, c.type) for c, v in zip(key_columns, last, strict=True)]
            query = query.where(position > (tuple_(*bound) if len(bound) > 1 else bound[0]))
        async with unit_of_work(engine) as conn:
            rows = (await conn.execute(query.order_by(*key_columns).limit(batch))).all()
            for row in rows:
                *key, seen = row
                match = and_(*(c == v for c, v in zip(key_columns, key, strict=True)), value == seen)
                result = await conn.execute(update(raw).where(match).values({sealed.name: _reseal(aead, seen, sealed,
                                                                                                 key)}))
                if result.rowcount:
                    count.rotated += 1
                else:
                    count.changed += 1
        if len(rows) < batch:
            return count
        last = tuple(rows[-1][:len(key_columns)])
