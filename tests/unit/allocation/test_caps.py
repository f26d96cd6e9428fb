"""Issue 17 daily and weekly caps in the pure engine: precedence (RM, team default, city default), exclusion
with its own reason in the trace, and the week starting on Monday."""
from __future__ import annotations

import uuid
from datetime import date

from sales.allocation import rules
from tests.unit.allocation.factories import NOW, entry, make_lead, make_rm, make_rules

TEAM = uuid.UUID(int=99)


def test_caps_come_from_the_rm_then_the_team_then_the_city():
    config = make_rules(max_leads_per_day=9, max_leads_per_week=40,
                        team_caps=[{"team_id": str(TEAM), "max_leads_per_day": 5}])
    assert rules.caps(make_rm(team_id=TEAM, max_leads_per_day=3), config) == (3, 40)
    assert rules.caps(make_rm(team_id=TEAM), config) == (5, 40)
    assert rules.caps(make_rm(team_id=None), config) == (9, 40)
    assert rules.caps(make_rm(), make_rules()) == (None, None)


def test_an_rm_at_the_daily_cap_is_excluded_with_that_reason():
    capped, free = make_rm(0, max_leads_per_day=2, received_today=2), make_rm(1, received_today=7)
    decision = rules.decide(make_lead(), [capped, free], make_rules(), NOW)
    assert decision.rm_id == free.id
    assert entry(decision, capped)["excluded_by"] == "DAILY_CAP"
    assert "2/2 leads today" in entry(decision, capped)["why"]


def test_an_rm_at_the_weekly_cap_is_excluded_with_that_reason():
    capped = make_rm(0, received_today=1, received_this_week=4)
    decision = rules.decide(make_lead(), [capped], make_rules(max_leads_per_week=4), NOW)
    assert decision.outcome == "QUEUED"
    assert entry(decision, capped)["excluded_by"] == "WEEKLY_CAP"


def test_below_the_caps_the_rm_stays_eligible():
    rm = make_rm(0, received_today=1, received_this_week=3)
    decision = rules.decide(make_lead(), [rm], make_rules(max_leads_per_day=2, max_leads_per_week=4), NOW)
    assert decision.rm_id == rm.id


def test_the_week_starts_on_monday():
    assert rules.week_start(date(2026, 1, 25)) == date(2026, 1, 19)  # a Sunday -> the Monday before
    assert rules.week_start(date(2026, 1, 26)) == date(2026, 1, 26)  # a Monday is its own week's start


def test_replaying_a_lead_counts_it_in_the_week_too():
    rm = rules.after_allocation(make_rm(0), NOW)
    assert (rm.received_today, rm.received_this_week) == (1, 1)
