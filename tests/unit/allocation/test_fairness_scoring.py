"""LAR-004 deficit round robin and its tie-breaks, LAR-005 performance boost, fairness over a simulated day,
lead scoring (priority 1-5), LAR-006 breach outcomes, the coefficient of variation and rule validation."""
from __future__ import annotations

import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from sales.allocation import rules
from sales.allocation.config import AllocationRules
from tests.unit.allocation.factories import NOW, make_lead, make_rm, make_rules

# --- LAR-004 round robin by deficit ---------------------------------------------------------------


@pytest.mark.parametrize(("a", "b", "winner"), [
    ({"received_today": 3}, {"received_today": 2}, "b"),
    ({"received_today": 0}, {"received_today": 1}, "a"),
    # capacity-weighted: 50 capacity = weight 2, so (4+1)/2 = 2.5 beats (2+1)/1 = 3
    ({"received_today": 4, "capacity": 50}, {"received_today": 2}, "a"),
    ({"received_today": 6, "capacity": 50}, {"received_today": 2}, "b"),
    # equal deficit: lower utilization wins
    ({"active_leads": 10}, {"active_leads": 4}, "b"),
    # equal deficit and utilization: the longer wait since the last lead wins (never beats any time)
    ({"last_allocated_at": NOW - timedelta(minutes=5)}, {"last_allocated_at": NOW - timedelta(minutes=50)}, "b"),
    ({"last_allocated_at": None}, {"last_allocated_at": NOW - timedelta(days=3)}, "a"),
    # everything equal: the id decides, deterministically
    ({}, {}, "a"),
], ids=["LAR-004-fewer-today-wins", "LAR-004-zero-today-wins", "LAR-004-weighted-share-wins",
        "LAR-004-weighted-share-exhausted", "LAR-004-tie-utilization", "LAR-004-tie-last-allocated",
        "LAR-004-tie-never-allocated", "LAR-004-tie-id"])
def test_lar_004_deficit_round_robin(a, b, winner) -> None:
    rm_a, rm_b = make_rm(0, **a), make_rm(1, **b)
    expected = rm_a if winner == "a" else rm_b
    for order in ([rm_a, rm_b], [rm_b, rm_a]):  # the input order never matters
        ranked = rules.rank(order, make_lead(priority=1), make_rules())
        assert ranked[0][0].id == expected.id


def test_lar_004_unweighted_ignores_capacity() -> None:
    big, small = make_rm(0, capacity=100, received_today=2), make_rm(1, capacity=25, received_today=1)
    assert rules.rank([big, small], make_lead(priority=1), make_rules())[0][0].id == big.id
    unweighted = make_rules(capacity_weighted_round_robin=False)
    assert rules.rank([big, small], make_lead(priority=1), unweighted)[0][0].id == small.id


def _replay(rms: list[rules.Candidate], n: int, rules_: AllocationRules | None = None, **lead: object
            ) -> Counter[uuid.UUID]:
    leads = [make_lead(lead_id=uuid.UUID(int=10_000 + i), **lead) for i in range(n)]
    results, _ = rules.simulate(leads, {"bangalore": rms}, lambda city: rules_ or make_rules(), NOW)
    assert all(d.outcome == "ALLOCATED" for _, d in results)
    return Counter(d.rm_id for _, d in results)


def test_lar_004_thousand_leads_over_ten_equal_rms_are_even() -> None:
    rms = [make_rm(i, capacity=1000) for i in range(10)]
    counts = _replay(rms, 1000, priority=2)
    per_rm = [counts[rm.id] for rm in rms]
    assert max(per_rm) - min(per_rm) <= 1
    assert rules.coefficient_of_variation(per_rm) < 0.05


def test_lar_004_uneven_start_evens_out() -> None:
    rms = [make_rm(i, capacity=1000, received_today=i * 3) for i in range(10)]
    counts = _replay(rms, 1000, priority=2)
    totals = [counts[rm.id] + rm.received_today for rm in rms]
    assert max(totals) - min(totals) <= 1


def test_lar_004_capacity_weighted_shares() -> None:
    rms = [make_rm(0, capacity=500), make_rm(1, capacity=1000), make_rm(2, capacity=1500)]
    counts = _replay(rms, 600, priority=2)
    assert [counts[rm.id] for rm in rms] == pytest.approx([100, 200, 300], abs=1)


