"""The `archive` job (issue 20, PRD §8.5): expired rows to compressed files, per the retention schedule."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.jobs import job
from sales.retention import archive
from sales.retention.config import get_archive_settings


@job("archive", every=3600)
async def archive_expired(conn: AsyncConnection, now: datetime) -> dict[str, Any]:
    """Move rows past their retention (sales.retention.schedule) to SALES_ARCHIVE_DIR, at most
    SALES_ARCHIVE_BATCH_SIZE per table and run, with a manifest proving the counts."""
    settings = get_archive_settings()
    return await archive.run(conn, now, directory=settings.archive_dir, batch_size=settings.archive_batch_size)
