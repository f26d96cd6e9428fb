"""Demo refunds (issue 12): Prime's guarantee, a claim under investigation, a refund waiting for a
SUPPORT_AGENT, one the rules rejected."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sales.core.auth import Principal, Role
from sales.orders.demo import seed_commerce
from sales.refunds import demo as refunds_demo
from sales.refunds.models import plan_guarantees, refunds
from tests.checks import count, fetch

NOW = datetime(2026, 1, 17, 10, 30, tzinfo=UTC)


async def test_demo_refunds(engine):
    admin = Principal(sub=uuid.uuid4(), roles=frozenset({Role.SALES_ADMIN}))
    async with engine.begin() as conn:
        await seed_commerce(conn, admin, now=NOW)
        await refunds_demo.seed(conn, admin, now=NOW)
    assert await count(engine, plan_guarantees) == 1
    assert sorted((r.type, r.status) for r in await fetch(engine, refunds)) == [
        ("GUARANTEE_CLAIM", "UNDER_INVESTIGATION"), ("REFUND", "PENDING_APPROVAL"), ("REFUND", "REJECTED")]
