"""The only place notification SQL lives."""
from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.db import bound_values, insert_for, is_postgres
from sales.core.direct import Direct
from sales.notifications.models import notifications


async def insert_if_new(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    """Store the decision unless its dedupe key is already taken; True when this call stored it."""
    return await _insert_if_new(is_postgres(conn), tuple(values)).first(conn, values) is not None


@functools.lru_cache(maxsize=16)
def _insert_if_new(postgres: bool, columns: tuple[str, ...]) -> Direct:
    """Built once per database kind and set of columns (issue 19); the values bound by column name."""
    return Direct(insert_if_new_statement(postgres, columns))


def insert_if_new_statement(postgres: bool, columns: tuple[str, ...], prefix: str = "") -> Any:
    """`insert_if_new`'s INSERT, RETURNING the id it stored (none when the dedupe key was taken): `columns` bound as
    `<prefix><column>`, for a statement built once that holds it."""
    n = notifications
    return (insert_for(postgres, n).values(bound_values(n, columns, prefix))
            .on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(n.c.id))


async def by_dedupe_key(conn: AsyncConnection, dedupe_key: str) -> Any:
    return (await conn.execute(select(notifications).where(notifications.c.dedupe_key == dedupe_key))).first()


async def sent_to(conn: AsyncConnection, recipient_id: Any, *, limit: int) -> list[Any]:
    """The messages asked for one recipient (sent or suppressed), newest first."""
    query = (select(notifications).where(notifications.c.recipient_id == recipient_id)
             .order_by(notifications.c.created_at.desc(), notifications.c.id.desc()).limit(limit))
    return list((await conn.execute(query)).all())
