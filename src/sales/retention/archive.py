"""The `archive` job's mechanism: move expired rows (sales.retention.schedule) to gzip JSON-lines files.

One run is one transaction (the job's unit of work) and one directory, `SALES_ARCHIVE_DIR/<UTC time>-<run id>/`,
holding `<table>.jsonl.gz` per table it moved rows of (at most `batch_size` rows per table and run) and
`manifest.json`. Per table it proves the count - rows selected = rows written (read back from the file) = rows
deleted - and records the file's sha256 in `archive_manifests`, inserted in the same transaction as the deletes.
Any mismatch raises: the transaction rolls back and the run's directory is removed, so nothing moved.

Crash safety: files are written (fsync, rename) before the transaction commits, and a run directory counts only
if its run id has manifest rows. A crash before the commit leaves the rows in place and a directory without
manifests; the next run (runs are serialized: an advisory lock on PostgreSQL, the write lock on SQLite) deletes
such directories before it starts. So no row is lost (deleted only with a durable file and its manifest) and
none is duplicated (a file of a run that did not commit is removed; a committed run's rows are gone).

Audit rows leave per hash-chain partition from the chain's start only, after re-checking each row's link and
hash; the partition's head keeps the last archived position and hash (`archived_length`, `archived_hash`), from
where `sales audit verify` checks the rows that remain.
"""
from __future__ import annotations

import asyncio
import gzip
import hashlib
import os
import re
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Table, delete, exists, func, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core import audit
from sales.core.audit_chain import row_hash
from sales.core.db import is_postgres
from sales.core.http import dumps
from sales.core.tables import audit_chain, audit_log
from sales.models import metadata
from sales.retention.models import archive_manifests
from sales.retention.schedule import Retention, archived_in_order

RUN_DIR = re.compile(r"^\d{8}T\d{6}Z-(?P<run>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$")
LOCK_KEY = 0x5A1E5_A4C  # pg_try_advisory_xact_lock: one archive run at a time
_CHUNK = 500


class ArchiveMismatch(RuntimeError):
    """Rows selected, written and deleted differ: the run is rolled back."""


@dataclass(frozen=True)
class Written:
    path: Path
    rows: int
    bytes: int
    sha256: str


async def run(conn: AsyncConnection, now: datetime, *, directory: Path, batch_size: int) -> dict[str, Any]:
    if is_postgres(conn) and not (await conn.execute(text("SELECT pg_try_advisory_xact_lock(:k)"),
                                                     {"k": LOCK_KEY})).scalar():
        return {"processed": 0, "skipped": "another archive run is in progress"}
    orphans = await _remove_orphans(conn, directory)
    run_id = uuid.uuid4()
    run_dir = directory / f"{now.strftime('%Y%m%dT%H%M%SZ')}-{run_id}"
    moved: dict[str, int] = {}
    entries: list[dict[str, Any]] = []
    refused: list[int] = []
    try:
        for table, entry in archived_in_order():
            assert entry.keep is not None
            cutoff = now - entry.keep
            if table is audit_log:
                rows, anchors, refused = await _audit_prefixes(conn, cutoff, batch_size)
            else:
                rows, anchors = await _expired(conn, table, entry, cutoff, batch_size), {}
            if not rows:
                continue
            written = await asyncio.to_thread(_write, run_dir, table.name, rows)
            deleted = await _delete(conn, table, entry, cutoff, rows)
            if not len(rows) == written.rows == deleted:
                raise ArchiveMismatch(f"{table.name}: selected {len(rows)}, written {written.rows}, deleted {deleted}")
            await _move_anchors(conn, anchors)
            manifest = dict(id=uuid.uuid4(), run_id=run_id, table_name=table.name,
                            path=str(written.path.relative_to(directory)), rows_selected=len(rows),
                            rows_written=written.rows, rows_deleted=deleted, bytes=written.bytes,
                            sha256=written.sha256, cutoff=cutoff, created_at=now)
            await conn.execute(archive_manifests.insert().values(**manifest))
            entries.append(manifest)
            moved[table.name] = len(rows)
        if entries:
            await asyncio.to_thread(_write_manifest, run_dir, run_id, now, entries)
            await audit.record(conn, None, action="retention.archived", entity_type="archive_run", entity_id=run_id,
                               at=now, after={"tables": moved, "directory": run_dir.name})
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise
    result: dict[str, Any] = {"processed": sum(moved.values()), "tables": moved, "orphans_removed": orphans,
                              "run_id": str(run_id) if entries else None,
                              "directory": str(run_dir) if entries else None}
    if refused:
        result["audit_partitions_refused"] = refused  # a broken chain is never archived: `sales audit verify`
    return result


# --- selecting ---------------------------------------------------------------------------------------------

def _unreferenced(table: Table) -> list[ColumnElement[bool]]:
    """No row of any table (this one included) refers to the row by a foreign key."""
    conditions = []
    for other in metadata.tables.values():
        for fk in other.foreign_keys:
            if fk.column.table is table:
                referrer = other.alias() if other is table else other
                conditions.append(~exists().where(referrer.c[fk.parent.name] == table.c[fk.column.name]))
    return conditions


def _expiry(table: Table, entry: Retention, cutoff: datetime) -> list[ColumnElement[bool]]:
    assert entry.column is not None
    return [table.c[entry.column] < cutoff, *entry.condition(table), *_unreferenced(table)]


