"""Upsell gating and triggers (issue 11; PRD §6.3 UPR-001..006), at their boundaries."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sales.notifications.enums import Channel
from sales.notifications.rules import Preferences
from sales.upsell import rules
from sales.upsell.enums import UpsellChannel as C

NOW = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def plan(tier, features, *, user_type="TENANT", price="0.00", active=True, code=None):  # type: ignore[no-untyped-def]
    return rules.PlanFacts(id=uuid.uuid4(), user_type=user_type, tier=tier, price=Decimal(price), features=features,
                           active=active, code=code or f"P{tier}")


# --- UPR-001 ---------------------------------------------------------------------------------

def test_upr_001_blocks_within_48_hours_of_a_dismissal_and_exactly_48_hours_passes():
    assert rules.cooldown(last_dismissed_at=None, now=NOW).passed
    just_before = rules.cooldown(last_dismissed_at=NOW - timedelta(hours=48) + timedelta(seconds=1), now=NOW)
    assert (just_before.rule, just_before.passed, just_before.figures["cooldown_hours"]) == ("UPR-001", False, 48)
    exactly = rules.cooldown(last_dismissed_at=NOW - timedelta(hours=48), now=NOW)
    assert exactly.passed and exactly.figures == {"last_dismissed_at": "2026-01-08T12:00:00Z", "hours_since": 48.0,
                                                  "cooldown_hours": 48}


# --- UPR-005 ---------------------------------------------------------------------------------

def test_upr_005_the_third_upsell_in_7_days_passes_and_the_fourth_is_blocked():
    two = [NOW - timedelta(days=1), NOW - timedelta(days=6, hours=23)]
    third = rules.frequency_cap(created_at=two, now=NOW)
    assert third.passed and third.figures == {"upsells_in_window": 2, "cap": 3, "window_days": 7}
    fourth = rules.frequency_cap(created_at=[*two, NOW], now=NOW)
    assert not fourth.passed and fourth.figures["upsells_in_window"] == 3


def test_upr_005_window_is_rolling_an_upsell_exactly_7_days_old_no_longer_counts():
    created = [NOW - timedelta(days=7), NOW - timedelta(days=2), NOW - timedelta(days=1)]
    assert rules.frequency_cap(created_at=created, now=NOW).passed
    assert not rules.frequency_cap(created_at=created, now=NOW - timedelta(seconds=1)).passed


# --- UPR-006 / UPR-004 -----------------------------------------------------------------------

def test_upr_006_marketing_opt_out_suppresses_every_channel_including_rm_call():
    prefs = Preferences(marketing_opt_out=True)
    for requested in (C.IN_APP_MODAL, C.EMAIL, C.RM_CALL):
        channel, upr006, upr004 = rules.channel_and_opt_outs(requested=requested, preferences=prefs)
        assert channel is None and not upr006.passed and upr006.rule == "UPR-006"


def test_upr_004_requested_channel_when_allowed():
    channel, upr006, upr004 = rules.channel_and_opt_outs(requested=C.IN_APP_BANNER, preferences=None)
    assert channel is C.IN_APP_BANNER and upr006.passed
    assert upr004.figures == {"requested": "IN_APP_BANNER", "chosen": "IN_APP_BANNER", "tried": ["IN_APP_BANNER"]}


def test_upr_004_upr_006_opted_out_in_app_falls_back_to_push_then_email():
    prefs = Preferences(channels_opted_out=frozenset({Channel.IN_APP}))
    assert rules.channel_and_opt_outs(requested=C.IN_APP_MODAL, preferences=prefs)[0] is C.PUSH_NOTIFICATION
    prefs = Preferences(channels_opted_out=frozenset({Channel.IN_APP, Channel.PUSH_NOTIFICATION}))
    channel, _, upr004 = rules.channel_and_opt_outs(requested=C.IN_APP_MODAL, preferences=prefs)
    assert channel is C.EMAIL and upr004.figures["tried"] == ["IN_APP_MODAL", "PUSH_NOTIFICATION", "EMAIL"]


def test_upr_004_falls_back_only_to_later_channels_and_suppresses_when_none_is_allowed():
    prefs = Preferences(channels_opted_out=frozenset({Channel.PUSH_NOTIFICATION}))
    assert rules.channel_and_opt_outs(requested=C.PUSH_NOTIFICATION, preferences=prefs)[0] is C.EMAIL
    prefs = Preferences(channels_opted_out=frozenset({Channel.IN_APP, Channel.PUSH_NOTIFICATION, Channel.EMAIL}))
    channel, upr006, upr004 = rules.channel_and_opt_outs(requested=C.IN_APP_BANNER, preferences=prefs)
    assert channel is None and upr006.passed and not upr004.passed
    prefs = Preferences(channels_opted_out=frozenset({Channel.SMS}))
    assert rules.channel_and_opt_outs(requested=C.SMS, preferences=prefs)[0] is None  # SMS has no fallback


# --- stage suppression and the gate -----------------------------------------------------------

def test_stage_suppression_blocks_automated_upsells_in_negotiation_or_agreement_pending_not_rm_calls():
    assert not rules.stage_suppression(channel=C.IN_APP_MODAL, open_stages=["NEGOTIATION"]).passed
    assert not rules.stage_suppression(channel=C.EMAIL, open_stages=["NEW", "AGREEMENT_PENDING"]).passed
    assert rules.stage_suppression(channel=C.IN_APP_MODAL, open_stages=["PROPERTY_SHORTLISTED"]).passed
    assert rules.stage_suppression(channel=C.RM_CALL, open_stages=["NEGOTIATION"]).passed


def test_gate_records_every_rule_and_names_all_blocking_ones():
    g = rules.gate(requested=C.IN_APP_MODAL, now=NOW, last_dismissed_at=NOW - timedelta(hours=1),
                   recent_created_at=[NOW] * 3, preferences=None, open_stages=["NEGOTIATION"])
    assert [r.rule for r in g.results] == ["UPR-001", "UPR-005", "UPR-006", "UPR-004", "STAGE"]
    assert g.blocking == ["UPR-001", "UPR-005", "STAGE"] and g.channel is None and not g.allowed
    ok = rules.gate(requested=C.IN_APP_MODAL, now=NOW, last_dismissed_at=NOW - timedelta(hours=48),
                    recent_created_at=[NOW] * 2, preferences=None, open_stages=[])
    assert ok.allowed and ok.channel is C.IN_APP_MODAL and ok.blocking == []


# --- UPR-002 / UPR-003 triggers ---------------------------------------------------------------

def test_upr_002_fires_at_exactly_80_percent_for_the_next_tier_that_raises_the_quota():
    basic = plan(0, {"owner_contacts": 5})
    same_quota = plan(1, {"owner_contacts": 5, "instant_alerts": True}, price="999.00")
    premium = plan(2, {"owner_contacts": 25}, price="1499.00")
    prime = plan(3, {"owner_contacts": 60}, price="2999.00")
    owner = plan(1, {"owner_contacts": 100}, user_type="OWNER")
    catalogue = [basic, same_quota, premium, prime, owner]
    below = rules.quota_threshold(percent=Decimal("79.9"), used=4, quota=5, quota_name="owner_contacts",
                                  current=basic, catalogue=catalogue, cause_scope="o1")
    assert below is None
    t = rules.quota_threshold(percent=Decimal("80.0"), used=4, quota=5, quota_name="owner_contacts", current=basic,
                              catalogue=catalogue, cause_scope="o1")
    assert t is not None and (t.trigger_event, t.channel, t.target_plan_id, t.current_plan_id) == (
        "QUOTA_THRESHOLD", C.IN_APP_MODAL, premium.id, basic.id)
    assert t.cause == "QUOTA_THRESHOLD:o1:owner_contacts" and t.context["percent"] == "80.0"
    assert {"name": "owner_contacts", "current": 5, "target": 25} in t.context["comparison"]["features"]


def test_upr_002_configurable_threshold_unlimited_quota_and_top_tier_do_not_fire():
    basic = plan(0, {"owner_contacts": 5})
    premium = plan(1, {"owner_contacts": 25})
    assert rules.quota_threshold(percent=Decimal("70.0"), used=7, quota=10, quota_name="owner_contacts", current=basic,
                                 catalogue=[premium], cause_scope="x", threshold=Decimal("70")) is not None
    assert rules.quota_threshold(percent=None, used=7, quota=None, quota_name="owner_contacts", current=basic,
                                 catalogue=[premium], cause_scope="x") is None
    assert rules.quota_threshold(percent=Decimal("100.0"), used=25, quota=25, quota_name="owner_contacts",
                                 current=premium, catalogue=[basic, premium], cause_scope="x") is None
    retired = plan(2, {"owner_contacts": 99}, active=False)
    assert rules.next_tier_up(premium, [retired], quota_name="owner_contacts") is None


def test_upr_003_fires_at_5_views_without_contact_once_per_last_upsell():
    basic, premium = plan(0, {}), plan(1, {})
    last = uuid.uuid4()
    assert rules.views_without_contact(views=4, since=NOW, since_upsell_id=last, current=basic, target=premium) is None
    t = rules.views_without_contact(views=5, since=NOW, since_upsell_id=last, current=basic, target=premium)
    assert t is not None and (t.trigger_event, t.channel, t.cause) == (
        "VIEWS_WITHOUT_CONTACT", C.IN_APP_BANNER, f"VIEWS_WITHOUT_CONTACT:{last}")
    assert t.context["views_without_contact"] == 5 and t.context["rule"] == "UPR-003"
    assert rules.views_without_contact(views=9, since=None, since_upsell_id=None, current=None,
                                       target=premium).cause == "VIEWS_WITHOUT_CONTACT:none"


def test_upgrade_target_a_user_holding_no_plan_is_on_the_free_tier():
    basic, premium, prime = plan(0, {}), plan(1, {}, price="1499.00"), plan(2, {}, price="2999.00")
    owner = plan(1, {}, user_type="OWNER")
    assert rules.upgrade_target(None, [basic, premium, prime, owner], user_type="TENANT") is premium
    assert rules.upgrade_target(premium, [basic, premium, prime], user_type="TENANT") is prime
    assert rules.upgrade_target(prime, [basic, premium, prime], user_type="TENANT") is None


def test_plan_expired_offers_the_same_plan_once_per_order_and_never_a_retired_one():
    premium = plan(1, {"owner_contacts": 25})
    order_id = uuid.uuid4()
    t = rules.plan_expired(plan=premium, order_id=order_id, expired_at=NOW)
    assert t is not None and (t.trigger_event, t.cause, t.target_plan_id, t.channel) == (
        "PLAN_EXPIRED", f"PLAN_EXPIRED:{order_id}", premium.id, C.IN_APP_BANNER)
    assert rules.plan_expired(plan=plan(1, {}, active=False), order_id=order_id, expired_at=NOW) is None


def test_us_sale_002_low_listing_views_boundaries():
    boost = plan(1, {"listing_boost_days": 15}, user_type="OWNER", price="1999.00")
    no_boost = plan(1, {"tenant_contacts": 50}, user_type="OWNER")
    listed = NOW - timedelta(days=7)

    def fire(**kw):  # type: ignore[no-untyped-def]
        args = {"listing_id": uuid.uuid4(), "status": "AVAILABLE", "listed_at": listed, "views_7d": 9,
                "city_average": Decimal("10.00"), "now": NOW, "current": None, "catalogue": [boost, no_boost],
                "expected_extra_views": 30, **kw}
        return rules.low_listing_views(**args)

    t = fire()
    assert t is not None and (t.channel, t.target_plan_id, t.context["expected_extra_views_7d"]) == (
        C.PUSH_NOTIFICATION, boost.id, 30)
    assert fire(views_7d=10) is None                               # at the average: not below
    assert fire(listed_at=listed + timedelta(seconds=1)) is None   # younger than 7 days
    assert fire(status="LET_OUT") is None
    assert fire(views_7d=None) is None and fire(city_average=None) is None
    assert fire(current=boost) is None                             # nothing above with more boost days
