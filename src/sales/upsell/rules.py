"""Upsell gating and triggers (issue 11; PRD §6.3 UPR-001..006, §4.1 US-SALE-001). Pure: no I/O, no clock.

Gating: each rule returns a `RuleResult` (rule id, pass/fail, the figures it used); a decision creates an
upsell only when every rule passes.
- UPR-001 Cooldown: nothing within 48 h of the user's last dismissal (exactly 48 h later passes).
- UPR-005 Frequency cap: at most 3 upsells per user in any rolling 7 days, every channel (RM_CALL too): an
  upsell counts while `now - created_at < 7 days`.
- UPR-006 Opt-out respect and UPR-004 channel priority reuse `sales.notifications.rules.choose_channel`
  (a marketing message): the requested channel when allowed, else the next one in IN_APP -> PUSH -> EMAIL
  after it; none allowed = suppressed.
- STAGE (issue 11, beyond the PRD): no automated upsell while one of the customer's open pipelines is in
  NEGOTIATION or AGREEMENT_PENDING; an RM_CALL (the RM handling them) is not automated.

Triggers: QUOTA_THRESHOLD (UPR-002) and VIEWS_WITHOUT_CONTACT (UPR-003), each with a `cause` key so that a
trigger fires at most once per user and cause.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from uuid import UUID

from sales.notifications import rules as channel_rules
from sales.notifications.enums import Channel as DeliveryChannel
from sales.notifications.enums import RecipientType
from sales.upsell.enums import UpsellChannel

COOLDOWN = timedelta(hours=48)                     # UPR-001
FREQUENCY_CAP = 3                                  # UPR-005
FREQUENCY_WINDOW = timedelta(days=7)               # UPR-005
QUOTA_THRESHOLD_PERCENT = Decimal("80")            # UPR-002 (configurable)
VIEWS_WITHOUT_CONTACT = 5                          # UPR-003 (configurable)
BOOST_EXPECTED_EXTRA_VIEWS = 30                    # US-SALE-002 ROI message without boost history (configurable)
OFFER_WINDOW = timedelta(days=7)                   # expiry of an unanswered offer
ATTRIBUTION_WINDOW = timedelta(days=7)             # an unnamed payment converts an upsell this young
FREE_TIER = 0                                      # a user holding no live plan of the type is on tier 0
SUPPRESSING_STAGES = ("NEGOTIATION", "AGREEMENT_PENDING")
FALLBACK_ORDER: tuple[UpsellChannel, ...] = (UpsellChannel.PUSH_NOTIFICATION, UpsellChannel.EMAIL)  # UPR-004
IN_APP = (UpsellChannel.IN_APP_BANNER, UpsellChannel.IN_APP_MODAL)


@dataclass(frozen=True)
class RuleResult:
    rule: str
    passed: bool
    figures: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "passed": self.passed, "figures": self.figures}


@dataclass(frozen=True)
class Gate:
    """The outcome of gating: the channel to use (None when suppressed) and every rule's result."""

    channel: UpsellChannel | None
    results: tuple[RuleResult, ...]

    @property
    def allowed(self) -> bool:
        return self.channel is not None and all(r.passed for r in self.results)

    @property
    def blocking(self) -> list[str]:
        return [r.rule for r in self.results if not r.passed]


