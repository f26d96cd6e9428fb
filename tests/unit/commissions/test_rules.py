"""Commission rules at their boundaries (PRD §6.2 CMR-001..006)."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sales.commissions import rules
from sales.commissions.enums import CommissionType

SALE = datetime(2026, 1, 10, 10, 0, tzinfo=UTC)
TIERS = (rules.Tier(Decimal("0"), Decimal("5")), rules.Tier(Decimal("100"), Decimal("7")),
         rules.Tier(Decimal("120"), Decimal("10")))


def plan(kind: CommissionType, **kw) -> rules.Plan:  # type: ignore[no-untyped-def]
    return rules.Plan(id=uuid.uuid4(), version=1, commission_type=kind, amount=kw.get("amount"),
                      rate=kw.get("rate"), tiers=kw.get("tiers", ()), exception_above=Decimal("25000.00"))


@pytest.mark.parametrize(("after", "earned"), [
    (timedelta(days=29, hours=23, minutes=59, seconds=59), False),
    (timedelta(days=30), True),
    (timedelta(days=30, seconds=1), True),
])
def test_cmr_001_earned_from_the_30th_day(after, earned):  # type: ignore[no-untyped-def]
    assert rules.earned_at(SALE) == SALE + timedelta(days=30)
    assert rules.is_earned(rules.earned_at(SALE), SALE + after) is earned


@pytest.mark.parametrize(("after", "claws"), [
    (timedelta(days=0), True),
    (timedelta(days=44), True),
    (timedelta(days=45), True),
    (timedelta(days=45, seconds=1), False),
    (timedelta(days=46), False),
])
def test_cmr_002_clawback_within_45_days_inclusive(after, claws):  # type: ignore[no-untyped-def]
    assert rules.claws_back(SALE, SALE + after) is claws


@pytest.mark.parametrize(("achieved", "tier", "rate"), [
    (None, 1, "5"),                 # no monthly REVENUE target: the lowest tier
    (Decimal("0"), 1, "5"),
    (Decimal("99.99"), 1, "5"),
    (Decimal("99.9999999"), 1, "5"),
    (Decimal("100"), 2, "7"),
    (Decimal("119.99"), 2, "7"),
    (Decimal("120"), 3, "10"),
    (Decimal("250"), 3, "10"),
])
def test_cmr_003_tier_edges(achieved, tier, rate):  # type: ignore[no-untyped-def]
    number, chosen = rules.tier_for(TIERS, achieved)
    assert (number, chosen.rate) == (tier, Decimal(rate))


def test_cmr_003_achievement_is_exact_and_none_without_a_target():
    assert rules.achievement(Decimal("99999.99"), Decimal("100000.00")) < 100
    assert rules.achievement(Decimal("100000.00"), Decimal("100000.00")) == 100
    assert rules.achievement(Decimal("5"), None) is None
    assert rules.achievement(Decimal("5"), Decimal("0")) is None


def test_cmr_003_tiered_calculation_names_its_inputs():
    calc = rules.calculate(plan(CommissionType.TIERED, tiers=TIERS), transaction_type="SUBSCRIPTION_NEW",
                           base=Decimal("10000.00"), achieved=Decimal("120"), target=Decimal("50000.00"),
                           revenue=Decimal("60000.00"))
    assert (calc.rate, calc.amount) == (Decimal("10"), Decimal("1000.00"))
    assert calc.inputs["tier"] == 3 and calc.inputs["achievement_percentage"] == Decimal("120.00")
    assert "tier 3" in calc.rule and "achievement 120.00%" in calc.rule


@pytest.mark.parametrize(("kind", "kw", "base", "amount"), [
    (CommissionType.PERCENTAGE, {"rate": Decimal("5")}, "12345.67", "617.28"),     # 617.2835 -> down
    (CommissionType.PERCENTAGE, {"rate": Decimal("2.5")}, "0.21", "0.01"),          # 0.00525 -> half up
    (CommissionType.PERCENTAGE, {"rate": Decimal("1")}, "0.50", "0.01"),            # 0.005 -> half up
    (CommissionType.FIXED, {"amount": Decimal("250.00")}, "99999.00", "250.00"),
])
def test_amounts_round_half_up_to_the_paisa(kind, kw, base, amount):  # type: ignore[no-untyped-def]
    calc = rules.calculate(plan(kind, **kw), transaction_type="SUBSCRIPTION_NEW", base=Decimal(base), achieved=None,
                           target=None, revenue=Decimal(base))
    assert calc.amount == Decimal(amount)


@pytest.mark.parametrize(("amount", "total", "final", "adjustment", "noted"), [
    ("1000.00", "118000.00", "1000.00", None, False),          # well under the 120,000.00 cap
    ("2000.00", "118000.00", "2000.00", None, False),          # exactly at the cap
    ("2000.01", "118000.00", "2000.00", "-0.01", True),        # crosses by a paisa: reduced to the cap
    ("5000.00", "119000.00", "1000.00", "-4000.00", True),
    ("5000.00", "120000.00", "0.00", "-5000.00", True),        # beyond: zero
    ("-300.00", "120000.00", "-300.00", None, False),          # a correction is never capped
])
def test_cmr_005_month_capped_at_3x_base_salary(amount, total, final, adjustment, noted):  # type: ignore[no-untyped-def]
    capped = rules.cap(Decimal(amount), month_total=Decimal(total), base_salary=Decimal("40000.00"))
    assert capped.final == Decimal(final)
    assert capped.adjustment == (None if adjustment is None else Decimal(adjustment))
    assert (capped.note is not None) is noted
    if noted:
        assert capped.note.startswith("CMR-005") and "120000.00" in capped.note


@pytest.mark.parametrize(("after", "allowed"), [
    (timedelta(days=6, hours=23), True),
    (timedelta(days=7), True),
    (timedelta(days=7, seconds=1), False),
])
def test_cmr_006_dispute_within_7_days_of_calculation(after, allowed):  # type: ignore[no-untyped-def]
    assert rules.may_dispute(SALE, SALE + after) is allowed


def test_exception_reasons():
    assert rules.exception_reasons(amount=Decimal("25000.00"), threshold=Decimal("25000.00"), manual=False,
                                   fraud_flagged=False) == []
    assert len(rules.exception_reasons(amount=Decimal("25000.01"), threshold=Decimal("25000.00"), manual=True,
                                       fraud_flagged=True)) == 3


@pytest.mark.parametrize(("tiers", "ok"), [
    ([], False), ([rules.Tier(Decimal("10"), Decimal("5"))], False),
    ([rules.Tier(Decimal("0"), Decimal("5")), rules.Tier(Decimal("0"), Decimal("7"))], False),
    (list(TIERS), True),
])
def test_tier_tables_start_at_zero_and_rise(tiers, ok):  # type: ignore[no-untyped-def]
    assert (rules.check_tiers(tiers) is None) is ok


def test_periods_are_utc_calendar_months():
    assert rules.period_of(datetime(2026, 1, 31, 23, 59, tzinfo=UTC)) == "2026-01"
    assert rules.month_bounds("2026-12") == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
