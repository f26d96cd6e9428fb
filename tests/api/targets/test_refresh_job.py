"""targets-refresh stores the measured figures, which other domains read from `sales_targets` (commissions' CMR-004
team bonus reads a TEAM target's stored status)."""
from __future__ import annotations

import uuid
from decimal import Decimal

from sales.targets.models import sales_targets
from tests.allocation_builders import run_job
from tests.api.targets.helpers import sell, start, target, team_of
from tests.checks import fetch

async def test_targets_refresh_stores_the_figures_for_sql_readers(client, auth, engine):
    plan = await start(client, auth)
    _, [priya] = await team_of(client, auth.admin, "Priya Patel")
    goal = await target(client, auth.admin, priya["id"], target_value=Decimal("1000.00"))
    await sell(client, auth, plan, rm_id=priya["id"], amount="1000.00", paid_at="2026-01-05T10:00:00Z")
    outcome = await run_job(client, auth.admin, "targets-refresh")
    assert (outcome["measured"], outcome["settled"]) == (1, 0)
    [row] = await fetch(engine, sales_targets, sales_targets.c.id == uuid.UUID(goal["id"]))
    assert (Decimal(str(row.achieved_value)).quantize(Decimal("0.01")), row.status) == (Decimal("1000.00"),
                                                                                        "ACHIEVED")
