"""Idempotent retries (ARCHITECTURE.md §2.3): a retried write with the same Idempotency-Key gets the first
response and writes nothing new.

The first request *claims* its key before it runs: a pending record inserted and committed in a short
transaction of its own. A concurrent duplicate finds the claim and is told the first is still in progress
(409); a later retry finds the stored response and gets it back. The response is stored in the request's own
transaction (so it exists exactly when the request's writes do); a failed request gives its claim up, so a
corrected retry runs. Records bind the caller's identity and roles, keep the body encrypted (it may hold
customer PII) and expire after SALES_IDEMPOTENCY_TTL_HOURS; an expired key is a new key.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from sales.core.auth import Principal
from sales.core.clock import business_now
from sales.core.db import insert_unless_exists, unit_of_work
from sales.core.pii import cipher
from sales.core.tables import idempotency_keys as k

HEADER = "Idempotency-Key"
_VALID_KEY = re.compile(r"[\x20-\x7e]{1,255}")  # printable ASCII, as long as the column
# A claim whose request never finished (its process died) stops blocking the key after this long.
ABANDONED_AFTER = timedelta(minutes=5)


def valid_key(key: str) -> bool:
    return _VALID_KEY.fullmatch(key) is not None


@dataclass(frozen=True)
class Attempt:
    """One request carrying an Idempotency-Key."""

    actor: str
    key: str
    method: str
    path: str
    request_hash: str
    principal_hash: str

    @classmethod
    def of(cls, principal: Principal, *, key: str, method: str, path: str, query: bytes,
           body: bytes) -> "Attempt":
        request = b"\0".join([method.encode(), path.encode(), query, body])
        caller = "\0".join([str(principal.sub), ",".join(sorted(principal.roles)),
                            ",".join(sorted(str(t) for t in principal.team_ids))])
        return cls(actor=str(principal.sub), key=key, method=method, path=path,
                   request_hash=hashlib.sha256(request).hexdigest(),
                   principal_hash=hashlib.sha256(caller.encode()).hexdigest())


@dataclass(frozen=True)
class Earlier:
    """What an earlier request with the same key left: its response, or None while it still runs."""

    same_request: bool
    status: int | None
    content_type: str | None
    body: bytes


def _record_of(attempt: Attempt) -> Any:
    return (k.c.actor == attempt.actor) & (k.c.key == attempt.key)


async def claim(engine: AsyncEngine, attempt: Attempt, *, frozen_clock_allowed: bool) -> Earlier | None:
    """Claim the key for this attempt (None), or return what an earlier attempt with the key left."""
    async with unit_of_work(engine) as conn:
        now = await business_now(conn, frozen_allowed=frozen_clock_allowed)
        values = {"actor": attempt.actor, "key": attempt.key, "method": attempt.method,
                  "path": attempt.path[:512], "request_hash": attempt.request_hash,
                  "principal_hash": attempt.principal_hash, "created_at": now, "expires_at": now + ABANDONED_AFTER}
        await conn.execute(delete(k).where(_record_of(attempt), k.c.expires_at <= now))
        claimed = insert_unless_exists(conn, k, k.c.actor, k.c.key).values(**values).returning(k.c.key)
        if (await conn.execute(claimed)).first() is not None:
            return None
        row = (await conn.execute(select(k).where(_record_of(attempt)))).first()
    if row is None:  # the earlier request failed and gave the key up a moment ago: a retry will run
        return Earlier(same_request=True, status=None, content_type=None, body=b"")
    same = row.request_hash == attempt.request_hash and row.principal_hash == attempt.principal_hash
    body = cipher().decrypt(row.response_body).encode("latin-1") if same and row.response_body else b""
    return Earlier(same_request=same, status=row.status_code, content_type=row.content_type, body=body)


async def store(conn: AsyncConnection, attempt: Attempt, *, status: int, content_type: str | None, body: bytes,
                frozen_clock_allowed: bool, ttl: timedelta) -> None:
    """Keep the response of the claiming request, in that request's transaction."""
    now = await business_now(conn, frozen_allowed=frozen_clock_allowed)
    # latin-1 maps every byte to one character and back: any body survives the text round trip.
    await conn.execute(update(k).where(_record_of(attempt)).values(
        status_code=status, content_type=content_type, response_body=cipher().encrypt(body.decode("latin-1")),
        expires_at=now + ttl))


async def release(engine: AsyncEngine, attempt: Attempt) -> None:
    """Give up the claim of a request that failed, so that a corrected retry runs."""
    async with unit_of_work(engine) as conn:
        await conn.execute(delete(k).where(_record_of(attempt), k.c.status_code.is_(None)))


async def prune(conn: AsyncConnection, *, now: datetime) -> int:
    """Delete expired records (and abandoned claims)."""
    return (await conn.execute(delete(k).where(k.c.expires_at <= now))).rowcount or 0
