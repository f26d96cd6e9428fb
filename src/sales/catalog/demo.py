"""Demo plans (PRD §2.2.1: tenant Basic / Premium / Prime; owner Listing boost / Premium visibility; buyer
plans), with fixed ids and codes so other demo data can refer to them. Prices in INR."""
from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.catalog import service
from sales.catalog.enums import UserType
from sales.catalog.schemas import PlanCreate, PlanRead
from sales.core.auth import Principal


def _id(n: int) -> uuid.UUID:
    return uuid.UUID(f"00000000-0000-4000-8000-00000000b{n:03d}")


TENANT_BASIC, TENANT_PREMIUM, TENANT_PRIME = _id(101), _id(102), _id(103)
OWNER_BASIC, OWNER_LISTING_BOOST, OWNER_PREMIUM_VISIBILITY = _id(201), _id(202), _id(203)
BUYER_BASIC, BUYER_ASSIST = _id(301), _id(302)

DEMO_PLANS: list[dict[str, Any]] = [
    {"id": TENANT_BASIC, "code": "TENANT_BASIC", "name": "Tenant Basic", "user_type": UserType.TENANT, "tier": 0,
     "price": Decimal("0.00"), "duration_days": 365,
     "features": {"owner_contacts": 5, "instant_alerts": False, "relationship_manager": False}},
    {"id": TENANT_PREMIUM, "code": "TENANT_PREMIUM", "name": "Tenant Premium", "user_type": UserType.TENANT,
     "tier": 1, "price": Decimal("1499.00"), "duration_days": 45,
     "features": {"owner_contacts": 25, "instant_alerts": True, "relationship_manager": False,
                  "rental_agreement": "e-stamped"}},
    {"id": TENANT_PRIME, "code": "TENANT_PRIME", "name": "Tenant Prime", "user_type": UserType.TENANT, "tier": 2,
     "price": Decimal("2999.00"), "duration_days": 90,
     "features": {"owner_contacts": 60, "instant_alerts": True, "relationship_manager": True, "site_visits": 5,
                  "rental_agreement": "doorstep"}},
    {"id": OWNER_BASIC, "code": "OWNER_BASIC", "name": "Owner Basic", "user_type": UserType.OWNER, "tier": 0,
     "price": Decimal("0.00"), "duration_days": 365,
     "features": {"active_listings": 1, "tenant_contacts": 10, "listing_boost_days": 0,
                  "relationship_manager": False}},
    {"id": OWNER_LISTING_BOOST, "code": "OWNER_LISTING_BOOST", "name": "Owner Listing Boost",
     "user_type": UserType.OWNER, "tier": 1, "price": Decimal("1999.00"), "duration_days": 30,
     "features": {"active_listings": 1, "tenant_contacts": 50, "listing_boost_days": 15, "featured_listing": True,
                  "relationship_manager": False}},
    {"id": OWNER_PREMIUM_VISIBILITY, "code": "OWNER_PREMIUM_VISIBILITY", "name": "Owner Premium Visibility",
     "user_type": UserType.OWNER, "tier": 2, "price": Decimal("4999.00"), "duration_days": 60,
     "features": {"active_listings": 3, "tenant_contacts": 200, "listing_boost_days": 60, "featured_listing": True,
                  "professional_photoshoot": True, "relationship_manager": True}},
    {"id": BUYER_BASIC, "code": "BUYER_BASIC", "name": "Buyer Basic", "user_type": UserType.BUYER, "tier": 0,
     "price": Decimal("0.00"), "duration_days": 365,
     "features": {"owner_contacts": 5, "relationship_manager": False}},
    {"id": BUYER_ASSIST, "code": "BUYER_ASSIST", "name": "Buyer Assist", "user_type": UserType.BUYER, "tier": 1,
     "price": Decimal("4999.00"), "duration_days": 90,
     "features": {"owner_contacts": 50, "site_visits": 10, "relationship_manager": True, "legal_assistance": True,
                  "home_loan_assistance": True}},
]


async def seed_plans(conn: AsyncConnection, principal: Principal, *, now: datetime) -> dict[uuid.UUID, PlanRead]:
    """Create the demo plans (audited like any write); returns them by id."""
    created = [await service.create_plan(conn, principal, data=PlanCreate(**plan), now=now) for plan in DEMO_PLANS]
    return {plan.id: plan for plan in created}
