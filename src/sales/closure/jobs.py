"""Periodic deal-closure work (issue 15): orphan uploaded files."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.closure import storage
from sales.core.jobs import job
from sales.settings import get_settings


@job("files-sweep", every=3600)
async def files_sweep(conn: AsyncConnection, now: datetime) -> dict[str, Any]:
    """Orphan files of deal documents and refund evidence (an upload whose request died between the file and the
    commit): deleted once older than SALES_FILES_SWEEP_HOURS (default 24) and named by no row."""
    return {"processed": await storage.sweep(get_settings(), conn.engine, now=now)}
