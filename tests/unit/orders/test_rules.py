"""Order rules (issue 10 §2 Orders): period, PRD §3.2.5 transaction types, refund totals and statuses."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sales.orders import rules
from sales.orders.enums import BackfillStatus, OrderStatus as S, TransactionType as T
from sales.orders.errors import OrderRefunded, RefundExceedsAmount
from sales.orders.rules import HeldOrder

PAID = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BASIC, PREMIUM, PRIME = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
TIER = {BASIC: 0, PREMIUM: 1, PRIME: 2}


def held(plan_id: uuid.UUID, *, status: S = S.ACTIVE, started_days_ago: int = 10, days: int = 45,
         user_type: str = "TENANT") -> HeldOrder:
    starts = PAID - timedelta(days=started_days_ago)
    return HeldOrder(plan_id, user_type, TIER[plan_id], status, starts, starts + timedelta(days=days))


def kind(plan_id: uuid.UUID, *others: HeldOrder, explicit: T | None = None) -> T:
    return rules.transaction_type(plan_id=plan_id, user_type="TENANT", tier=TIER[plan_id], paid_at=PAID,
                                  held=others, explicit=explicit)


def test_period_starts_at_payment_and_lasts_the_plan_duration():
    assert rules.period(PAID, 45) == (PAID, datetime(2026, 4, 15, 12, 0, tzinfo=UTC))


@pytest.mark.parametrize(("plan", "others", "expected"), [
    pytest.param(PREMIUM, [], T.SUBSCRIPTION_NEW, id="first purchase is NEW"),
    pytest.param(PREMIUM, [held(PREMIUM)], T.SUBSCRIPTION_RENEWAL, id="same plan live is RENEWAL"),
    pytest.param(PREMIUM, [held(PREMIUM, status=S.PARTIALLY_REFUNDED)], T.SUBSCRIPTION_RENEWAL,
                 id="same plan partly refunded is RENEWAL"),
    pytest.param(PREMIUM, [held(PREMIUM, status=S.EXPIRED, started_days_ago=60)], T.SUBSCRIPTION_RENEWAL,
                 id="same plan ended 15 days ago is RENEWAL (grace 30 days)"),
    pytest.param(PREMIUM, [held(PREMIUM, status=S.EXPIRED, started_days_ago=75)], T.SUBSCRIPTION_RENEWAL,
                 id="same plan ended exactly 30 days ago is RENEWAL"),
    pytest.param(PREMIUM, [held(PREMIUM, status=S.EXPIRED, started_days_ago=76)], T.SUBSCRIPTION_NEW,
                 id="same plan ended 31 days ago is NEW"),
    pytest.param(PREMIUM, [held(PREMIUM, status=S.REFUNDED)], T.SUBSCRIPTION_NEW, id="a refunded order never counts"),
    pytest.param(PREMIUM, [held(PREMIUM, status=S.CANCELLED)], T.SUBSCRIPTION_NEW, id="a cancelled order never counts"),
    pytest.param(PRIME, [held(PREMIUM)], T.SUBSCRIPTION_UPGRADE, id="lower tier live is UPGRADE"),
    pytest.param(PRIME, [held(BASIC)], T.SUBSCRIPTION_UPGRADE, id="a free plan held by order is UPGRADE"),
    pytest.param(PRIME, [held(PREMIUM, status=S.PARTIALLY_REFUNDED)], T.SUBSCRIPTION_UPGRADE,
                 id="lower tier partly refunded is still live: UPGRADE"),
    pytest.param(PRIME, [held(PREMIUM, status=S.EXPIRED)], T.SUBSCRIPTION_NEW, id="lower tier expired is NEW"),
    pytest.param(PRIME, [held(PREMIUM, started_days_ago=50)], T.SUBSCRIPTION_NEW,
                 id="lower tier past its end (not yet expired by event) is NEW"),
    pytest.param(PRIME, [held(PREMIUM, status=S.REFUNDED)], T.SUBSCRIPTION_NEW, id="lower tier refunded is NEW"),
    pytest.param(PREMIUM, [held(PRIME)], T.SUBSCRIPTION_NEW, id="a downgrade is NEW"),
    pytest.param(PRIME, [held(PREMIUM, user_type="OWNER")], T.SUBSCRIPTION_NEW,
                 id="another user type's lower plan is NEW"),
    pytest.param(PRIME, [held(PREMIUM), held(PRIME)], T.SUBSCRIPTION_RENEWAL,
                 id="same plan and a lower one: RENEWAL wins"),
    pytest.param(PRIME, [held(PREMIUM, started_days_ago=-1)], T.SUBSCRIPTION_NEW,
                 id="an order starting after this payment does not count"),
])
def test_transaction_type_prd_3_2_5(plan, others, expected):
    assert kind(plan, *others) == expected


def test_transaction_type_given_by_billing_wins():
    assert kind(PRIME, held(PREMIUM), explicit=T.SERVICE_BOOKING) == T.SERVICE_BOOKING
    assert kind(PREMIUM, explicit=T.SUBSCRIPTION_UPGRADE) == T.SUBSCRIPTION_UPGRADE


@pytest.mark.parametrize(("refunded", "refund", "total"), [
    ("0.00", "1000.00", "1000.00"), ("1000.00", "1999.00", "2999.00"), ("0.10", "0.20", "0.30"),
])
def test_refunds_add_up_exactly_to_at_most_the_amount(refunded, refund, total):
    assert rules.refunded_total(amount=Decimal("2999.00"), refunded=Decimal(refunded),
                                refund=Decimal(refund)) == Decimal(total)


def test_a_refund_total_above_the_amount_is_refused():
    with pytest.raises(RefundExceedsAmount, match="3000.00, above the order amount 2999.00"):
        rules.refunded_total(amount=Decimal("2999.00"), refunded=Decimal("2000.00"), refund=Decimal("1000.00"))


@pytest.mark.parametrize(("current", "refunded", "expected"), [
    (S.ACTIVE, "1000.00", S.PARTIALLY_REFUNDED),
    (S.ACTIVE, "2999.00", S.REFUNDED),
    (S.PARTIALLY_REFUNDED, "2000.00", S.PARTIALLY_REFUNDED),
    (S.PARTIALLY_REFUNDED, "2999.00", S.REFUNDED),
    (S.EXPIRED, "1000.00", S.EXPIRED),
    (S.EXPIRED, "2999.00", S.REFUNDED),
    (S.CANCELLED, "1000.00", S.CANCELLED),
    (S.CANCELLED, "2999.00", S.REFUNDED),
])
def test_status_after_refund(current, refunded, expected):
    assert rules.status_after_refund(current, amount=Decimal("2999.00"), refunded=Decimal(refunded)) == expected


@pytest.mark.parametrize(("current", "expected"), [
    (S.ACTIVE, S.EXPIRED), (S.PARTIALLY_REFUNDED, S.EXPIRED), (S.EXPIRED, S.EXPIRED),
    (S.REFUNDED, S.REFUNDED), (S.CANCELLED, S.CANCELLED),
])
def test_expiry_never_resurrects_a_refunded_or_cancelled_order(current, expected):
    assert rules.status_after_expiry(current) == expected


B = BackfillStatus


@pytest.mark.parametrize(("current", "requested", "refunded", "expected"), [
    (None, None, "0.00", S.ACTIVE),
    (None, B.CANCELLED, "0.00", S.CANCELLED),
    (None, B.EXPIRED, "0.00", S.EXPIRED),
    (S.ACTIVE, None, "0.00", S.ACTIVE),
    (S.EXPIRED, None, "0.00", S.EXPIRED),
    (S.CANCELLED, None, "0.00", S.CANCELLED),
    (S.EXPIRED, B.ACTIVE, "0.00", S.ACTIVE),
    (S.PARTIALLY_REFUNDED, None, "1000.00", S.PARTIALLY_REFUNDED),
    (S.PARTIALLY_REFUNDED, B.ACTIVE, "1000.00", S.PARTIALLY_REFUNDED),
    (S.PARTIALLY_REFUNDED, B.CANCELLED, "1000.00", S.CANCELLED),
    (S.REFUNDED, None, "2999.00", S.REFUNDED),
    (S.REFUNDED, B.ACTIVE, "2999.00", S.REFUNDED),
])
def test_status_after_backfill_keeps_refunds(current, requested, refunded, expected):
    assert rules.status_after_backfill(current, requested, amount=Decimal("2999.00"),
                                       refunded=Decimal(refunded)) == expected


@pytest.mark.parametrize("requested", [B.EXPIRED, B.CANCELLED])
def test_a_fully_refunded_order_is_never_backfilled_expired_or_cancelled(requested):
    with pytest.raises(OrderRefunded):
        rules.status_after_backfill(S.REFUNDED, requested, amount=Decimal("2999.00"), refunded=Decimal("2999.00"))


def test_a_free_order_is_live_not_refunded():
    assert rules.live_status(amount=Decimal("0.00"), refunded=Decimal("0.00")) == S.ACTIVE