def test_lar_004_full_rms_drop_out_and_the_rest_queue() -> None:
    rms = [make_rm(i, capacity=3) for i in range(2)]
    leads = [make_lead(lead_id=uuid.UUID(int=50 + i), priority=2) for i in range(8)]
    results, state = rules.simulate(leads, {"bangalore": rms}, lambda city: make_rules(), NOW)
    assert [d.outcome for _, d in results] == ["ALLOCATED"] * 6 + ["QUEUED"] * 2
    assert [state[rm.id].active_leads for rm in rms] == [3, 3]


# --- LAR-005 performance boost ----------------------------------------------------------------------


@pytest.mark.parametrize(("priority", "min_priority", "enabled", "boosted"), [
    (5, 4, True, True), (4, 4, True, True), (3, 4, True, False), (1, 4, True, False),
    (3, 3, True, True), (5, 4, False, False),
], ids=["LAR-005-priority-5", "LAR-005-at-min-priority", "LAR-005-below-min-priority", "LAR-005-priority-1",
        "LAR-005-lower-threshold", "LAR-005-disabled"])
def test_lar_005_performance_boost(priority, min_priority, enabled, boosted) -> None:
    # The weaker performer is one lead behind; only the boost can make the stronger one win.
    strong = make_rm(0, performance_score=95, received_today=3)
    weak = make_rm(1, performance_score=20, received_today=2)
    config = make_rules(performance_boost={"enabled": enabled, "min_priority": min_priority})
    winner = rules.rank([weak, strong], make_lead(priority=priority), config)[0][0]
    assert winner.id == (strong.id if boosted else weak.id)
    reason = rules.decide(make_lead(priority=priority), [weak, strong], config, NOW).reason
    assert ("LAR-005" in reason) is (priority >= min_priority and enabled)


@pytest.mark.parametrize(("score", "strength", "weight"), [
    (50, 0.5, 1.0), (100, 0.5, 1.5), (0, 0.5, 0.5), (75, 0.5, 1.25), (100, 0.2, 1.2),
], ids=["LAR-005-neutral-at-50", "LAR-005-top", "LAR-005-bottom", "LAR-005-three-quarters", "LAR-005-strength"])
def test_lar_005_documented_weighting(score, strength, weight) -> None:
    config = make_rules(performance_boost={"strength": strength}, capacity_weighted_round_robin=False)
    assert rules.weight(make_rm(performance_score=score), make_lead(priority=5), config) == pytest.approx(weight)
    assert rules.weight(make_rm(performance_score=score), make_lead(priority=1), config) == pytest.approx(1.0)


def test_lar_005_high_value_leads_lean_to_high_performers_low_value_stay_even() -> None:
    strong, weak = make_rm(0, capacity=1000, performance_score=90), make_rm(1, capacity=1000, performance_score=30)
    high = _replay([strong, weak], 300, priority=5)
    assert high[strong.id] > 1.5 * high[weak.id]
    low = _replay([strong, weak], 300, priority=2)
    assert abs(low[strong.id] - low[weak.id]) <= 1


# --- lead scoring -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "segment", "source", "intent", "priority"), [
    (None, "TENANT", "WEBSITE", None, 1),
    (Decimal("4999.99"), "TENANT", "WEBSITE", None, 1),
    (Decimal("5000"), "TENANT", "WEBSITE", None, 2),
    (Decimal("25000"), "TENANT", "WEBSITE", None, 3),
    (Decimal("100000"), "TENANT", "WEBSITE", None, 4),
    (None, "BUYER", "WEBSITE", None, 2),
    (None, "OWNER", "WEBSITE", None, 2),
    (None, "TENANT", "REFERRAL", None, 2),
    (None, "TENANT", "WALK_IN", None, 2),
    (None, "TENANT", "INBOUND_CALL", None, 2),
    (None, "TENANT", "WEBSITE", {"urgency": "immediate"}, 2),
    (None, "TENANT", "WEBSITE", {"urgency": "LOW"}, 1),
    (None, "TENANT", "WEBSITE", {"visit_requested": True}, 2),
    (None, "TENANT", "WEBSITE", {"pre_approved_loan": True}, 2),
    (Decimal("25000"), "BUYER", "REFERRAL", None, 5),
    (Decimal("500000"), "BUYER", "REFERRAL", {"urgency": "HIGH"}, 5),  # capped at 5
], ids=["score-minimum", "score-below-5k", "score-5k", "score-25k", "score-1L", "score-buyer", "score-owner",
        "score-referral", "score-walk-in", "score-inbound-call", "score-urgent", "score-low-urgency",
        "score-visit-requested", "score-pre-approved-loan", "score-five", "score-capped"])
