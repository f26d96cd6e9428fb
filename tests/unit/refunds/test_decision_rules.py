"""Decisions, guarantee claims, SLA and evidence rules at their boundaries (issue 12; PRD §6.4 RFR-003..006)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sales.core import files
from sales.refunds import rules

PAID = datetime(2026, 1, 10, 10, 0, tzinfo=UTC)
PRIME = {"description": "Full refund if fewer than 3 owners respond within 10 days", "window_days": 10,
         "condition": {"metric": "owner_responses", "lt": 3, "within_days": 10}, "refund_percentage": 100,
         "evidence_required": ["contact_log"]}


@pytest.mark.parametrize(("status", "approval", "flagged", "amount", "manager"), [
    ("PENDING_APPROVAL", "SUPPORT_AGENT", False, None, False),
    ("PENDING_APPROVAL", "SUPPORT_AGENT", False, Decimal("5000.00"), False),
    ("PENDING_APPROVAL", "SUPPORT_AGENT", False, Decimal("5000.01"), True),   # RFR-004 on the approved amount
    ("PENDING_MANAGER_APPROVAL", "MANAGER", False, Decimal("100.00"), True),
    ("PENDING_MANAGER_APPROVAL", "MANAGER", True, None, True),                # RFR-005
    ("UNDER_INVESTIGATION", "SUPPORT_AGENT", False, Decimal("499.99"), False),
    ("UNDER_INVESTIGATION", "MANAGER", False, None, True),
])
def test_rfr_004_rfr_005_who_decides(status, approval, flagged, amount, manager):
    assert rules.needs_manager(status=status, approval=approval, flagged=flagged, amount=amount) is manager


@pytest.mark.parametrize(("refundable", "refunded", "exception", "limit"), [
    ("1399.07", "0.00", False, "1399.07"),
    ("1399.07", "200.00", False, "1299.00"),    # paid minus refunded is lower
    ("0.00", "0.00", True, "1499.00"),          # a policy exception is bound by what was paid only
    ("0.00", "1499.00", True, "0.00"),
    ("0.00", "1600.00", True, "0.00"),          # never negative
])
def test_an_approval_never_exceeds_paid_minus_refunded(refundable, refunded, exception, limit):
    assert rules.approvable_limit(refundable=Decimal(refundable), paid=Decimal("1499.00"), refunded=Decimal(refunded),
                                  exception=exception) == Decimal(limit)


def test_the_default_approved_amount_is_what_was_asked_or_for_an_exception_the_pro_rata_figure():
    stored = [{"id": "RFR-006", "figures": {"refundable": Decimal("1399.07")}}]
    assert rules.default_approval_amount(requested=Decimal("600.00"), rules=stored,
                                         limit=Decimal("1499.00")) == Decimal("600.00")
    assert rules.default_approval_amount(requested=Decimal("0.00"), rules=stored,
                                         limit=Decimal("1499.00")) == Decimal("1399.07")
    assert rules.default_approval_amount(requested=Decimal("0.00"), rules=stored,
                                         limit=Decimal("1000.00")) == Decimal("1000.00")
    assert rules.default_approval_amount(requested=Decimal("0.00"), rules=[], limit=Decimal("1.00")) == Decimal("0")


@pytest.mark.parametrize(("resolved", "at", "breached"), [
    (None, timedelta(days=7), False), (None, timedelta(days=7, seconds=1), True),
    (timedelta(days=7), timedelta(days=30), False), (timedelta(days=7, seconds=1), timedelta(days=30), True),
])
def test_refund_sla_breach_to_the_second(resolved, at, breached):
    expected = PAID + timedelta(days=7)
    assert rules.sla_breached(expected_resolution_by=expected, resolved_at=None if resolved is None else
                              PAID + resolved, at=PAID + at) is breached


@pytest.mark.parametrize(("after", "passed"), [(timedelta(days=10), True), (timedelta(days=10, seconds=1), False)])
def test_a_guarantee_claim_follows_its_window_to_the_second(after, passed):
    answer = rules.evaluate_claim(guarantee=PRIME, paid_at=PAID, amount=Decimal("1499.00"), refunded=Decimal("0"),
                                  at=PAID + after)
    assert (answer.eligible, answer.refundable_amount != 0) == (passed, passed)
    assert [r.id for r in answer.rules] == ["GUARANTEE", "GUARANTEE-WINDOW", "GUARANTEE-AMOUNT", "RFR-005", "RFR-004"]


@pytest.mark.parametrize(("percentage", "refunded", "refundable"), [
    (100, "0.00", "1499.00"), (50, "0.00", "749.50"), (33, "0.00", "494.67"),  # 494.67 = 1499 x 0.33 half-up
    (100, "1000.00", "499.00"), (1, "0.00", "14.99")])
def test_a_claims_amount_is_its_percentage_never_more_than_paid_minus_refunded(percentage, refunded, refundable):
    outcome = rules.guarantee_amount(amount=Decimal("1499.00"), refunded=Decimal(refunded), percentage=percentage)
    assert outcome.figures["refundable"] == Decimal(refundable)


def test_a_claim_on_a_plan_without_a_guarantee_is_not_eligible_and_a_claim_is_never_automatic():
    answer = rules.evaluate_claim(guarantee=None, paid_at=PAID, amount=Decimal("1499.00"), refunded=Decimal("0"),
                                  at=PAID)
    assert (answer.eligible, [(r.id, r.passed) for r in answer.rules]) == (
        False, [("GUARANTEE", False), ("RFR-005", True)])
    assert rules.claim_approver(Decimal("499.99")) == rules.SUPPORT_AGENT
    assert rules.claim_approver(Decimal("5000.01")) == rules.MANAGER
    assert rules.claim_approver(Decimal("10.00"), flagged=True) == rules.MANAGER


@pytest.mark.parametrize(("content", "kind"), [
    (b"\xff\xd8\xff\xe0JFIF", "image/jpeg"), (b"\x89PNG\r\n\x1a\n....", "image/png"), (b"%PDF-1.4", "application/pdf"),
    (b"GIF89a", None), (b"<svg>", None), (b"", None), (b"\x89PNG", None)])
def test_evidence_is_recognised_by_its_magic_bytes(content, kind):
    assert files.sniff(content) == kind


def test_missing_evidence_lists_the_kinds_not_provided():
    assert rules.missing_evidence(required=["contact_log", "listing_link"], provided=[None, "contact_log"]) == [
        "listing_link"]
