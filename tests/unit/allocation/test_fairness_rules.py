"""Issue 17, pure parts: the return offset (LAR-004 without a burst), the ledger's expected shares, rule
inheritance and the rebalancing spread."""
from __future__ import annotations

import uuid
from fractions import Fraction

from sales.allocation import fairness, inheritance, rules
from tests.unit.allocation.factories import NOW, make_lead, make_rm, make_rules


def test_lar_004_return_offset_levels_with_the_rm_furthest_behind():
    config = make_rules()
    back = make_rm(0, received_today=1)
    others = [make_rm(1, received_today=10), make_rm(2, received_today=7, fairness_offset=1),
              make_rm(3, received_today=20, capacity=50)]  # weight 2: 10 per unit, same level as RM 1
    assert fairness.return_offset(back, others, config) == 7  # level 8 (RM 2: 7 + 1) minus the 1 received
    assert fairness.return_offset(back, [], config) == 0
    assert fairness.return_offset(make_rm(0, received_today=9), others, config) == 0  # never negative
    assert fairness.return_offset(make_rm(0, capacity=50), others, config) == 16  # twice the weight


def test_lar_004_the_offset_counts_in_the_order_but_not_for_caps():
    config = make_rules(max_leads_per_day=3)
    back = make_rm(0, received_today=2, fairness_offset=10)
    other = make_rm(1, received_today=2)
    decision = rules.decide(make_lead(), [back, other], config, NOW)
    assert decision.ranking == [other.id, back.id]  # (2 + 10 + 1) / 1 = 13 behind (2 + 1) / 1 = 3
    assert next(e for e in decision.candidates if e["rm_id"] == str(back.id))["fairness_offset"] == 10
    assert rules.cap_reached(back, config) is None  # 2 of 3 today: the offset is not counted


def test_expected_shares_follow_the_weights_of_the_eligible_candidates():
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    decision = {"candidates": [{"rm_id": str(a), "eligible": True, "weight": 1.2},
                               {"rm_id": str(b), "eligible": True, "weight": 2.4},
                               {"rm_id": str(c), "eligible": False, "excluded_by": "AVAILABILITY"}]}
    assert fairness.expected_shares(a, "AUTO", decision) == {a: Fraction(1, 3), b: Fraction(2, 3)}
    assert fairness.expected_shares(c, "MANUAL", {"outcome": "MANUAL"}) == {c: Fraction(1)}
    assert fairness.expected_shares(c, "AUTO", {"outcome": "REBALANCED"}) == {c: Fraction(1)}


def test_inheritance_overrides_overlay_and_sources():
    star = {"sla_minutes": 90, "skill_match": {"segment": False}}
    own = inheritance.overrides({**inheritance.default_config(star), "sla_minutes": 60, "overflow_to_backup": True},
                                inheritance.default_config(star))
    assert own == {"sla_minutes": 60}
    effective = inheritance.effective(star, own)
    assert (effective.sla_minutes, effective.skill_match.segment, effective.skill_match.deal_size) == (60, False, True)
    sources = inheritance.sources(star, own)
    assert (sources["sla_minutes"], sources["skill_match.segment"], sources["skill_match.deal_size"]) == (
        "CITY", "DEFAULT", "BUILT_IN")
    assert inheritance.effective(None, None) == make_rules()


def test_lar_004_peers_share_a_locality_and_are_not_held_back_by_a_cap():
    config = make_rules(max_leads_per_day=5)
    back = make_rm(0, localities=("Koramangala",))
    local = make_rm(1, localities=("Koramangala", "HSR Layout"), received_today=4)
    capped = make_rm(2, localities=("Koramangala",), received_today=5)
    elsewhere = make_rm(3, localities=("Indiranagar",), received_today=0)
    away = make_rm(4, localities=("Koramangala",), availability="OFFLINE")
    assert fairness.peers(back, [back, local, capped, elsewhere, away], config) == [local]
    assert fairness.peers(make_rm(5, localities=("Whitefield",), zone="East"), [local, elsewhere], config) == [
        local, elsewhere]  # nobody shares the locality or the zone: the city
