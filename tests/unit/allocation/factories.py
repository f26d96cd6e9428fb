"""Small factories for the pure allocation engine: a lead, a candidate RM, rules."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sales.allocation import rules
from sales.allocation.config import AllocationRules

# A Saturday, 10:30 UTC.
NOW = datetime(2026, 1, 17, 10, 30, tzinfo=UTC)


def make_lead(**overrides: Any) -> rules.Lead:
    values: dict[str, Any] = {"lead_id": uuid.uuid4(), "city": "Bangalore", "zone": "South",
                              "locality": "Koramangala", "property_type": "RESIDENTIAL", "segment": "TENANT",
                              "expected_deal_value": Decimal("25000.00"), "priority": 3}
    values.update(overrides)
    return rules.Lead(**values)


def make_rm(n: int = 0, **overrides: Any) -> rules.Candidate:
    values: dict[str, Any] = {
        "id": uuid.UUID(int=n + 1), "name": f"RM {n}", "team_id": None, "city": "Bangalore", "zone": "South",
        "localities": ("Koramangala", "HSR Layout"), "property_types": ("RESIDENTIAL",),
        "segments": ("TENANT", "BUYER"), "max_deal_value": None, "capacity": 25, "active_leads": 0,
        "status": "ACTIVE", "availability": "ONLINE", "shifts": (), "leaves": (), "is_backup": False,
        "performance_score": 50, "received_today": 0, "last_allocated_at": None}
    values.update(overrides)
    return rules.Candidate(**values)


def make_rules(**overrides: Any) -> AllocationRules:
    return AllocationRules.model_validate(overrides)


def entry(decision: rules.Decision, rm: rules.Candidate) -> dict[str, Any]:
    return next(e for e in decision.candidates if e["rm_id"] == str(rm.id))