def test_score_lead(value, segment, source, intent, priority) -> None:
    got, breakdown = rules.score_lead(expected_deal_value=value, segment=segment, source=source, intent=intent)
    assert got == priority == breakdown["priority"]
    assert set(breakdown) == {"value", "segment", "source", "intent", "priority"}


# --- LAR-006 breach outcomes --------------------------------------------------------------------------


@pytest.mark.parametrize(("so_far", "max_breaches", "outcome"), [
    (0, 2, "REALLOCATE"), (1, 2, "ESCALATE"), (0, 1, "ESCALATE"), (1, 3, "REALLOCATE"), (2, 3, "ESCALATE"),
], ids=["LAR-006-first-breach", "LAR-006-second-breach", "LAR-006-escalate-at-once", "LAR-006-two-of-three",
        "LAR-006-three-of-three"])
def test_lar_006_breach_outcome(so_far, max_breaches, outcome) -> None:
    assert rules.breach_outcome(so_far, make_rules(max_sla_breaches=max_breaches)) == outcome


# --- coefficient of variation and rules -----------------------------------------------------------------


@pytest.mark.parametrize(("counts", "cv"), [
    ([10, 10, 10], 0.0), ([0, 20], 1.0), ([5], None), ([], None), ([0, 0], None), ([9, 11], 0.1),
], ids=["cv-even", "cv-all-to-one", "cv-single", "cv-empty", "cv-zero-mean", "cv-ten-percent"])
def test_coefficient_of_variation(counts, cv) -> None:
    got = rules.coefficient_of_variation(counts)
    assert got == (pytest.approx(cv) if cv is not None else None)


@pytest.mark.parametrize("bad", [
    {"geographic_widening": []}, {"geographic_widening": ["CITY", "LOCALITY"]},
    {"geographic_widening": ["ZONE", "ZONE"]}, {"geographic_widening": ["STATE"]}, {"sla_minutes": 0},
    {"max_sla_breaches": 0}, {"timezone": "Mars/Olympus"}, {"performance_boost": {"min_priority": 6}},
    {"skill_match": {"colour": True}}, {"surprise": 1},
], ids=["rules-widening-empty", "rules-widening-order", "rules-widening-duplicate", "rules-widening-unknown",
        "rules-sla-zero", "rules-breaches-zero", "rules-timezone", "rules-min-priority", "rules-unknown-skill",
        "rules-unknown-key"])
def test_invalid_rules_are_refused(bad) -> None:
    with pytest.raises(ValidationError):
        AllocationRules.model_validate(bad)


def test_after_allocation_updates_the_simulated_load() -> None:
    rm = rules.after_allocation(make_rm(active_leads=2, received_today=5), NOW)
    assert (rm.active_leads, rm.received_today, rm.last_allocated_at) == (3, 6, NOW)


def test_simulate_routes_each_lead_to_its_own_city() -> None:
    blr, mum = make_rm(0), make_rm(1, city="Mumbai", localities=("Andheri",))
    leads = [make_lead(), make_lead(city="mumbai ", locality="Andheri"), make_lead(city="Pune")]
    results, state = rules.simulate(leads, {"bangalore": [blr], "mumbai": [mum]}, lambda city: make_rules(),
                                    datetime(2026, 1, 17, 10, 30, tzinfo=UTC))
    assert [d.rm_id for _, d in results] == [blr.id, mum.id, None]
    assert [d.outcome for _, d in results] == ["ALLOCATED", "ALLOCATED", "QUEUED"]
    assert state[blr.id].received_today == 1 and state[mum.id].received_today == 1
