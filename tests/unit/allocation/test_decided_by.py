"""Issue 17 (PRD §3.2.3): which allocation type settled an engine decision, recorded as decided_by."""
from __future__ import annotations

from sales.allocation import rules
from tests.unit.allocation.factories import NOW, make_lead, make_rm, make_rules


def test_round_robin_when_the_deficit_order_chose_among_several():
    decision = rules.decide(make_lead(), [make_rm(0), make_rm(1)], make_rules(), NOW)
    assert decision.decided_by == "ROUND_ROBIN"
    assert decision.trace(lead=make_lead(), rules_version=1, priority_breakdown={})["decided_by"] == "ROUND_ROBIN"


def test_geographic_when_the_locality_level_had_one_rm():
    local, zonal = make_rm(0), make_rm(1, localities=("Indiranagar",))
    decision = rules.decide(make_lead(), [local, zonal], make_rules(), NOW)
    assert (decision.rm_id, decision.geo_level, decision.decided_by) == (local.id, "LOCALITY", "GEOGRAPHIC")


def test_skill_based_when_the_skill_filter_removed_candidates_at_that_level():
    able, commercial_only = make_rm(0), make_rm(1, property_types=("COMMERCIAL",))
    decision = rules.decide(make_lead(), [able, commercial_only], make_rules(), NOW)
    assert (decision.rm_id, decision.decided_by) == (able.id, "SKILL_BASED")


def test_a_skill_exclusion_at_a_wider_level_does_not_count():
    local = make_rm(0)
    far_commercial = make_rm(1, localities=("Indiranagar",), property_types=("COMMERCIAL",))
    decision = rules.decide(make_lead(), [local, far_commercial], make_rules(), NOW)
    assert decision.decided_by == "GEOGRAPHIC"


def test_a_queued_lead_has_no_decider():
    assert rules.decide(make_lead(), [], make_rules(), NOW).decided_by is None
