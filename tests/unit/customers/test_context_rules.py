"""Customer context rules (issue 10 §3): who sees what (ARCHITECTURE §2.2 scoping and PII, PRD §8.4), which
plans are held (UPR-002 reads their usage), the activity windows."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sales.catalog.enums import UserType
from sales.catalog.schemas import PlanRead
from sales.core.auth import Principal, Role
from sales.customers.rules import Access, activity_since, context_access, held_plans, may_read_pipeline
from sales.orders.enums import OrderStatus, TransactionType
from sales.orders.schemas import OrderRead
from sales.usage.schemas import UsageRead

USER, OTHER, TEAM = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
NOW = datetime(2026, 1, 17, 10, 30, tzinfo=UTC)


def who(*roles: Role, sub: uuid.UUID | None = None, teams: tuple[uuid.UUID, ...] = ()) -> Principal:
    return Principal(sub=sub or uuid.uuid4(), roles=frozenset(roles), team_ids=frozenset(teams))


STAFF_FULL = Access(staff=True, contact_unmasked=True, orders=True)
STAFF_MASKED = Access(staff=True, contact_unmasked=False, orders=True)


@pytest.mark.parametrize(("principal", "works_with", "expected"), [
    pytest.param(who(Role.RM), True, STAFF_FULL, id="rm-with-a-pipeline"),
    pytest.param(who(Role.RM), False, None, id="rm-without-404"),
    pytest.param(who(Role.SUPERVISOR, teams=(TEAM,)), True, STAFF_FULL, id="supervisor-of-the-team"),
    pytest.param(who(Role.SUPERVISOR, teams=(TEAM,)), False, None, id="supervisor-of-another-team-404"),
    pytest.param(who(Role.SALES_ADMIN), False, STAFF_FULL, id="sales-admin-unmasked"),
    pytest.param(who(Role.FINANCE_ADMIN), False, STAFF_MASKED, id="finance-masked"),
    pytest.param(who(Role.SUPPORT_AGENT), False, STAFF_MASKED, id="support-masked"),
    pytest.param(who(Role.SERVICE), False, STAFF_MASKED, id="service-masked"),
    pytest.param(who(Role.PRODUCT_MANAGER), False, Access(staff=True, contact_unmasked=False, orders=False),
                 id="product-manager-no-orders"),
    pytest.param(who(Role.PRODUCT_MANAGER, Role.RM), True, STAFF_FULL, id="pm-who-is-also-the-rm"),
    pytest.param(who(Role.FINANCE_ADMIN, Role.RM), True, STAFF_FULL, id="org-wide-who-is-also-the-rm"),
    pytest.param(who(Role.CUSTOMER, sub=USER), False, Access(staff=False, contact_unmasked=True, orders=True),
                 id="customer-self"),
    pytest.param(who(Role.CUSTOMER, sub=OTHER), False, None, id="customer-other-404"),
    pytest.param(who(Role.RM, sub=USER), False, None, id="own-id-without-the-customer-role-404"),
    pytest.param(who(sub=USER), False, None, id="no-role-404"),
])
def test_context_access(principal, works_with, expected):
    assert context_access(principal, user_id=USER, works_with=works_with) == expected


def test_pipeline_details_go_to_those_who_may_read_the_pipeline():
    rm = uuid.uuid4()
    assert may_read_pipeline(who(Role.RM, sub=rm), rm_id=rm, team_id=TEAM)
    assert not may_read_pipeline(who(Role.RM), rm_id=rm, team_id=TEAM)
    assert may_read_pipeline(who(Role.SUPERVISOR, teams=(TEAM,)), rm_id=rm, team_id=TEAM)
    assert not may_read_pipeline(who(Role.SUPERVISOR, teams=(TEAM,)), rm_id=rm, team_id=None)
    assert may_read_pipeline(who(Role.SUPPORT_AGENT), rm_id=rm, team_id=None)


def test_activity_windows_end_now_and_reach_back_whole_days():
    assert activity_since(NOW, 7) == datetime(2026, 1, 10, 10, 30, tzinfo=UTC)
    assert activity_since(NOW, 30) == datetime(2025, 12, 18, 10, 30, tzinfo=UTC)


# --- held plans ----------------------------------------------------------------------------------

def plan(code: str, tier: int, user_type: UserType = UserType.TENANT) -> PlanRead:
    return PlanRead(id=uuid.uuid4(), code=code, name=code.title(), user_type=user_type, tier=tier,
                    price=Decimal("0.00") if tier == 0 else Decimal("1499.00"), duration_days=30, features={},
                    active=True, created_at=NOW, updated_at=NOW)


def order(p: PlanRead, *, days_ago: int = 5) -> OrderRead:
    paid = NOW - timedelta(days=days_ago)
    return OrderRead(order_id=uuid.uuid4(), payment_id=None, user_id=USER, user_type=p.user_type, plan_id=p.id,
                     amount=p.price, currency="INR", paid_at=paid, starts_at=paid, ends_at=paid + timedelta(days=30),
                     status=OrderStatus.ACTIVE, refunded_amount=Decimal("0.00"),
                     transaction_type=TransactionType.SUBSCRIPTION_NEW, rm_id=None, pipeline_id=None, upsell_id=None,
                     expired_at=None, created_at=paid, updated_at=paid)


def usage(p: PlanRead, quota_name: str, used: int, quota: int | None = 10,
          order_id: uuid.UUID | None = None) -> UsageRead:
    percent = None if quota is None else (Decimal(used) * 100 / quota).quantize(Decimal("0.1"))
    return UsageRead(plan_id=p.id, order_id=order_id, quota_name=quota_name, quota=quota, used=used, percent=percent,
                     at=NOW)


def test_a_live_orders_plan_carries_its_own_and_unattributed_usage_not_an_earlier_orders():
    premium = plan("TENANT_PREMIUM", 1)
    live = order(premium)
    held = held_plans(live_orders=[live], plans={premium.id: premium}, usage=[
        usage(premium, "owner_contacts", 8, order_id=live.order_id),
        usage(premium, "site_visits", 1, quota=None),
        usage(premium, "alerts", 9, order_id=uuid.uuid4()),  # an earlier order of the same plan: stale
    ])
    assert [(h.order_id, h.code, [(q.quota_name, q.percent) for q in h.usage]) for h in held] == [
        (live.order_id, "TENANT_PREMIUM", [("owner_contacts", Decimal("80.0")), ("site_visits", None)])]


def test_a_free_plan_is_held_without_an_order_unless_a_paid_plan_of_that_user_type_is_live():
    basic, premium = plan("TENANT_BASIC", 0), plan("TENANT_PREMIUM", 1)
    owner_basic = plan("OWNER_BASIC", 0, UserType.OWNER)
    plans = {p.id: p for p in (basic, premium, owner_basic)}
    measured = [usage(basic, "owner_contacts", 4, quota=5), usage(owner_basic, "tenant_contacts", 2)]
    assert [h.code for h in held_plans(live_orders=[], usage=measured, plans=plans)] == ["OWNER_BASIC", "TENANT_BASIC"]
    held = held_plans(live_orders=[order(premium)], usage=measured, plans=plans)
    assert [(h.code, h.order_id is None) for h in held] == [("TENANT_PREMIUM", False), ("OWNER_BASIC", True)]


def test_usage_of_a_paid_plan_no_longer_held_is_left_out():
    premium = plan("TENANT_PREMIUM", 1)
    assert held_plans(live_orders=[], usage=[usage(premium, "owner_contacts", 10)], plans={premium.id: premium}) == []
