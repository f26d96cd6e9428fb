"""Column types that keep customer PII sealed at rest (issue 20, PRD §8.4 "AES-256 at rest").

`SealedText` and `SealedJSON` encrypt on the way in and decrypt on the way out with the process-wide key ring
(`core.pii.cipher()`), so repositories read and write plain values. A sealed column is never compared in SQL
(each value has its own nonce): filter on ids, never on its content.

Columns sealed by their repository instead (the leads' customer contacts, the inbox's envelopes, idempotent
responses) are marked `info={"sealed": True}`. `sealed_columns()` lists both kinds: what `sales keys rotate`
re-encrypts.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import Column, MetaData, Text
from sqlalchemy.types import TypeDecorator

from sales.core.pii import cipher


class SealedText(TypeDecorator[str]):
    """Text sealed with AES-256-GCM; stored as `<key id>:<base64>`."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Any) -> str | None:
        return cipher().encrypt(value)

    def process_result_value(self, value: str | None, dialect: Any) -> str | None:
        return cipher().decrypt(value)


class SealedJSON(TypeDecorator[Any]):
    """A JSON document sealed as one text (numbers keep their Decimal places, as the JSON columns' codec)."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        from sales.core.db import JSON_CODEC

        return None if value is None else cipher().encrypt(JSON_CODEC["json_serializer"](value))

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        from sales.core.db import JSON_CODEC

        return None if value is None else JSON_CODEC["json_deserializer"](cipher().decrypt(value))


def is_sealed(column: Column[Any]) -> bool:
    return isinstance(column.type, SealedText | SealedJSON) or bool(column.info.get("sealed"))


def sealed_columns(metadata: MetaData) -> list[Column[Any]]:
    """Every column holding cipher output, table by table in a stable order."""
    return [column for table in sorted(metadata.tables.values(), key=lambda t: t.name)
            for column in table.columns if is_sealed(column)]
