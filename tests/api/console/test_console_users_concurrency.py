"""issue 9 item 4 (the class): a console user's email is checked, then inserted; concurrent creations."""
from __future__ import annotations

import asyncio
import uuid

from sales.console import service
from sales.console.errors import UserExists
from sales.console.models import console_users
from sales.core.clock import business_now
from sales.core.db import unit_of_work
from tests.checks import count


async def _create(engine, email: str):  # type: ignore[no-untyped-def]
    async with unit_of_work(engine) as conn:
        now = await business_now(conn, frozen_allowed=True)
        return await service.create_user(conn, None, email=email, password="correct-horse-battery",
                                         role="SALES_ADMIN", name=None, rm_id=None, team_ids=[], now=now)


async def test_parallel_creations_of_one_email_create_one_user(engine):
    """Five creations of one email at once: one user, four UserExists (409 in the console), never an
    IntegrityError (a 500). (PostgreSQL and SQLite before: the duplicates failed on the unique index.)"""
    email = f"twin.{uuid.uuid4().hex[:6]}@mysqrft.com"

    results = await asyncio.gather(*[_create(engine, email) for _ in range(5)], return_exceptions=True)

    assert sum(not isinstance(r, BaseException) for r in results) == 1, results
    assert all(isinstance(r, UserExists) for r in results if isinstance(r, BaseException)), results
    assert await count(engine, console_users, console_users.c.email == email) == 1
