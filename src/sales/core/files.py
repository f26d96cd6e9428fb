"""Uploaded files (claim evidence, deal documents): what a file is, by its content, and where it is kept.

Two domains take uploads (refunds' evidence, closure's deal documents); both recognise the file by its magic
bytes, never by its name or declared type, and keep it on local disk under a configured directory, named by
its SHA-256 and written atomically (a temporary file renamed into place) before the row that names it, so a row
never names a partial file; `S3FileStore` keeps them in an S3-compatible bucket instead.

No orphans: a request's uploads go through a `TrackedStore` settled when its transaction ends. A rolled-back
request deletes the files it created unless a committed row names them (content-addressed files are shared), and
checks again after deleting, putting the file back if a row naming it committed meanwhile; a committed request
puts its files again if a concurrent rollback removed them. The `files-sweep` job removes what a crash left:
unreferenced files older than SALES_FILES_SWEEP_HOURS, with the same check after deleting."""
from __future__ import annotations

import asyncio
import base64
import hashlib
import os
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sales.core.db import connect
from sales.core.logging import describe_exception

log = structlog.get_logger("sales.files")

# Magic numbers: the content decides what a file is.
SIGNATURES = ((b"%PDF-", "application/pdf"), (b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))


def sniff(content: bytes) -> str | None:
    """The content type of a PDF, JPEG or PNG file by its first bytes; None for anything else."""
    return next((kind for magic, kind in SIGNATURES if content.startswith(magic)), None)


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


class FileStore(Protocol):
    """Where uploaded files are kept, by key (a relative path). `put` is idempotent: the same key again keeps the
    first copy (keys are content-addressed) and answers where the file is."""

    def put(self, key: str, content: bytes) -> str: ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def keys(self) -> Iterator[tuple[str, datetime]]:
        """Every stored key with when it was last written (UTC)."""
        ...


class LocalFileStore:
    """Files under `root`, each at its key (a relative path that may not leave the root)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"file key {key!r} leaves the store")
        return path

    def put(self, key: str, content: bytes) -> str:
        """Write `content` at `key` once (the same key again keeps the first copy); the path it is at."""
        path = self._path(key)
        if path.exists():
            return str(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(content)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        return str(path)

    def get(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def keys(self) -> Iterator[tuple[str, datetime]]:
        """Finished files only: a temporary `.upload-*` is another writer's file being written."""
        if not self.root.is_dir():
            return
        for path in self.root.rglob("*"):
            if path.is_file() and not path.name.startswith(".upload-"):
                modified = datetime.fromtimestamp(path.stat().st_mtime, tz=UTC)
                yield path.relative_to(self.root).as_posix(), modified


class S3FileStore:
    """Files in an S3-compatible bucket under `prefix` (boto3's client; any endpoint speaking the S3 API). An
    object appears whole or not at all; S3 checks the SHA-256 it is sent with (`ChecksumSHA256`)."""

    def __init__(self, client: Any, *, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    @classmethod
    def connect(cls, *, endpoint: str | None, bucket: str, prefix: str, region: str,
                access_key: str | None, secret_key: str | None) -> "S3FileStore":
        import boto3  # only when configured
        from botocore.config import Config

        client = boto3.client("s3", endpoint_url=endpoint, region_name=region, aws_access_key_id=access_key,
                              aws_secret_access_key=secret_key,
                              config=Config(retries={"max_attempts": 3, "mode": "standard"},
                                            connect_timeout=5, read_timeout=30))
        return cls(client, bucket=bucket, prefix=prefix)

    def _key(self, key: str) -> str:
        if key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"file key {key!r} leaves the store")
        return self.prefix + key

    def put(self, key: str, content: bytes) -> str:
        if not self.exists(key):
            checksum = base64.b64encode(hashlib.sha256(content).digest()).decode()
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=content, ChecksumSHA256=checksum)
        return f"s3://{self.bucket}/{self._key(key)}"

    def get(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()

    def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def delete(self, key: str) -> None:
        self.client.delete_object(Bucket=self.bucket, Key=self._key(key))

    def keys(self) -> Iterator[tuple[str, datetime]]:
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.prefix)
        for page in pages:
            for item in page.get("Contents", []):
                yield item["Key"][len(self.prefix):], item["LastModified"].astimezone(UTC)


# Which of these keys a committed row names (each domain that keeps files answers for its own store).
Referenced = Callable[[AsyncConnection, list[str]], Awaitable[set[str]]]


async def _referenced(engine: AsyncEngine, referenced: Referenced, keys: list[str]) -> set[str]:
    conn = await connect(engine, writes=False)
    try:
        async with conn.begin():
            return await referenced(conn, keys)
    finally:
        await conn.close()


async def discard(store: FileStore, key: str, *, engine: AsyncEngine, referenced: Referenced,
                  content: bytes | None = None) -> bool:
    """Delete `key` unless a committed row names it; if one committed while deleting, the file goes back (from
    `content`, else from what was read before deleting). True when the file is gone."""
    if await _referenced(engine, referenced, [key]):
        return False
    if content is None:
        content = await asyncio.to_thread(store.get, key)
    await asyncio.to_thread(store.delete, key)
    if await _referenced(engine, referenced, [key]):
        await asyncio.to_thread(store.put, key, content)
        return False
    return True


@dataclass
class _Put:
    key: str
    content: bytes
    created: bool


@dataclass
class TrackedStore:
    """A request's view of a store: what it puts is remembered and settled once the transaction has ended
    (`settle(committed)`, run by the unit of work)."""

    store: FileStore
    engine: AsyncEngine
    referenced: Referenced
    puts: list[_Put] = field(default_factory=list)

    async def put(self, key: str, content: bytes) -> str:
        created = not await asyncio.to_thread(self.store.exists, key)
        location = await asyncio.to_thread(self.store.put, key, content)
        self.puts.append(_Put(key, content, created))
        return location

    async def settle(self, committed: bool) -> None:
        puts, self.puts = self.puts, []
        for put in puts:
            try:
                if committed:  # a concurrent rollback may have removed a shared file: put it back
                    await asyncio.to_thread(self.store.put, put.key, put.content)
                elif put.created:
                    await discard(self.store, put.key, engine=self.engine, referenced=self.referenced,
                                  content=put.content)
            except Exception as exc:  # the sweep removes what is left; a committed row's file is logged
                log.error("file_settle_failed", key=put.key, committed=committed, error=describe_exception(exc))


async def sweep(store: FileStore, *, engine: AsyncEngine, referenced: Referenced, older_than: datetime,
                batch: int = 500) -> int:
    """Delete the files no committed row names, last written before `older_than`; how many were deleted."""
    candidates = [key for key, modified in await asyncio.to_thread(lambda: list(store.keys()))
                  if modified < older_than]
    deleted = 0
    for start in range(0, len(candidates), batch):
        chunk = candidates[start:start + batch]
        named = await _referenced(engine, referenced, chunk)
        for key in (k for k in chunk if k not in named):
            try:
                deleted += await discard(store, key, engine=engine, referenced=referenced)
            except Exception as exc:  # e.g. removed meanwhile by a rolled-back request; the next run sees again
                log.warning("file_sweep_skipped", key=key, error=describe_exception(exc))
    return deleted
