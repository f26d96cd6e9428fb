"""Refund eligibility rules at their boundaries (PRD §6.4 RFR-001..006, issue 12)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sales.refunds import rules

PAID = datetime(2026, 1, 10, 10, 0, tzinfo=UTC)
ENDS = PAID + timedelta(days=45)


def evaluate(at: datetime = PAID + timedelta(days=2), *, used: dict[str, int] | None = None,
             amount: str = "1499.00", refunded: str = "0.00", features: dict | None = None) -> rules.Eligibility:
    return rules.evaluate(paid_at=PAID, ends_at=ENDS, amount=Decimal(amount), refunded=Decimal(refunded),
                          duration_days=45, at=at, used=used or {},
                          features={"owner_contacts": 25, "relationship_manager": True} if features is None
                          else features)


@pytest.mark.parametrize(("after", "passed"), [(timedelta(days=7), True),
                                               (timedelta(days=7, seconds=1), False),
                                               (timedelta(0), True)])
def test_rfr_001_window_is_7_x_24_hours_inclusive_to_the_second(after, passed):
    outcome = rules.within_window(paid_at=PAID, at=PAID + after)
    assert (outcome.id, outcome.passed, outcome.figures["deadline"]) == ("RFR-001", passed, "2026-01-17T10:00:00Z")
    assert evaluate(PAID + after).eligible is passed


@pytest.mark.parametrize(("used", "passed", "percent"), [(12, True, Decimal("48.0")), (0, True, Decimal("0.0"))])
def test_rfr_002_at_most_half_used_passes(used, passed, percent):
    outcome = rules.usage_check(quotas={"owner_contacts": 25}, used={"owner_contacts": used})
    assert (outcome.passed, outcome.figures["highest_percent"]) == (passed, percent)


def test_rfr_002_exactly_50_percent_is_eligible_and_one_more_is_not():
    exactly = rules.usage_check(quotas={"owner_contacts": 10}, used={"owner_contacts": 5})
    over = rules.usage_check(quotas={"owner_contacts": 10}, used={"owner_contacts": 6})
    assert (exactly.passed, exactly.figures["highest_percent"]) == (True, Decimal("50.0"))
    assert (over.passed, over.figures["highest_percent"]) == (False, Decimal("60.0"))
    assert evaluate(used={"owner_contacts": 13}).eligible is False  # 52% of 25
    # 1001 of 2001 shows as 50.0% but is more than half: compared exactly, not on the rounded figure
    assert rules.usage_check(quotas={"a": 2001}, used={"a": 1001}).passed is False


def test_rfr_002_the_highest_share_counts_and_booleans_are_not_quotas():
    outcome = rules.usage_check(quotas=rules.quotas_of({"owner_contacts": 25, "site_visits": 4, "rm": True,
                                                        "label": "x"}),
                                used={"owner_contacts": 1, "site_visits": 3})
    assert (outcome.passed, outcome.figures["highest"], outcome.figures["highest_percent"]) == (
        False, "site_visits", Decimal("75.0"))
    assert rules.usage_check(quotas={}, used={}).passed is True


def test_rfr_006_pro_rata_on_whole_unused_days_half_up_to_the_paisa():
    # 2 days 1 hour in: 42 whole days 23 h left -> 42 unused days; 1499.00 x 42 / 45 = 1399.0666.. -> 1399.07
    at = PAID + timedelta(days=2, hours=1)
    assert rules.unused_days(ends_at=ENDS, at=at, duration_days=45) == 42
    outcome = rules.pro_rata(amount=Decimal("1499.00"), refunded=Decimal("0.00"), duration_days=45, unused=42)
    assert (outcome.id, outcome.passed, outcome.figures["refundable"]) == ("RFR-006", True, Decimal("1399.07"))
    # half-up: 100.00 x 1 / 8 = 12.5 -> 12.50; 0.01 x 1 / 2 = 0.005 -> 0.01
    assert rules.pro_rata(amount=Decimal("0.01"), refunded=Decimal("0"), duration_days=2,
                          unused=1).figures["refundable"] == Decimal("0.01")
    assert evaluate(at).refundable_amount == Decimal("1399.07")


def test_rfr_006_never_more_than_paid_minus_earlier_refunds():
    outcome = rules.pro_rata(amount=Decimal("1499.00"), refunded=Decimal("1000.00"), duration_days=45, unused=45)
    assert (outcome.figures["pro_rata"], outcome.figures["refundable"]) == (Decimal("1499.00"), Decimal("499.00"))
    nothing = rules.pro_rata(amount=Decimal("1499.00"), refunded=Decimal("1499.00"), duration_days=45, unused=45)
    assert (nothing.passed, nothing.figures["refundable"]) == (False, Decimal("0.00"))
    assert rules.unused_days(ends_at=ENDS, at=PAID - timedelta(days=3), duration_days=45) == 45
    assert rules.unused_days(ends_at=ENDS, at=ENDS + timedelta(days=1), duration_days=45) == 0


@pytest.mark.parametrize(("amount", "route"), [("0.01", "AUTO"), ("499.99", "AUTO"), ("500.00", "SUPPORT_AGENT"),
                                               ("5000.00", "SUPPORT_AGENT"), ("5000.01", "MANAGER")])
def test_rfr_003_rfr_004_approval_routing_at_rs_500_and_rs_5000(amount, route):
    assert rules.approver(Decimal(amount)) == route
    assert rules.approver(Decimal(amount), flagged=True) == "MANAGER"  # RFR-005: never automatic when flagged


def test_every_answer_lists_each_rule_with_its_figures():
    answer = evaluate(PAID + timedelta(days=1), used={"owner_contacts": 5})
    assert [(r.id, r.passed) for r in answer.rules] == [("RFR-001", True), ("RFR-002", True), ("RFR-006", True),
                                                        ("RFR-005", True), ("RFR-004", True)]
    assert (answer.eligible, answer.refundable_amount, answer.approval) == (True, Decimal("1465.69"),
                                                                            "SUPPORT_AGENT")
    assert answer.expected_resolution_by == PAID + timedelta(days=8)
    assert all(r.detail and r.figures for r in answer.rules)
    late = evaluate(PAID + timedelta(days=8))
    assert (late.eligible, late.refundable_amount, late.approval) == (False, Decimal("0.00"), "MANAGER")
    assert [(r.id, r.passed) for r in late.rules][0] == ("RFR-001", False)


@pytest.mark.parametrize(("days_ago", "flagged"), [((3, 10), True), ((3, 90), True), ((3, 91), False), ((3,), False)])
def test_rfr_005_a_3rd_refund_in_90_days_is_flagged_the_91st_day_is_outside(days_ago, flagged):
    at = PAID + timedelta(days=2)
    earlier = [(f"r{i}", at - timedelta(days=d)) for i, d in enumerate(days_ago)]
    outcome = rules.fraud_check(earlier=earlier, at=at)
    assert (outcome.id, outcome.passed, outcome.figures["flagged"]) == ("RFR-005", not flagged, flagged)
    assert len(outcome.figures["earlier_refunds"]) == sum(1 for d in days_ago if d <= 90)


def test_rfr_005_a_flagged_request_is_never_automatic_and_stays_eligible():
    at = PAID + timedelta(days=2)
    earlier = [("a", at - timedelta(days=1)), ("b", at - timedelta(days=2))]
    answer = rules.evaluate(paid_at=PAID, ends_at=ENDS, amount=Decimal("100.00"), refunded=Decimal("0"),
                            duration_days=45, features={}, used={}, at=at, earlier=earlier)
    assert (answer.eligible, answer.refundable_amount, answer.approval) == (True, Decimal("95.56"), "MANAGER")
    assert [(r.id, r.passed) for r in answer.rules] == [("RFR-001", True), ("RFR-002", True), ("RFR-006", True),
                                                        ("RFR-005", False), ("RFR-003", True)]
    assert answer.rules[-1].figures == {"amount": Decimal("95.56"), "approval": "MANAGER", "flagged": True}
