"""Tamper evidence for the audit trail (issue 20, PRD §8.5): hash chains, one per partition.

Each audit row carries its partition, its position in that partition's chain, the hash of the row before it and
its own hash over its content and that previous hash. A partition's head (`audit_chain`: length and last hash)
is updated in the same transaction as the row, so an edited row breaks its own hash, an inserted or deleted row
breaks the positions or the links, and a deleted tail no longer reaches the head.

Writers of one partition are serialized by the head row (its lock is held until commit: on PostgreSQL the statement
that chains the rows locks it and computes the positions and hashes itself; on SQLite every writer already holds
the database's write lock, and an `UPDATE ... RETURNING` gives the positions). To keep writes concurrent a
transaction picks its partition from the first entity it audits and puts all its rows there: it never waits
for two heads, so audit writers cannot deadlock each other.

Pure functions (no I/O) except `append`, `deferred` and `verify`, which take a connection.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import itertools
import json
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable, Hashable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import (Text, bindparam, cast, exists, func, literal, literal_column, select, union_all,
                        update)
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core import outbox
from sales.core.db import insert_unless_exists
from sales.core.direct import Direct
from sales.core.tables import audit_chain, audit_log

PARTITIONS = 64
GENESIS = "0" * 64
CHAINED = ("id", "at", "actor_id", "actor_roles", "action", "entity_type", "entity_id", "before", "after",
           "request_id")


def partition_of(entity_type: str, entity_id: str) -> int:
    digest = hashlib.sha256(f"{entity_type}:{entity_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % PARTITIONS


def row_hash(row: dict[str, Any], *, partition: int, position: int, previous: str) -> str:
    """sha256 over the previous hash, a newline and the row's content in a canonical form that reads the same
    before it is stored and after it is read back from either database (sorted keys, numbers normalized); on
    PostgreSQL the database computes it as it writes the row (`_chain_statement`), from `around_position`."""
    before, after = around_position(row, partition=partition)
    return hashlib.sha256(f"{previous}\n{before}{position}{after}".encode()).hexdigest()


def around_position(row: dict[str, Any], *, partition: int) -> tuple[str, str]:
    """The row's canonical text (its CHAINED content, its partition and its position, a JSON object with sorted
    keys) but for its position's digits: the text before them and the text after them."""
    content = sorted([*((name, row[name]) for name in CHAINED), ("partition", partition)])
    before = "".join(f"{_json_string(name)}:{_canonical(value)}," for name, value in content if name < "position")
    after = "".join(f",{_json_string(name)}:{_canonical(value)}" for name, value in content if name > "position")
    return "{" + before + '"position":', after + "}"


