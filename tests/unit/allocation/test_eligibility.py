"""Who may receive a lead: LAR-001 geography and widening, LAR-002 capacity, LAR-003 skills, availability
(status, online, leave, shifts in the rules' time zone), LAR-007 overflow, and the decision trace."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from sales.allocation import rules
from tests.unit.allocation.factories import NOW, entry, make_lead, make_rm, make_rules

# --- LAR-001 geographic match ---------------------------------------------------------------------


@pytest.mark.parametrize(("rm_overrides", "expected"), [
    ({}, "LOCALITY"),
    ({"localities": ("  koramangala ",)}, "LOCALITY"),          # case and whitespace do not matter
    ({"localities": ("Indiranagar",)}, "ZONE"),
    ({"localities": ("Indiranagar",), "zone": "south"}, "ZONE"),
    ({"localities": ("Indiranagar",), "zone": "North"}, "CITY"),
    ({"localities": (), "zone": None}, "CITY"),
    ({"city": "BANGALORE"}, "LOCALITY"),
    ({"city": "Mumbai"}, None),
], ids=["LAR-001-locality", "LAR-001-locality-normalised", "LAR-001-zone", "LAR-001-zone-normalised",
        "LAR-001-city-other-zone", "LAR-001-city-no-zone", "LAR-001-city-normalised", "LAR-001-other-city"])
def test_lar_001_geo_level(rm_overrides, expected) -> None:
    assert rules.geo_level(make_lead(), make_rm(**rm_overrides)) == expected


def test_lar_001_locality_beats_zone_beats_city() -> None:
    city = make_rm(0, localities=(), zone="North")
    zone = make_rm(1, localities=("Indiranagar",))
    local = make_rm(2, received_today=5)  # further behind in round robin does not matter: geography first
    decision = rules.decide(make_lead(), [city, zone, local], make_rules(), NOW)
    assert (decision.outcome, decision.rm_id, decision.geo_level) == ("ALLOCATED", local.id, "LOCALITY")
    assert entry(decision, zone)["excluded_by"] == "LAR-001"
    assert entry(decision, city)["excluded_by"] == "LAR-001"

    decision = rules.decide(make_lead(), [city, zone], make_rules(), NOW)
    assert (decision.rm_id, decision.geo_level) == (zone.id, "ZONE")
    assert entry(decision, city)["excluded_by"] == "LAR-001"

    decision = rules.decide(make_lead(), [city], make_rules(), NOW)
    assert (decision.rm_id, decision.geo_level) == (city.id, "CITY")


@pytest.mark.parametrize(("widening", "winner", "level"), [
    (["LOCALITY", "ZONE", "CITY"], "zone", "ZONE"),
    (["LOCALITY", "CITY"], "city", "CITY"),   # no zone step: zone and city RMs compete, round robin decides
    (["ZONE", "CITY"], "zone", "ZONE"),
    (["LOCALITY"], None, None),
    (["CITY"], "city", "CITY"),
], ids=["LAR-001-widen-default", "LAR-001-widen-skip-zone", "LAR-001-start-at-zone", "LAR-001-locality-only",
        "LAR-001-city-only"])
def test_lar_001_widening_is_configurable(widening, winner, level) -> None:
    rms = {"city": make_rm(0, localities=(), zone="North"),
           "zone": make_rm(1, localities=("Indiranagar",), received_today=3)}
    decision = rules.decide(make_lead(), list(rms.values()), make_rules(geographic_widening=widening), NOW)
    assert decision.geo_level == level
    if winner is None:
        assert decision.outcome == "QUEUED"
        assert {entry(decision, rm)["excluded_by"] for rm in rms.values()} == {"LAR-001"}
        return
    assert (decision.outcome, decision.rm_id) == ("ALLOCATED", rms[winner].id)
    for name, rm in rms.items():
        if name != winner and level == "ZONE":
            assert entry(decision, rm)["excluded_by"] == "LAR-001"


def test_lar_001_rm_in_another_city_excluded() -> None:
    mumbai = make_rm(0, city="Mumbai")
    decision = rules.decide(make_lead(), [mumbai], make_rules(), NOW)
    assert decision.outcome == "QUEUED" and decision.rm_id is None
    assert entry(decision, mumbai)["excluded_by"] == "LAR-001"
    assert entry(decision, mumbai)["eligible"] is False


def test_lar_001_no_rm_at_all_queues_with_reason() -> None:
    decision = rules.decide(make_lead(city="Atlantis"), [], make_rules(), NOW)
    assert decision.outcome == "QUEUED"
    assert "Atlantis" in decision.reason and decision.candidates == []


# --- LAR-002 capacity -----------------------------------------------------------------------------


@pytest.mark.parametrize(("active", "capacity", "excluded"), [
    (0, 25, False), (24, 25, False), (25, 25, True), (26, 25, True), (0, 0, True), (2, 3, False), (3, 3, True),
], ids=["LAR-002-empty", "LAR-002-one-slot-left", "LAR-002-full", "LAR-002-over", "LAR-002-zero-capacity",
        "LAR-002-small-free", "LAR-002-small-full"])
def test_lar_002_capacity(active, capacity, excluded) -> None:
    result = rules.exclusion(make_lead(), make_rm(active_leads=active, capacity=capacity), make_rules(), NOW)
    assert (result is not None and result[0] == "LAR-002") is excluded
    if not excluded:
        assert result is None


def test_lar_002_full_rm_skipped_for_one_with_room() -> None:
    full = make_rm(0, active_leads=25)
    free = make_rm(1, active_leads=24, received_today=9)
    decision = rules.decide(make_lead(), [full, free], make_rules(), NOW)
    assert decision.rm_id == free.id
    assert entry(decision, full)["excluded_by"] == "LAR-002"
    assert "25/25" in entry(decision, full)["why"]


# --- LAR-003 skill match --------------------------------------------------------------------------

SKILL_CASES = [
    ({"property_type": "COMMERCIAL"}, {}, "property_type"),
    ({"segment": "OWNER"}, {}, "segment"),
    ({"expected_deal_value": Decimal("100000.01")}, {"max_deal_value": Decimal("100000.00")}, "deal_size"),
]


@pytest.mark.parametrize(("lead_overrides", "rm_overrides", "toggle"), SKILL_CASES,
                         ids=["LAR-003-property-type", "LAR-003-segment", "LAR-003-deal-size"])
def test_lar_003_skill_mismatch_excludes(lead_overrides, rm_overrides, toggle) -> None:
    lead, rm = make_lead(**lead_overrides), make_rm(**rm_overrides)
    assert rules.exclusion(lead, rm, make_rules(), NOW)[0] == "LAR-003"


@pytest.mark.parametrize(("lead_overrides", "rm_overrides", "toggle"), SKILL_CASES,
                         ids=["LAR-003-property-type-off", "LAR-003-segment-off", "LAR-003-deal-size-off"])
def test_lar_003_each_skill_toggle_can_be_switched_off(lead_overrides, rm_overrides, toggle) -> None:
    lead, rm = make_lead(**lead_overrides), make_rm(**rm_overrides)
    assert rules.exclusion(lead, rm, make_rules(skill_match={toggle: False}), NOW) is None


@pytest.mark.parametrize(("value", "limit", "eligible"), [
    (Decimal("100000.00"), Decimal("100000.00"), True),
    (Decimal("99999.99"), Decimal("100000.00"), True),
    (Decimal("100000.01"), Decimal("100000.00"), False),
    (None, Decimal("100000.00"), True),
    (Decimal("9999999.00"), None, True),
], ids=["LAR-003-deal-at-limit", "LAR-003-deal-under", "LAR-003-deal-over", "LAR-003-no-deal-value",
        "LAR-003-no-limit"])
def test_lar_003_deal_size(value, limit, eligible) -> None:
    result = rules.exclusion(make_lead(expected_deal_value=value), make_rm(max_deal_value=limit), make_rules(), NOW)
    assert (result is None) is eligible


def test_lar_003_skilled_rm_wins_over_unskilled() -> None:
    unskilled = make_rm(0, property_types=("RESIDENTIAL",))
    skilled = make_rm(1, property_types=("RESIDENTIAL", "COMMERCIAL"), received_today=7)
    decision = rules.decide(make_lead(property_type="COMMERCIAL"), [unskilled, skilled], make_rules(), NOW)
    assert decision.rm_id == skilled.id
    assert entry(decision, unskilled)["excluded_by"] == "LAR-003"


# --- availability ---------------------------------------------------------------------------------

MONDAY_0930_UTC = datetime(2026, 1, 19, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(("rm_overrides", "why"), [
    ({"status": "INACTIVE"}, "inactive"),
    ({"availability": "OFFLINE"}, "offline"),
    ({"leaves": ((date(2026, 1, 17), date(2026, 1, 17)),)}, "leave"),
    ({"leaves": ((date(2026, 1, 10), date(2026, 1, 20)),)}, "leave"),
    ({"shifts": ({"weekday": 0, "start": "09:00", "end": "18:00"},)}, "off shift"),  # NOW is a Saturday
], ids=["availability-inactive", "availability-offline", "availability-leave-today", "availability-leave-span",
        "availability-off-shift"])
def test_unavailable_rms_are_excluded(rm_overrides, why) -> None:
    result = rules.exclusion(make_lead(), make_rm(**rm_overrides), make_rules(), NOW)
    assert result is not None and result[0] == "AVAILABILITY" and why in result[1]


def test_leave_ended_yesterday_or_starting_tomorrow_does_not_exclude() -> None:
    for leave in ((date(2026, 1, 10), date(2026, 1, 16)), (date(2026, 1, 18), date(2026, 1, 19))):
        assert rules.exclusion(make_lead(), make_rm(leaves=(leave,)), make_rules(), NOW) is None


DAY = {"weekday": 0, "start": "09:00", "end": "18:00"}          # Monday
NIGHT = {"weekday": 0, "start": "22:00", "end": "06:00"}        # Monday night into Tuesday
SUNDAY_NIGHT = {"weekday": 6, "start": "22:00", "end": "06:00"}  # Sunday night into Monday


@pytest.mark.parametrize(("shifts", "at", "expected"), [
    ((), datetime(2026, 1, 17, 3, 0), True),
    ((DAY,), datetime(2026, 1, 19, 9, 0), True),
    ((DAY,), datetime(2026, 1, 19, 17, 59), True),
    ((DAY,), datetime(2026, 1, 19, 18, 0), False),
    ((DAY,), datetime(2026, 1, 19, 8, 59), False),
    ((DAY,), datetime(2026, 1, 20, 10, 0), False),
    ((NIGHT,), datetime(2026, 1, 19, 23, 0), True),
    ((NIGHT,), datetime(2026, 1, 20, 5, 59), True),
    ((NIGHT,), datetime(2026, 1, 20, 6, 0), False),
    ((NIGHT,), datetime(2026, 1, 19, 5, 0), False),   # Monday early morning belongs to Sunday's night
    ((SUNDAY_NIGHT,), datetime(2026, 1, 19, 5, 0), True),  # wraps Sunday -> Monday
    ((DAY, NIGHT), datetime(2026, 1, 19, 20, 0), False),
], ids=["shift-none-always", "shift-start", "shift-before-end", "shift-end-exclusive", "shift-before-start",
        "shift-other-day", "shift-overnight-evening", "shift-overnight-next-morning", "shift-overnight-end",
        "shift-overnight-previous-day", "shift-overnight-sunday-wraps", "shift-gap-between"])
def test_on_shift(shifts, at, expected) -> None:
    assert rules.on_shift(shifts, at) is expected


def test_shifts_are_read_in_the_rules_time_zone() -> None:
    rm = make_rm(shifts=(DAY,))
    # 09:30 UTC on Monday is 15:00 in Kolkata (on shift) and 04:30 in New York (off shift).
    assert rules.exclusion(make_lead(), rm, make_rules(timezone="Asia/Kolkata"), MONDAY_0930_UTC) is None
    result = rules.exclusion(make_lead(), rm, make_rules(timezone="America/New_York"), MONDAY_0930_UTC)
    assert result[0] == "AVAILABILITY" and "America/New_York" in result[1]
    # 13:00 UTC Monday is 18:30 in Kolkata: off shift there, on shift in UTC.
    late = datetime(2026, 1, 19, 13, 0, tzinfo=UTC)
    assert rules.exclusion(make_lead(), rm, make_rules(timezone="Asia/Kolkata"), late)[0] == "AVAILABILITY"
    assert rules.exclusion(make_lead(), rm, make_rules(), late) is None


def test_leave_day_is_the_local_day() -> None:
    # 20:00 UTC on the 17th is already the 18th in Kolkata.
    rm = make_rm(leaves=((date(2026, 1, 18), date(2026, 1, 18)),))
    at = datetime(2026, 1, 17, 20, 0, tzinfo=UTC)
    assert rules.exclusion(make_lead(), rm, make_rules(), at) is None
    assert rules.exclusion(make_lead(), rm, make_rules(timezone="Asia/Kolkata"), at)[0] == "AVAILABILITY"


# --- LAR-007 overflow -----------------------------------------------------------------------------


def test_lar_007_backup_used_only_when_no_regular_rm_is_eligible() -> None:
    regular = make_rm(0, received_today=10)
    backup = make_rm(1, is_backup=True)
    decision = rules.decide(make_lead(), [regular, backup], make_rules(), NOW)
    assert (decision.outcome, decision.rm_id) == ("ALLOCATED", regular.id)
    assert entry(decision, backup)["excluded_by"] == "LAR-007"

    full = make_rm(0, active_leads=25)
    decision = rules.decide(make_lead(), [full, backup], make_rules(), NOW)
    assert (decision.outcome, decision.rm_id) == ("OVERFLOW", backup.id)
    assert "LAR-007" in decision.reason


def test_lar_007_regular_rm_at_city_level_still_beats_backup() -> None:
    city_rm = make_rm(0, localities=(), zone=None)
    backup = make_rm(1, is_backup=True)
    decision = rules.decide(make_lead(), [city_rm, backup], make_rules(), NOW)
    assert (decision.outcome, decision.rm_id) == ("ALLOCATED", city_rm.id)


def test_lar_007_overflow_switched_off_queues() -> None:
    decision = rules.decide(make_lead(), [make_rm(0, active_leads=25), make_rm(1, is_backup=True)],
                            make_rules(overflow_to_backup=False), NOW)
    assert decision.outcome == "QUEUED" and decision.rm_id is None


def test_lar_007_ineligible_backup_is_not_used() -> None:
    backup = make_rm(1, is_backup=True, availability="OFFLINE")
    decision = rules.decide(make_lead(), [make_rm(0, active_leads=25), backup], make_rules(), NOW)
    assert decision.outcome == "QUEUED"
    assert entry(decision, backup)["excluded_by"] == "AVAILABILITY"
    assert "queued" in decision.reason


def test_lar_007_nobody_queues() -> None:
    decision = rules.decide(make_lead(), [make_rm(0, status="INACTIVE")], make_rules(), NOW)
    assert (decision.outcome, decision.rm_id, decision.ranking) == ("QUEUED", None, [])


# --- exclusions requested by the caller and the trace ------------------------------------------------


def test_excluded_rms_are_never_chosen() -> None:
    a, b = make_rm(0), make_rm(1, received_today=20)
    decision = rules.decide(make_lead(), [a, b], make_rules(), NOW, exclude=frozenset({a.id}))
    assert decision.rm_id == b.id
    assert entry(decision, a)["excluded_by"] == "EXCLUDED"


def test_trace_lists_every_candidate_with_its_fate_and_the_winner() -> None:
    lead = make_lead()
    rms = [make_rm(0, city="Mumbai"), make_rm(1, active_leads=25), make_rm(2, segments=("OWNER",)),
           make_rm(3, availability="OFFLINE"), make_rm(4, received_today=2), make_rm(5, received_today=1),
           make_rm(6, is_backup=True)]
    decision = rules.decide(lead, rms, make_rules(), NOW)
    trace = decision.trace(lead=lead, rules_version=3, priority_breakdown={"priority": 3})
    assert trace["outcome"] == "ALLOCATED" and trace["rm_id"] == str(rms[5].id)
    assert trace["rules_version"] == 3 and trace["lead"]["priority"] == 3
    by_id = {c["rm_id"]: c for c in trace["candidates"]}
    assert set(by_id) == {str(rm.id) for rm in rms}
    assert [by_id[str(rm.id)].get("excluded_by") for rm in rms] == [
        "LAR-001", "LAR-002", "LAR-003", "AVAILABILITY", None, None, "LAR-007"]
    assert all(c["why"] for c in trace["candidates"] if c.get("excluded_by"))
    assert [c["rm_id"] for c in trace["candidates"] if c.get("winner")] == [str(rms[5].id)]
    ranked = sorted((c for c in trace["candidates"] if "rank" in c), key=lambda c: c["rank"])
    assert [c["rm_id"] for c in ranked] == [str(rms[5].id), str(rms[4].id)]
    assert all({"score", "weight", "received_today", "utilization"} <= c.keys() for c in ranked)
    assert decision.ranking == [rms[5].id, rms[4].id]


def test_sla_deadline_lar_006() -> None:
    assert rules.sla_deadline(NOW, make_rules()) == NOW + timedelta(hours=2)
    assert rules.sla_deadline(NOW, make_rules(sla_minutes=45)) == NOW + timedelta(minutes=45)
