"""Matching rules (issue 14 §2): must-haves filter, nice-to-haves score with partial credit, ties, feedback."""
from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from sales.core.errors import InvalidInput
from sales.journey import rules
from sales.journey.enums import Criterion, CriterionStatus
from sales.journey.schemas import RequirementsWrite

KORAMANGALA = rules.Centre(12.9352, 77.6245)


def req(**fields: Any) -> RequirementsWrite:
    return RequirementsWrite.model_validate({"deal_type": "RENT", **fields})


def listing(**overrides: Any) -> rules.ListingFacts:
    values: dict[str, Any] = dict(
        id=uuid.uuid4(), locality="Koramangala", lat=Decimal("12.935200"), lon=Decimal("77.624500"),
        property_type="APARTMENT", deal_type="RENT", price=Decimal("35000.00"), status="AVAILABLE",
        listed_at=datetime(2026, 1, 5, tzinfo=UTC), bhk=2, area_sqft=1100, furnishing="SEMI_FURNISHED",
        amenities=("LIFT", "PARKING"), available_from=date(2026, 2, 1))
    values.update(overrides)
    return rules.ListingFacts(**values)


CTX = rules.Context(centres={"koramangala": KORAMANGALA})


def only(criterion: str, requirement: dict[str, Any], **listing_overrides: Any) -> rules.Check:
    result = rules.explain(listing(**listing_overrides), req(**requirement, criteria={criterion: {"weight": 3}}),
                           CTX)
    [check] = result.checks
    return check


# Each row: criterion, requirement, listing overrides, expected status, credit, words the explanation must hold.
CASES = [
    ("budget", {"budget_max": "40000.00"}, {}, "MET", "1", "within"),
    ("budget", {"budget_max": "40000.00"}, {"price": Decimal("40400.00")}, "PARTIAL", "0.95", "1.0% over"),
    ("budget", {"budget_max": "40000.00"}, {"price": Decimal("44000.00")}, "PARTIAL", "0.50", "10.0% over"),
    ("budget", {"budget_max": "40000.00"}, {"price": Decimal("44000.01")}, "MISSED", "0", "over"),
    ("budget", {"budget_min": "30000.00"}, {"price": Decimal("28500.00")}, "PARTIAL", "0.75", "5.0% under"),
    ("area", {"area_min": 1000}, {"area_sqft": 950}, "PARTIAL", "0.75", "5.0% under"),
    ("area", {"area_min": 1000}, {"area_sqft": None}, "MISSED", "0", "not known"),
    ("location", {"localities": ["koramangala"]}, {}, "MET", "1", "in Koramangala"),
    ("location", {"localities": ["Koramangala"]},
     {"locality": "Ejipura", "lat": Decimal("12.9450"), "lon": Decimal("77.6300")}, "PARTIAL", "0.50",
     "Ejipura neighbours Koramangala"),
    ("location", {"localities": ["Koramangala"]},
     {"locality": "Whitefield", "lat": Decimal("12.9698"), "lon": Decimal("77.7500")}, "MISSED", "0",
     "not in Koramangala"),
    ("location", {"near": {"lat": 12.9352, "lon": 77.6245, "radius_km": 2}}, {}, "MET", "1", "within 2 km"),
    ("location", {"near": {"lat": 12.9352, "lon": 77.6245, "radius_km": 2}},
     {"lat": Decimal("12.9352"), "lon": Decimal("77.6500")}, "PARTIAL", "0.50", "beyond the 2 km radius"),
    ("location", {"near": {"lat": 12.9352, "lon": 77.6245, "radius_km": 2}},
     {"lat": Decimal("12.9352"), "lon": Decimal("77.7000")}, "MISSED", "0", "2 km of the point"),
    ("bhk", {"bhk_min": 2, "bhk_max": 3}, {"bhk": 3}, "MET", "1", "3 BHK within 2-3 BHK"),
    ("bhk", {"bhk_min": 2, "bhk_max": 3}, {"bhk": 4}, "PARTIAL", "0.50", "1 off"),
    ("bhk", {"bhk_min": 3}, {"bhk": 1}, "MISSED", "0", "2 off 3+ BHK"),
    ("property_type", {"property_type": "VILLA"}, {}, "MISSED", "0", "APARTMENT, not VILLA"),
    ("property_type", {"property_type": "APARTMENT"}, {}, "MET", "1", "as wanted"),
    ("furnishing", {"furnishing": "FURNISHED"}, {}, "PARTIAL", "0.50", "one step"),
    ("furnishing", {"furnishing": "UNFURNISHED"}, {"furnishing": "FURNISHED"}, "MISSED", "0", "not unfurnished"),
    ("amenities", {"amenities": ["LIFT", "PARKING", "GYM"]}, {}, "PARTIAL", "0.67", "lacks GYM"),
    ("amenities", {"amenities": ["lift"]}, {}, "MET", "1", "has LIFT"),
    ("amenities", {"amenities": ["POOL"]}, {}, "MISSED", "0", "lacks POOL"),
    ("move_in", {"move_in_by": "2026-01-25"}, {}, "PARTIAL", "0.50", "7 days after"),
    ("move_in", {"move_in_by": "2026-01-10"}, {}, "MISSED", "0", "22 days after"),
    ("move_in", {"move_in_by": "2026-02-01"}, {"available_from": None}, "MET", "1", "available by"),
]


