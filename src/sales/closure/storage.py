"""Where deal documents are kept (issue 15): local disk under SALES_DOCUMENTS_DIR (default var/documents), or an
S3-compatible bucket when SALES_FILES_S3_BUCKET is set; named by their SHA-256 (`sales.core.files`). A request's
uploads are settled when its transaction ends (no orphan files), and the `files-sweep` job removes what a crash
left behind, here and in the refund claims' evidence directory (SALES_EVIDENCE_DIR)."""
from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sales.closure import repository
from sales.core import files
from sales.core.files import FileStore, LocalFileStore, S3FileStore
from sales.refunds import repository as refunds_repository
from sales.settings import Settings


@lru_cache(maxsize=8)
def _s3(endpoint: str | None, bucket: str, prefix: str, region: str, access_key: str | None,
        secret_key: str | None) -> S3FileStore:
    """One client per configuration (boto3 clients are thread-safe and keep their connection pool)."""
    return S3FileStore.connect(endpoint=endpoint, bucket=bucket, prefix=prefix, region=region,
                               access_key=access_key, secret_key=secret_key)


def document_store(settings: Settings) -> FileStore:
    if settings.files_s3_bucket:
        return _s3(settings.files_s3_endpoint, settings.files_s3_bucket, settings.files_s3_prefix,
                   settings.files_s3_region, settings.files_s3_access_key, settings.files_s3_secret_key)
    return LocalFileStore(settings.documents_dir)


async def referenced(conn: AsyncConnection, keys: list[str]) -> set[str]:
    return await repository.stored_keys(conn, keys)


def tracked(settings: Settings, engine: AsyncEngine) -> files.TrackedStore:
    return files.TrackedStore(document_store(settings), engine=engine, referenced=referenced)


async def sweep(settings: Settings, engine: AsyncEngine, *, now: datetime) -> int:
    """Delete the deal documents' and the refund claims' evidence files no row names, written more than
    SALES_FILES_SWEEP_HOURS ago."""
    older_than = now - timedelta(hours=settings.files_sweep_hours)
    documents = await files.sweep(document_store(settings), engine=engine, referenced=referenced,
                                  older_than=older_than)
    evidence = await files.sweep(LocalFileStore(settings.evidence_dir), engine=engine,
                                 referenced=refunds_repository.evidence_keys, older_than=older_than)
    return documents + evidence