def _canonical(value: Any) -> str:
    # The common kinds first, each spelled as the general branches below spell it (issue 19: two audit rows cost
    # ~0.2 ms per allocation here): a str as json.dumps(value, ensure_ascii=False) writes it, an int that a Decimal
    # holds exactly as its normalized digits.
    if isinstance(value, str):
        return _json_string(value)
    kind = type(value)
    if kind is int and -_EXACT_INT < value < _EXACT_INT:
        return str(value)
    if kind is dict:
        return _canonical_dict(value)
    if value is None or kind is bool:
        return "null" if value is None else "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value)).normalize()
        return format(number, "f") if number == number.to_integral_value() else str(number)
    if isinstance(value, UUID):
        return _json_string(str(value))
    if isinstance(value, datetime):
        return _json_string(value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    if isinstance(value, list | tuple):
        return "[" + ",".join(_canonical(item) for item in value) + "]"
    if isinstance(value, dict):
        return _canonical_dict(value)
    raise TypeError(f"cannot chain a {type(value).__name__}")


def _canonical_dict(value: dict[Any, Any]) -> str:
    items = sorted((str(key), item) for key, item in value.items())
    return "{" + ",".join(f"{_json_string(key)}:{_canonical(item)}" for key, item in items) + "}"


_json_string = json.encoder.encode_basestring  # type: ignore[attr-defined]  # json.dumps(s, ensure_ascii=False)
_EXACT_INT = 10 ** 18  # far below the 28 digits a Decimal normalizes without rounding


# --- writing ------------------------------------------------------------------------------------

_TRANSACTION_PARTITION = "audit_chain_partition"


def _partition_for(conn: AsyncConnection, entity_type: str, entity_id: str) -> int:
    """The transaction's partition: chosen by its first audited entity, kept for all its rows."""
    transaction = conn.sync_connection.get_transaction() if conn.sync_connection else None
    kept = conn.info.get(_TRANSACTION_PARTITION)
    if kept is not None and kept[0] is transaction:
        return int(kept[1])
    partition = partition_of(entity_type, entity_id)
    conn.info[_TRANSACTION_PARTITION] = (transaction, partition)
    return partition


async def append(conn: AsyncConnection, values: dict[str, Any]) -> None:
    """Insert one audit row at the head of its transaction's partition chain (inside `deferred(conn)`: at the end of
    the block)."""
    partition = _partition_for(conn, values["entity_type"], values["entity_id"])
    pending = conn.info.get(_DEFERRED)
    if pending is not None:
        pending.append((partition, values))
        return
    if conn.dialect.name == "postgresql":
        await _write_chained(conn, partition, [values])
    else:
        await _chain_rows(conn, partition, [values], await _take_positions(conn, partition, 1))


_DEFERRED = "sales.audit.deferred"
_RIDERS = "sales.audit.riders"


@dataclass(frozen=True)
class Rider:
    """An `INSERT ... RETURNING` that goes with a `deferred(conn, with_events=True)` block's audit rows on
    PostgreSQL (a data-modifying CTE of their statement: one round trip fewer), for a write whose outcome nothing
    in the block reads. `build(prefix)` makes its statement (built once per `key`) with its parameters named
    `<prefix><name>`; `params` are its values by unprefixed name; `events` (`outbox.row()`s) are written after the
    block's own, in the same statement, if it inserted its row."""
    key: Hashable
    build: Callable[[str], Any]
    params: dict[str, Any]
    events: Sequence[dict[str, Any]] = ()


def ride(conn: AsyncConnection, rider: Rider) -> bool:
    """Have `rider` written with the open block's audit rows; False when no block on PostgreSQL takes riders
    (the caller writes it itself, now)."""
    riders = conn.info.get(_RIDERS)
    if riders is None:
        return False
    riders.append(rider)
    return True


@asynccontextmanager
async def deferred(conn: AsyncConnection, *, with_events: bool = False) -> AsyncIterator[None]:
    """Keep the audit rows recorded on `conn` inside the block and chain them at its end, in recording order
    (issue 19): on PostgreSQL in one statement that takes the head's lock, hashes the rows and writes them and the
    new head; on SQLite one head advance for all of them, then their rows and the new head. The same rows,
    positions and hashes as appending each at once; the head's lock is taken at the end of the block instead of at
    its first row. Nothing is written when the block raises (its transaction or savepoint is rolled back by the
    caller). Nested blocks join the outermost one.

    `with_events`: the outbox events recorded in the block are kept as well (`outbox.collecting`) and written in
    the rows' statement on PostgreSQL, one round trip fewer (in their own INSERT when no audit row was recorded,
    or on SQLite); and on PostgreSQL the block takes `Rider`s, written in that statement too."""
    if conn.info.get(_DEFERRED) is not None:
        async with outbox.deferred(conn) if with_events else contextlib.nullcontext():
            yield
        return
    pending: list[tuple[int, dict[str, Any]]] = []
    riders: list[Rider] = []
    conn.info[_DEFERRED] = pending
    if with_events and conn.dialect.name == "postgresql":
        conn.info[_RIDERS] = riders
    try:
        async with outbox.collecting(conn) if with_events else contextlib.nullcontext() as collected:
            yield
    finally:
        conn.info.pop(_DEFERRED, None)
        conn.info.pop(_RIDERS, None)
    # A transaction's rows share its partition; consecutive runs per partition keep this general.
    runs = [(partition, [values for _, values in run])
            for partition, run in itertools.groupby(pending, key=lambda item: item[0])]
    events: Sequence[dict[str, Any]] = collected or []
    if conn.dialect.name == "postgresql":
        if riders and not runs:
            await _write_chained(conn, None, [], events=events, riders=riders)
        elif not runs:
            await outbox.write_rows(conn, events)
        for partition, rows in runs:
            await _write_chained(conn, partition, rows, events=events, riders=riders)
            events, riders = [], []
        return
    heads = [await _take_positions(conn, partition, len(rows)) for partition, rows in runs]
    if not runs:
        await outbox.write_rows(conn, events)
    for (partition, rows), head in zip(runs, heads):
        await _chain_rows(conn, partition, rows, head, events=events)
        events = []


async def _write_chained(conn: AsyncConnection, partition: int | None, rows: list[dict[str, Any]], *,
                         events: Sequence[dict[str, Any]] = (), riders: Sequence[Rider] = ()) -> None:
    """PostgreSQL: `rows` chained in order at the head of `partition`, `events` and `riders` in one statement
    (`_chain_statement`)."""
    params: dict[str, Any] = {"head_partition": partition, **outbox.rows_params(events)}
    for i, values in enumerate(rows):
        before, after = around_position(_as_stored(values), partition=partition)  # type: ignore[arg-type]
        params.update({f"a{i}_{name}": values[name] for name in _BOUND})
        params.update({f"a{i}_before_position": before, f"a{i}_after_position": after})
    for i, rider in enumerate(riders):
        params.update({f"r{i}_{name}": value for name, value in rider.params.items()})
        params.update(outbox.rows_params(rider.events, prefix=f"r{i}_"))
    chained = (await _chain_statement(len(rows), len(events), riders).one(conn, params)).chained
    if rows and not chained:  # a partition never written before: its head, then the rows alone
        await conn.execute(insert_unless_exists(conn, audit_chain, audit_chain.c.partition).values(
            partition=partition, length=0, head_hash=GENESIS))
        await _write_chained(conn, partition, rows)


# The audit columns bound per row on PostgreSQL; the database gives the partition, the position and the hashes.
_BOUND = tuple(sorted(CHAINED))
_HEAD_PARTITION = bindparam("head_partition", type_=audit_chain.c.partition.type)
_CHAINING: OrderedDict[tuple[Any, ...], Direct] = OrderedDict()  # the 64 shapes used last


def _chain_statement(count: int, events: int, riders: Sequence[Rider]) -> Direct:
    """Built once per shape (rows, events, riders' keys and events): the head of `head_partition` locked; each
    row's position, previous hash and hash (`row_hash` in SQL, over the text Python wrote around the position:
    `around_position`); the rows and the new head written; the events, then each rider's INSERT and its events if
    it inserted its row. It gives one value: whether the rows were chained (False when the partition has no head
    yet: nothing of the rows was written)."""
    key = (count, events, tuple((rider.key, len(rider.events)) for rider in riders))
    statement = _CHAINING.get(key)
    if statement is not None:
        _CHAINING.move_to_end(key)
        return statement
    if len(_CHAINING) >= 64:
        _CHAINING.popitem(last=False)
    ctes = []
    chained: Any = literal(True)
    if count:
        head = (select(audit_chain.c.length, audit_chain.c.head_hash)
                .where(audit_chain.c.partition == _HEAD_PARTITION).with_for_update().cte("audit_head"))
        links, position, previous = [], head.c.length + 1, head.c.head_hash
        for i in range(count):
            link = select(position.label("position"), previous.label("prev_hash"),
                          _sql_hash(previous, position, i).label("hash")).cte(f"link{i}")
            links.append(link)
            position, previous = link.c.position + 1, link.c.hash
        rows = [select(*(bindparam(f"a{i}_{name}", type_=audit_log.c[name].type) for name in _BOUND),
                       _HEAD_PARTITION, link.c.position, link.c.prev_hash, link.c.hash) for i, link in enumerate(links)]
        ctes.append(audit_log.insert().from_select([*_BOUND, "partition", "chain_pos", "prev_hash", "hash"],
                                                   rows[0] if count == 1 else union_all(*rows)).cte("audited"))
        advanced = (update(audit_chain).where(audit_chain.c.partition == _HEAD_PARTITION)
                    .values(length=select(head.c.length).scalar_subquery() + count,
                            head_hash=select(links[-1].c.hash).scalar_subquery())
                    .returning(audit_chain.c.partition).cte("advanced"))
        chained = exists(select(advanced))
    inserted = [rider.build(f"r{i}_").cte(f"rider{i}") for i, rider in enumerate(riders)]
    selects = outbox.row_selects(events) + [
        row.where(exists(select(inserted[i]))) for i, rider in enumerate(riders)
        for row in outbox.row_selects(len(rider.events), prefix=f"r{i}_")]
    if selects:
        ctes.append(outbox.insert_selected(selects).cte("events"))
    statement = _CHAINING[key] = Direct(select(chained.label("chained"))
                                        .add_cte(*ctes, *inserted))
    return statement


def _sql_hash(previous: Any, position: Any, row: int) -> Any:
    """`row_hash` in SQL: the hex sha256 of the previous hash, a newline and the row's canonical text."""
    text_ = (previous + literal_column("chr(10)", Text) + bindparam(f"a{row}_before_position", type_=Text)
             + cast(position, Text) + bindparam(f"a{row}_after_position", type_=Text))
    return func.encode(func.sha256(func.convert_to(text_, literal_column("'UTF8'"))), literal_column("'hex'"))


async def _take_positions(conn: AsyncConnection, partition: int, count: int) -> tuple[int, str]:
    """SQLite: advance the partition's head by `count` (creating it for its first row): its new length and the hash
    of the row before the first taken."""
    head = await _advance(conn, partition, count)
    if head is None:  # a partition never written before
        await conn.execute(insert_unless_exists(conn, audit_chain, audit_chain.c.partition).values(
            partition=partition, length=0, head_hash=GENESIS))
        head = await _advance(conn, partition, count)
        assert head is not None
    return head


async def _chain_rows(conn: AsyncConnection, partition: int, rows: list[dict[str, Any]], head: tuple[int, str], *,
                      events: Sequence[dict[str, Any]] = ()) -> None:
    """SQLite: write `rows` at the positions `_take_positions` took, each hashed over the one before it, and the
    new head; `events` (`outbox.row()`s) after them."""
    last, previous = head
    chained = []
    for position, values in enumerate(rows, start=last - len(rows) + 1):
        digest = row_hash(_as_stored(values), partition=partition, position=position, previous=previous)
        chained.append({**values, "partition": partition, "chain_pos": position, "prev_hash": previous,
                        "hash": digest})
        previous = digest
    if any(set(row) != _ROW_KEYS for row in chained):  # never so from core.audit.record; kept general
        for row in chained:
            await conn.execute(audit_log.insert().values(**row))
    else:
        params = {f"a{i}_{name}": value for i, row in enumerate(chained) for name, value in row.items()}
        await conn.execute(_insert_rows(len(chained)), params)
    await conn.execute(update(audit_chain).where(audit_chain.c.partition == partition).values(head_hash=previous))
    await outbox.write_rows(conn, events)


# Built once (issue 19: no per-request statement construction).
_ROW_KEYS = {"id", "at", "actor_id", "actor_roles", "action", "entity_type", "entity_id", "before", "after",
             "request_id", "partition", "chain_pos", "prev_hash", "hash"}


@functools.lru_cache(maxsize=16)
def _insert_rows(count: int) -> Any:
    """INSERT of `count` rows from the bound parameters `a<i>_<column>`, in order (`seq` follows it): one SELECT per
    row joined by UNION ALL (a multi-row VALUES is never cached by SQLAlchemy). Built once per count."""
    columns = sorted(_ROW_KEYS)
    selects = [select(*(bindparam(f"a{i}_{name}", type_=audit_log.c[name].type) for name in columns))
               for i in range(count)]
    return audit_log.insert().from_select(columns, selects[0] if count == 1 else union_all(*selects))


_ADVANCE = update(audit_chain).where(audit_chain.c.partition == _HEAD_PARTITION).values(
    length=audit_chain.c.length + bindparam("advance_by", type_=audit_chain.c.length.type)).returning(
    audit_chain.c.length, audit_chain.c.head_hash)


async def _advance(conn: AsyncConnection, partition: int, rows: int) -> tuple[int, str] | None:
    """Take the partition's next `rows` positions (and its lock until commit): the last of them and the hash of the
    row before the first."""
    row = (await conn.execute(_ADVANCE, {"head_partition": partition, "advance_by": rows})).first()
    return (int(row.length), str(row.head_hash)) if row else None


def _as_stored(values: dict[str, Any]) -> dict[str, Any]:
    """The JSON columns as the database will give them back (its JSON codec's round trip)."""
    from sales.core.db import JSON_CODEC

    encode, decode = JSON_CODEC["json_serializer"], JSON_CODEC["json_deserializer"]
    return {**values, **{name: None if values[name] is None else decode(encode(values[name]))
                         for name in ("actor_roles", "before", "after")}}


async def reseal(conn: AsyncConnection, partition: int, from_position: int) -> tuple[str, str]:
    """Re-link a partition's chain from `from_position` to its head after rows there were redacted on purpose
    (`sales customers erase`: personal data leaves the snapshots). Holds the head's lock like a writer; returns the
    head hash before and after, which the caller records in its own audit row so the re-sealing is itself on the
    trail. Never call it for anything but a recorded redaction."""
    head = (await conn.execute(update(audit_chain).where(audit_chain.c.partition == partition)
                               .values(length=audit_chain.c.length)
                               .returning(audit_chain.c.head_hash))).first()
    if head is None:
        raise ValueError(f"audit partition {partition} has no chain")
    rows = (await conn.execute(select(audit_log).where(audit_log.c.partition == partition,
                                                       audit_log.c.chain_pos >= from_position)
                               .order_by(audit_log.c.chain_pos, audit_log.c.seq))).mappings().all()
    previous = str(rows[0]["prev_hash"]) if rows else str(head.head_hash)
    for row in rows:
        digest = row_hash(dict(row), partition=partition, position=int(row["chain_pos"]), previous=previous)
        if (row["prev_hash"], row["hash"]) != (previous, digest):
            await conn.execute(update(audit_log).where(audit_log.c.seq == row["seq"])
                               .values(prev_hash=previous, hash=digest))
        previous = digest
    await conn.execute(update(audit_chain).where(audit_chain.c.partition == partition).values(head_hash=previous))
    return str(head.head_hash), previous


# --- verifying ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Finding:
    partition: int | None
    position: int | None
    seq: int | None
    problem: str

    def __str__(self) -> str:
        where = f"partition {self.partition}" if self.partition is not None else "no partition"
        at = f", position {self.position}" if self.position is not None else ""
        row = f" (audit row seq {self.seq})" if self.seq is not None else ""
        return f"{where}{at}{row}: {self.problem}"


@dataclass
class Report:
    rows: int
    partitions: int
    findings: list[Finding]

    @property
    def intact(self) -> bool:
        return not self.findings


async def verify(conn: AsyncConnection) -> Report:
    """Walk every chain: each row's hash, its link to the row before, contiguous positions, and the head."""
    findings: list[Finding] = []
    heads = {int(r.partition): r for r in (await conn.execute(select(audit_chain))).all()}
    unchained = (await conn.execute(select(audit_log.c.seq).where(audit_log.c.partition.is_(None))
                                    .order_by(audit_log.c.seq))).scalars().all()
    findings += [Finding(None, None, seq, "row outside every chain (inserted around the audit writer)")
                 for seq in unchained]
    total = len(unchained)
    partitions = sorted(set(heads) | set((await conn.execute(
        select(audit_log.c.partition).where(audit_log.c.partition.is_not(None)).distinct())).scalars().all()))
    for partition in partitions:
        rows = (await conn.execute(select(audit_log).where(audit_log.c.partition == partition)
                                   .order_by(audit_log.c.chain_pos, audit_log.c.seq))).mappings().all()
        total += len(rows)
        findings += list(_check_chain(partition, [dict(r) for r in rows], heads.get(partition)))
    return Report(rows=total, partitions=len(partitions), findings=findings)


def _check_chain(partition: int, rows: list[dict[str, Any]], head: Any) -> Iterator[Finding]:
    """From the chain's archived anchor (position 0 and the genesis hash while nothing is archived: the
    `archive` job moves a chain's start out with its last hash, sales.retention.archive) to its head."""
    archived, previous = (int(head.archived_length), str(head.archived_hash)) if head is not None else (0, GENESIS)
    expected_position = archived + 1
    for row in rows:
        position, seq = int(row["chain_pos"]), int(row["seq"])
        if position < expected_position:
            yield Finding(partition, position, seq, "a row at an archived position (inserted)" if position <= archived
                          else "a second row at this position (inserted)")
            continue
        if position > expected_position:
            missing = f"position {expected_position}" if position == expected_position + 1 else \
                f"positions {expected_position}..{position - 1}"
            yield Finding(partition, position, seq, f"{missing} missing before this row (deleted)")
        if row["prev_hash"] != previous:
            yield Finding(partition, position, seq, "does not link to the row before it (a row before it was "
                                                    "deleted, inserted or edited)")
        recomputed = row_hash(row, partition=partition, position=position, previous=row["prev_hash"])
        if recomputed != row["hash"]:
            yield Finding(partition, position, seq, "content does not match its hash (edited)")
        expected_position, previous = position + 1, row["hash"]
    length, head_hash = (int(head.length), str(head.head_hash)) if head is not None else (0, GENESIS)
    if expected_position - 1 != length or previous != head_hash:
        yield Finding(partition, expected_position - 1 or None, None,
                      f"the chain ends at position {expected_position - 1} but its head records {length} rows "
                      "(rows at the end deleted, or the head edited)")