@pytest.mark.parametrize(("criterion", "requirement", "overrides", "status", "credit", "words"), CASES)
def test_each_criterion_and_its_partial_credit_is_explained(criterion, requirement, overrides, status, credit,
                                                            words):
    check = only(criterion, requirement, **overrides)
    assert check.criterion is Criterion(criterion)
    assert check.status is CriterionStatus(status)
    assert check.credit == Decimal(credit)
    assert words in check.detail, check.detail


def test_must_haves_filter_and_only_full_met_counts():
    requirement = req(budget_max="40000.00", bhk_min=2, bhk_max=2,
                      criteria={"budget": {"must": True}, "bhk": {"weight": 5}})
    assert rules.match(listing(price=Decimal("40400.00")), requirement) is None  # 1% over: a miss for a must
    kept = rules.match(listing(bhk=3), requirement)
    assert kept is not None and kept.score == 50
    [budget, bhk] = kept.checks
    assert (budget.must, budget.weight, budget.status) == (True, None, CriterionStatus.MET)
    assert (bhk.must, bhk.weight, bhk.status) == (False, 5, CriterionStatus.PARTIAL)


@pytest.mark.parametrize(("status", "deal_type"), [("LET_OUT", "RENT"), ("SOLD", "RENT"), ("INACTIVE", "RENT"),
                                                    ("AVAILABLE", "SALE")])
def test_only_available_listings_of_the_deal_type_match(status, deal_type):
    assert rules.match(listing(status=status, deal_type=deal_type), req()) is None


def test_score_is_normalized_over_the_weights():
    requirement = req(budget_max="40000.00", bhk_min=3, bhk_max=3, amenities=["LIFT", "GYM"],
                      criteria={"budget": {"weight": 5}, "bhk": {"weight": 3}, "amenities": {"weight": 2}})
    result = rules.match(listing(), requirement)
    # (5*1 + 3*0.5 + 2*0.5) / 10 = 75
    assert result is not None and result.score == 75


def test_no_nice_to_haves_scores_100_and_unnamed_criteria_weigh_3():
    assert rules.match(listing(), req(budget_max="40000.00", criteria={"budget": {"must": True}})).score == 100
    result = rules.match(listing(bhk=4), req(bhk_min=2, bhk_max=3, budget_max="40000.00",
                                             criteria={"budget": {"weight": 1}}))
    assert [c.weight for c in result.checks] == [1, 3]
    assert result.score == 63  # (1*1 + 3*0.5) / 4 = 62.5, rounded half up


def test_ties_go_to_the_cheaper_then_the_newer_listing_then_the_id():
    requirement = req(budget_max="40000.00")
    cheap = listing(price=Decimal("30000.00"))
    older = listing(price=Decimal("35000.00"), listed_at=datetime(2026, 1, 1, tzinfo=UTC))
    newer = listing(price=Decimal("35000.00"), listed_at=datetime(2026, 1, 9, tzinfo=UTC))
    same_a, same_b = sorted([listing(price=Decimal("36000.00")), listing(price=Decimal("36000.00"))],
                            key=lambda x: str(x.id))
    ranked = rules.rank([same_b, older, newer, same_a, cheap], requirement)
    assert [m.listing for m in ranked] == [cheap, newer, older, same_a, same_b]
    assert {m.score for m in ranked} == {100}
    assert all(c.detail.startswith("price ₹") for m in ranked for c in m.checks)  # the returned ones are explained
    assert [m.listing for m in rules.rank([same_b, older, newer, same_a, cheap], requirement, limit=2)] == [cheap, newer]


def test_disliked_and_similar_listings_rank_lower_and_say_why():
    requirement = req(budget_max="40000.00")
    disliked = listing()
    similar = listing(price=Decimal("36000.00"), bhk=3)
    elsewhere = listing(locality="Indiranagar", price=Decimal("39000.00"))
    ranked = rules.rank([disliked, similar, elsewhere], requirement, disliked=[disliked])
    assert [m.listing for m in ranked] == [elsewhere, similar, disliked]
    assert ranked[1].adjusted_score == 100 - rules.SIMILAR_PENALTY and "like a property" in ranked[1].feedback
    assert ranked[2].adjusted_score == 100 - rules.DISLIKED_PENALTY and "disliked this" in ranked[2].feedback
    assert ranked[0].feedback is None


@pytest.mark.parametrize(("fields", "loc"), [
    ({"budget_min": "5.00", "budget_max": "4.00"}, ("budget_min",)),
    ({"area_min": 900, "area_max": 800}, ("area_min",)),
    ({"near": {"radius_km": 3}}, ("near", "lat")),
    ({"near": {"lat": 12.9}}, ("near", "lon")),
    ({"criteria": {"furnishing": {"weight": 2}}}, ("criteria", "furnishing")),
])
def test_requirements_cross_checks_name_the_field(fields, loc):
    with pytest.raises(InvalidInput) as caught:
        rules.check_requirements(req(**fields))
    assert caught.value.extra["errors"][0]["loc"] == ["body", *loc]


def test_distance_is_haversine():
    assert rules.distance_km(12.9352, 77.6245, 12.9352, 77.6245) == 0
    assert abs(rules.distance_km(0, 0, 0, 1) - 111.19) < 0.01


@pytest.mark.parametrize(("amount", "text"), [("35000.00", "₹35,000"), ("1250000.00", "₹12,50,000"),
                                              ("999.50", "₹999.50"), ("123456789.05", "₹12,34,56,789.05"),
                                              ("0.00", "₹0")])
def test_amounts_in_explanations_use_indian_grouping(amount, text):
    assert rules._amount(Decimal(amount)) == text
