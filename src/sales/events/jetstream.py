"""NATS JetStream plumbing: connect, and create a stream when it is missing (so the service runs alone)."""
from __future__ import annotations

from typing import Any

import nats
import structlog
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import BadRequestError, NotFoundError

log = structlog.get_logger("sales.events.nats")


async def connect(url: str, *, name: str) -> Any:
    """One connection that reconnects forever; publishing while disconnected fails fast (no buffering)."""

    async def disconnected() -> None:
        log.warning("nats disconnected", url=url)

    async def reconnected() -> None:
        log.info("nats reconnected", url=url)

    async def error(exc: Exception) -> None:
        log.debug("nats error", error=repr(exc))

    return await nats.connect(url, name=name, allow_reconnect=True, max_reconnect_attempts=-1,
                              reconnect_time_wait=0.5, connect_timeout=2, pending_size=0,
                              disconnected_cb=disconnected, reconnected_cb=reconnected, error_cb=error)


async def ensure_stream(js: Any, name: str, subjects: str, *, duplicate_window: float | None = None) -> None:
    """Create the stream if missing; an existing stream (maybe configured by its owner) is left alone."""
    try:
        await js.stream_info(name)
        return
    except NotFoundError:
        pass
    config = StreamConfig(name=name, subjects=[subjects], storage=StorageType.FILE,
                          retention=RetentionPolicy.LIMITS, duplicate_window=duplicate_window or 120)
    try:
        await js.add_stream(config)
        log.info("stream created", stream=name, subjects=subjects)
    except BadRequestError:
        await js.stream_info(name)  # created concurrently by another worker: fine if it exists now
