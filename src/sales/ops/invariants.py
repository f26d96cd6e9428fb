"""What must hold in any database the service left behind - after a crash, a failover or a restore.

Each check returns a list of problems (empty: it holds). `sales ops restore-drill` runs them on the restored
cluster; the crash-safety test runs them after its restart, next to its own per-request checks.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.audit_chain import verify
from sales.core.tables import outbox_events as o
from sales.models import metadata


async def row_counts(conn: AsyncConnection) -> dict[str, int]:
    """Rows per table of the service's schema."""
    counts = {}
    for table in sorted(metadata.sorted_tables, key=lambda t: t.name):
        counts[table.name] = int((await conn.execute(select(func.count()).select_from(table))).scalar_one())
    return counts


async def outbox_problems(conn: AsyncConnection) -> list[str]:
    """The outbox is whole and in order: every row's envelope is its own event, commit positions (`pos`) are
    unique, every relayed event has one, and per aggregate the positions follow the write order (`seq`): the
    order consumers see is the order the aggregate changed in."""
    problems: list[str] = []
    rows = (await conn.execute(select(o.c.seq, o.c.id, o.c.subject, o.c.type, o.c.pos, o.c.published_at,
                                      o.c.envelope).order_by(o.c.seq))).all()
    positions: dict[int, int] = {}
    per_subject: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        envelope = row.envelope or {}
        if str(envelope.get("id")) != str(row.id) or envelope.get("type") != row.type:
            problems.append(f"outbox seq {row.seq}: envelope does not match its row (half-written event)")
        if row.published_at is not None and row.pos is None:
            problems.append(f"outbox seq {row.seq}: published without a commit position")
        if row.pos is not None:
            if row.pos in positions:
                problems.append(f"outbox seq {row.seq}: position {row.pos} also held by seq {positions[row.pos]}")
            positions[row.pos] = row.seq
            per_subject[row.subject].append(row)
    for subject, events in per_subject.items():
        by_pos = [r.seq for r in sorted(events, key=lambda r: r.pos)]
        if by_pos != [r.seq for r in events]:
            problems.append(f"outbox: events of aggregate {subject} are positioned out of write order")
    return problems


async def audit_problems(conn: AsyncConnection) -> list[str]:
    """`sales audit verify`'s findings (edited, inserted or deleted audit rows)."""
    report = await verify(conn)
    return [str(finding) for finding in report.findings]