async def _expired(conn: AsyncConnection, table: Table, entry: Retention, cutoff: datetime,
                   limit: int) -> list[dict[str, Any]]:
    query = select(table).where(*_expiry(table, entry, cutoff)).order_by(*table.primary_key.columns).limit(limit)
    if is_postgres(conn):
        query = query.with_for_update(of=table)
    return [dict(row) for row in (await conn.execute(query)).mappings().all()]


async def _audit_prefixes(conn: AsyncConnection, cutoff: datetime,
                          limit: int) -> tuple[list[dict[str, Any]], dict[int, tuple[int, int, str]], list[int]]:
    """Per partition, the expired rows from the chain's archived start up to its first row still kept, each
    re-checked (position, link, hash); a partition stops at the first row that does not check out."""
    rows: list[dict[str, Any]] = []
    anchors: dict[int, tuple[int, int, str]] = {}
    refused: list[int] = []
    heads = (await conn.execute(select(audit_chain).order_by(audit_chain.c.partition))).all()
    for head in heads:
        if len(rows) >= limit:
            break
        partition, start, previous = int(head.partition), int(head.archived_length), str(head.archived_hash)
        first_kept = (await conn.execute(select(func.min(audit_log.c.chain_pos)).where(
            audit_log.c.partition == partition, audit_log.c.at >= cutoff))).scalar()
        query = select(audit_log).where(audit_log.c.partition == partition, audit_log.c.chain_pos > start)
        if first_kept is not None:
            query = query.where(audit_log.c.chain_pos < first_kept)
        candidates = (await conn.execute(query.order_by(audit_log.c.chain_pos)
                                         .limit(limit - len(rows)))).mappings().all()
        position = start
        for candidate in map(dict, candidates):
            if candidate["chain_pos"] != position + 1 or candidate["prev_hash"] != previous or candidate["hash"] != \
                    row_hash(candidate, partition=partition, position=position + 1, previous=previous):
                refused.append(partition)
                break
            rows.append(candidate)
            position, previous = position + 1, str(candidate["hash"])
        if position > start:
            anchors[partition] = (start, position, previous)
    return rows, anchors, refused


# --- moving ------------------------------------------------------------------------------------------------

async def _delete(conn: AsyncConnection, table: Table, entry: Retention, cutoff: datetime,
                  rows: Sequence[dict[str, Any]]) -> int:
    """Delete exactly the rows written, if they are still expired; the count is checked by the caller."""
    key = list(table.primary_key.columns)
    deleted = 0
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start:start + _CHUNK]
        if len(key) == 1:
            match = key[0].in_([row[key[0].name] for row in chunk])
        else:
            match = tuple_(*key).in_([tuple(row[c.name] for c in key) for row in chunk])
        conditions = [audit_log.c.at < cutoff] if table is audit_log else _expiry(table, entry, cutoff)
        deleted += (await conn.execute(delete(table).where(match, *conditions))).rowcount or 0
    return deleted


async def _move_anchors(conn: AsyncConnection, anchors: dict[int, tuple[int, int, str]]) -> None:
    for partition, (start, position, last_hash) in anchors.items():
        moved = await conn.execute(update(audit_chain).where(audit_chain.c.partition == partition,
                                                             audit_chain.c.archived_length == start)
                                   .values(archived_length=position, archived_hash=last_hash))
        if moved.rowcount != 1:
            raise ArchiveMismatch(f"audit partition {partition}: its archived anchor moved during the run")


def _write(run_dir: Path, table: str, rows: Sequence[dict[str, Any]]) -> Written:
    """Write the rows (one JSON object a line), make the file durable, then read it back for the proof."""
    run_dir.mkdir(parents=True, exist_ok=True)
    final = run_dir / f"{table}.jsonl.gz"
    partial = run_dir / f"{table}.jsonl.gz.partial"
    with open(partial, "wb") as raw:
        with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
            for row in rows:
                out.write(dumps(row) + b"\n")
        raw.flush()
        os.fsync(raw.fileno())
    os.replace(partial, final)
    _fsync_dir(run_dir)
    data = final.read_bytes()
    count = sum(1 for line in gzip.decompress(data).splitlines() if orjson.loads(line) is not None)
    return Written(path=final, rows=count, bytes=len(data), sha256=hashlib.sha256(data).hexdigest())


def _write_manifest(run_dir: Path, run_id: uuid.UUID, now: datetime, entries: list[dict[str, Any]]) -> None:
    files = [{key: entry[key] for key in ("table_name", "path", "rows_selected", "rows_written", "rows_deleted",
                                          "bytes", "sha256", "cutoff")} for entry in entries]
    partial = run_dir / "manifest.json.partial"
    partial.write_bytes(orjson.dumps({"run_id": str(run_id), "at": now, "files": files},
                                     option=orjson.OPT_UTC_Z | orjson.OPT_INDENT_2))
    with open(partial, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(partial, run_dir / "manifest.json")
    _fsync_dir(run_dir)
    _fsync_dir(run_dir.parent)


def _fsync_dir(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


async def _remove_orphans(conn: AsyncConnection, directory: Path) -> int:
    """Delete run directories whose run never committed (a crash or a rollback after the files were written)."""
    if not directory.is_dir():
        return 0
    found = {uuid.UUID(match["run"]): path for path in directory.iterdir()
             if path.is_dir() and (match := RUN_DIR.match(path.name))}
    if not found:
        return 0
    committed = set((await conn.execute(select(archive_manifests.c.run_id).distinct()
                                        .where(archive_manifests.c.run_id.in_(list(found))))).scalars().all())
    orphans = [path for run_id, path in found.items() if run_id not in committed]
    for path in orphans:
        await asyncio.to_thread(shutil.rmtree, path, True)
    return len(orphans)
