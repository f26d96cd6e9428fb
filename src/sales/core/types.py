"""Column types kept identical on SQLite and PostgreSQL: dialect differences live here only."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Integer, Numeric, Uuid, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator

UUIDType = Uuid(as_uuid=True)
JSONType = JSON().with_variant(JSONB(), "postgresql")
# SQLite only auto-increments an INTEGER PRIMARY KEY.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are stored in UTC and always come back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class MoneyType(TypeDecorator[Decimal]):
    """NUMERIC(14,2). On SQLite the value is stored as REAL and re-quantized to two places on read."""

    impl = Numeric(14, 2, asdecimal=True)
    cache_ok = True

    def process_result_value(self, value: Any, dialect: Any) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(Decimal("0.01"))


Money = MoneyType()


_PLAIN_ON_POSTGRES = {UTCDateTime: DateTime(timezone=True), MoneyType: Numeric(14, 2, asdecimal=True)}


def plain_on_postgres(column: Any) -> Any:
    """The column for a hot PostgreSQL read (issue 19): asyncpg already returns what UTCDateTime and Money make of a
    value elsewhere (timestamptz as an aware UTC datetime, NUMERIC(14,2) as a Decimal with its two places), so a
    UTCDateTime or Money column is read as its plain type and skips SQLAlchemy's per-value result processing. The
    SQL is unchanged (type_coerce renders no CAST). Not for SQLite, whose values need the processing."""
    plain = _PLAIN_ON_POSTGRES.get(type(column.type))
    return column if plain is None else type_coerce(column, plain).label(column.name)