def _iso(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at is not None else None


def cooldown(*, last_dismissed_at: datetime | None, now: datetime) -> RuleResult:
    """UPR-001: blocked while less than 48 h have passed since the last dismissal; exactly 48 h passes."""
    if last_dismissed_at is None:
        return RuleResult("UPR-001", True, {"last_dismissed_at": None, "cooldown_hours": 48})
    elapsed = now - last_dismissed_at
    return RuleResult("UPR-001", elapsed >= COOLDOWN, {
        "last_dismissed_at": _iso(last_dismissed_at), "hours_since": round(elapsed.total_seconds() / 3600, 2),
        "cooldown_hours": 48})


def frequency_cap(*, created_at: Iterable[datetime], now: datetime) -> RuleResult:
    """UPR-005: the user's upsells (every channel and status) created in the 7 days before `now`; a new one is
    allowed while fewer than 3 are in the window (the 3rd passes, the 4th is blocked)."""
    in_window = sum(1 for at in created_at if timedelta(0) <= now - at < FREQUENCY_WINDOW)
    return RuleResult("UPR-005", in_window < FREQUENCY_CAP,
                      {"upsells_in_window": in_window, "cap": FREQUENCY_CAP, "window_days": 7})


def stage_suppression(*, channel: UpsellChannel, open_stages: Sequence[str]) -> RuleResult:
    """Issue 11: no automated upsell to a customer whose open pipeline is in NEGOTIATION or AGREEMENT_PENDING.
    An RM_CALL is the RM's own touch: not suppressed by stage."""
    blocking = sorted({s for s in open_stages if s in SUPPRESSING_STAGES})
    automated = channel is not UpsellChannel.RM_CALL
    return RuleResult("STAGE", not (automated and blocking),
                      {"open_pipeline_stages": sorted(set(open_stages)), "suppressing_stages": blocking,
                       "automated": automated})


def _delivery(channel: UpsellChannel) -> DeliveryChannel | None:
    if channel in IN_APP:
        return DeliveryChannel.IN_APP
    if channel is UpsellChannel.RM_CALL:
        return None
    return DeliveryChannel(channel.value)


def channel_and_opt_outs(*, requested: UpsellChannel, preferences: channel_rules.Preferences | None
                         ) -> tuple[UpsellChannel | None, RuleResult, RuleResult]:
    """UPR-006 then UPR-004 (marketing message, notifications.rules): a user who opted out of marketing gets no
    upsell on any channel (an RM_CALL included); else the requested channel unless opted out, else the next
    allowed one after it in IN_APP -> PUSH_NOTIFICATION -> EMAIL; none allowed = suppressed by UPR-004."""
    prefs = preferences or channel_rules.Preferences()
    opted_out = sorted(c.value for c in prefs.channels_opted_out)
    upr006 = RuleResult("UPR-006", not prefs.marketing_opt_out,
                        {"marketing_opt_out": prefs.marketing_opt_out, "channels_opted_out": opted_out})
    if prefs.marketing_opt_out:
        return None, upr006, RuleResult("UPR-004", False, {"requested": requested.value, "chosen": None,
                                                           "tried": []})
    if requested is UpsellChannel.RM_CALL:
        return requested, upr006, RuleResult("UPR-004", True, {"requested": requested.value,
                                                               "chosen": requested.value, "tried": [requested.value]})
    candidates = [requested]
    if requested in IN_APP:
        candidates += list(FALLBACK_ORDER)
    elif requested in FALLBACK_ORDER:
        candidates += list(FALLBACK_ORDER[FALLBACK_ORDER.index(requested) + 1:])
    tried: list[str] = []
    for candidate in candidates:
        tried.append(candidate.value)
        decision = channel_rules.choose_channel(recipient_type=RecipientType.CUSTOMER, transactional=False,
                                                requested=_delivery(candidate), preferences=prefs)
        if decision.sends:
            return candidate, upr006, RuleResult("UPR-004", True, {"requested": requested.value,
                                                                   "chosen": candidate.value, "tried": tried})
    return None, upr006, RuleResult("UPR-004", False, {"requested": requested.value, "chosen": None,
                                                       "tried": tried})


def gate(*, requested: UpsellChannel, now: datetime, last_dismissed_at: datetime | None,
         recent_created_at: Iterable[datetime], preferences: channel_rules.Preferences | None,
         open_stages: Sequence[str]) -> Gate:
    """Every gating rule, in the order UPR-001, UPR-005, UPR-006, UPR-004, STAGE (all evaluated and recorded)."""
    channel, upr006, upr004 = channel_and_opt_outs(requested=requested, preferences=preferences)
    results = (cooldown(last_dismissed_at=last_dismissed_at, now=now),
               frequency_cap(created_at=recent_created_at, now=now), upr006, upr004,
               stage_suppression(channel=channel or requested, open_stages=open_stages))
    return Gate(channel if all(r.passed for r in results) else None, results)


# --- triggers ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlanFacts:
    id: UUID
    user_type: str
    tier: int
    price: Decimal
    features: Mapping[str, Any]
    active: bool = True
    code: str = ""


@dataclass(frozen=True)
class Trigger:
    trigger_event: str
    cause: str                      # at most one upsell per user and cause
    channel: UpsellChannel
    current_plan_id: UUID | None
    target_plan_id: UUID
    context: dict[str, Any]


def _quota_value(value: Any) -> Decimal | None:
    """A numeric quota feature (booleans and text are not quotas)."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None
    return Decimal(value)


def next_tier_up(current: PlanFacts, catalogue: Iterable[PlanFacts], *, quota_name: str) -> PlanFacts | None:
    """UPR-002: the lowest active plan of the same user type above the current tier whose `quota_name` is larger
    (ties: cheaper, then code)."""
    mine = _quota_value(current.features.get(quota_name))
    better = [p for p in catalogue
              if p.active and p.user_type == current.user_type and p.tier > current.tier
              and (q := _quota_value(p.features.get(quota_name))) is not None and (mine is None or q > mine)]
    return min(better, key=lambda p: (p.tier, p.price, p.code), default=None)


def comparison(current: PlanFacts, target: PlanFacts) -> dict[str, Any]:
    """Feature comparison current vs target (US-SALE-001 plan comparison)."""
    names = sorted(set(current.features) | set(target.features))
    return {"current_plan_id": str(current.id), "target_plan_id": str(target.id),
            "features": [{"name": n, "current": current.features.get(n), "target": target.features.get(n)}
                         for n in names]}


def quota_threshold(*, percent: Decimal | None, used: int, quota: int | None, quota_name: str,
                    current: PlanFacts, catalogue: Iterable[PlanFacts], cause_scope: str,
                    threshold: Decimal = QUOTA_THRESHOLD_PERCENT) -> Trigger | None:
    """UPR-002 / US-SALE-001: at or above `threshold`% of a quota -> IN_APP_MODAL for the next tier up that raises
    that quota; None below the threshold, for an unlimited quota, or when no plan is above."""
    if percent is None or percent < threshold:
        return None
    target = next_tier_up(current, catalogue, quota_name=quota_name)
    if target is None:
        return None
    return Trigger("QUOTA_THRESHOLD", f"QUOTA_THRESHOLD:{cause_scope}:{quota_name}", UpsellChannel.IN_APP_MODAL,
                   current.id, target.id, {
                       "rule": "UPR-002", "quota_name": quota_name, "quota": quota, "used": used,
                       "percent": str(percent), "threshold_percent": str(threshold),
                       "comparison": comparison(current, target)})


def views_without_contact(*, views: int, since: datetime | None, since_upsell_id: UUID | None,
                          current: PlanFacts | None, target: PlanFacts | None,
                          threshold: int = VIEWS_WITHOUT_CONTACT) -> Trigger | None:
    """UPR-003: `threshold` property views without a contact since the user's last upsell -> IN_APP_BANNER for
    `target`; the cause is that last upsell, so it fires again only after a newer upsell."""
    if views < threshold or target is None:
        return None
    return Trigger("VIEWS_WITHOUT_CONTACT", f"VIEWS_WITHOUT_CONTACT:{since_upsell_id or 'none'}",
                   UpsellChannel.IN_APP_BANNER, current.id if current else None, target.id, {
                       "rule": "UPR-003", "views_without_contact": views, "threshold": threshold,
                       "since": _iso(since)})


def plan_expired(*, plan: PlanFacts, order_id: UUID, expired_at: datetime) -> Trigger | None:
    """PLAN_EXPIRED (issue 11, consumed entitlements.plan.expired, PRD §5.4): offer the renewal of the same plan,
    once per expired order; a retired plan is not offered. IN_APP_BANNER, the first channel of UPR-004."""
    if not plan.active:
        return None
    return Trigger("PLAN_EXPIRED", f"PLAN_EXPIRED:{order_id}", UpsellChannel.IN_APP_BANNER, None, plan.id, {
        "order_id": str(order_id), "expired_plan_id": str(plan.id), "expired_at": _iso(expired_at)})


LISTING_MIN_AGE = timedelta(days=7)                # US-SALE-002: a listing at least 7 days old
BOOST_FEATURE = "listing_boost_days"


def low_listing_views(*, listing_id: UUID, status: str, listed_at: datetime, views_7d: int | None,
                      city_average: Decimal | None, now: datetime, current: PlanFacts | None,
                      catalogue: Iterable[PlanFacts], expected_extra_views: int) -> Trigger | None:
    """LOW_LISTING_VIEWS (US-SALE-002): an AVAILABLE listing at least 7 days old whose views_7d are below its
    city's average -> the lowest OWNER plan above the owner's tier with more listing boost days, by
    PUSH_NOTIFICATION, with the ROI message (expected extra views); once per listing."""
    if (status != "AVAILABLE" or now - listed_at < LISTING_MIN_AGE or views_7d is None or city_average is None
            or Decimal(views_7d) >= city_average):
        return None
    tier = current.tier if current is not None else FREE_TIER
    boost = _quota_value(current.features.get(BOOST_FEATURE)) if current is not None else None
    better = [p for p in catalogue
              if p.active and p.user_type == "OWNER" and p.tier > tier
              and (q := _quota_value(p.features.get(BOOST_FEATURE))) is not None and q > (boost or 0)]
    target = min(better, key=lambda p: (p.tier, p.price, p.code), default=None)
    if target is None:
        return None
    return Trigger("LOW_LISTING_VIEWS", f"LOW_LISTING_VIEWS:{listing_id}", UpsellChannel.PUSH_NOTIFICATION,
                   current.id if current else None, target.id, {
                       "listing_id": str(listing_id), "views_7d": views_7d, "city_avg_views_7d": str(city_average),
                       "listing_age_days": (now - listed_at).days, "price": str(target.price),
                       "boost_days": target.features.get(BOOST_FEATURE),
                       "expected_extra_views_7d": expected_extra_views, "expected_basis": "CONFIGURED_DEFAULT"})


def upgrade_target(current: PlanFacts | None, catalogue: Iterable[PlanFacts], *, user_type: str) -> PlanFacts | None:
    """The next active plan above the user's current tier for their user type (lowest tier above, cheaper first);
    a user holding no plan is on the free tier 0."""
    tier = current.tier if current is not None else FREE_TIER
    above = [p for p in catalogue if p.active and p.user_type == user_type and p.tier > tier]
    return min(above, key=lambda p: (p.tier, p.price, p.code), default=None)


# --- responses ---------------------------------------------------------------------------------

# PATCH /upsells/{id}/response: forward-only moves (issue 11).
RESPONSE_FROM: dict[str, tuple[str, ...]] = {
    "PRESENTED": ("PENDING",),
    "CLICKED": ("PRESENTED",),
    "DISMISSED": ("PENDING", "PRESENTED", "CLICKED"),
}
FINAL = ("CONVERTED", "EXPIRED", "DISMISSED")
OPEN = ("PENDING", "PRESENTED", "CLICKED")


# --- funnel ------------------------------------------------------------------------------------

RATE_PLACES = Decimal("0.0001")


def rate(numerator: int, denominator: int) -> Decimal | None:
    """A funnel rate with 4 places (half up); None when nothing is in the denominator."""
    if denominator == 0:
        return None
    return (Decimal(numerator) / Decimal(denominator)).quantize(RATE_PLACES, rounding=ROUND_HALF_UP)
