"""Refund eligibility as policy-as-code (PRD §6.4 RFR-001..006, issue 12). Pure: every answer lists each rule
with pass/fail and the figures it used, so a customer sees whether a refund is possible, how much, and why."""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")
DAY = timedelta(days=1)
WINDOW = timedelta(days=7)                      # RFR-001: 7 x 24 h from paid_at, inclusive to the second
MAX_USED_SHARE = Decimal("0.5")                 # RFR-002: more than 50% used -> not eligible
AUTO_APPROVE_BELOW = Decimal("500.00")          # RFR-003: under Rs. 500 approved automatically
MANAGER_ABOVE = Decimal("5000.00")              # RFR-004: above Rs. 5,000 a manager approves
FRAUD_WINDOW = timedelta(days=90)               # RFR-005: refunds in the last 90 days...
FRAUD_EARLIER_REFUNDS = 2                       # ...more than 2 (this is the 3rd or later) -> flagged
DEFAULT_SLA = timedelta(days=7)                 # refund SLA (issue 12: configurable, default 7 days)

AUTO, SUPPORT_AGENT, MANAGER = "AUTO", "SUPPORT_AGENT", "MANAGER"


@dataclass(frozen=True)
class RuleOutcome:
    id: str
    passed: bool
    detail: str
    figures: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    refundable_amount: Decimal
    approval: str
    rules: list[RuleOutcome]
    expected_resolution_by: datetime


def within_window(*, paid_at: datetime, at: datetime) -> RuleOutcome:
    """RFR-001: eligible up to and including paid_at + 7 x 24 h (to the second)."""
    deadline = paid_at + WINDOW
    passed = at <= deadline
    return RuleOutcome("RFR-001", passed,
                       f"requested {'within' if passed else 'after'} 7 days of payment (deadline {_iso(deadline)})",
                       {"paid_at": _iso(paid_at), "requested_at": _iso(at), "deadline": _iso(deadline)})


def quotas_of(features: Mapping[str, Any]) -> dict[str, int]:
    """The plan's quotas: its numeric features (booleans and texts are not quotas)."""
    return {name: value for name, value in features.items()
            if isinstance(value, int) and not isinstance(value, bool) and value > 0}


def usage_check(*, quotas: Mapping[str, int], used: Mapping[str, int]) -> RuleOutcome:
    """RFR-002: the highest share used over the plan's quotas counts; more than 50% fails, exactly 50% passes.
    Compared exactly (used * 2 <= quota), shown in % with one decimal."""
    shares = {name: Decimal(used.get(name, 0)) / Decimal(quota) for name, quota in sorted(quotas.items())}
    figures: dict[str, Any] = {name: {"used": used.get(name, 0), "quota": quota,
                                      "percent": _percent(shares[name])} for name, quota in sorted(quotas.items())}
    if not shares:
        return RuleOutcome("RFR-002", True, "the plan has no quotas to use up", {"quotas": figures})
    worst = max(sorted(shares), key=lambda name: shares[name])
    passed = all(used.get(name, 0) * 2 <= quota for name, quota in quotas.items())
    return RuleOutcome("RFR-002", passed,
                       f"highest share used {_percent(shares[worst])}% ({worst}) "
                       f"{'is at most' if passed else 'is more than'} 50%",
                       {"quotas": figures, "highest": worst, "highest_percent": _percent(shares[worst])})


def unused_days(*, ends_at: datetime, at: datetime, duration_days: int) -> int:
    """Whole days left from the request time to the end of the period (a part day is not counted), between 0
    and the plan's duration."""
    return max(0, min(duration_days, (ends_at - at) // DAY))


def pro_rata(*, amount: Decimal, refunded: Decimal, duration_days: int, unused: int) -> RuleOutcome:
    """RFR-006: amount x unused_days / duration_days, half-up to the paisa, never more than paid minus earlier
    refunds. Passes when something is left to refund."""
    share = (amount * unused / Decimal(duration_days)).quantize(CENT, rounding=ROUND_HALF_UP)
    remaining = max(Decimal("0.00"), amount - refunded).quantize(CENT)
    refundable = min(share, remaining)
    return RuleOutcome("RFR-006", refundable > 0,
                       f"{amount:.2f} x {unused} / {duration_days} days = {share:.2f}; "
                       f"paid minus earlier refunds {remaining:.2f}; refundable {refundable:.2f}",
                       {"amount": amount, "refunded": refunded, "unused_days": unused,
                        "duration_days": duration_days, "pro_rata": share, "remaining": remaining,
                        "refundable": refundable})


def fraud_check(*, earlier: Sequence[tuple[Any, datetime]], at: datetime) -> RuleOutcome:
    """RFR-005: with 2 or more earlier refunds in the 90 days up to the request (inclusive: the 91st day is
    outside), this is a 3rd request: flagged for fraud review, never approved automatically, always a manager's
    decision. Passes when not flagged; a flag does not make the request ineligible."""
    since = at - FRAUD_WINDOW
    recent = sorted(((str(ref), when) for ref, when in earlier if since <= when <= at), key=lambda r: (r[1], r[0]))
    flagged = len(recent) >= FRAUD_EARLIER_REFUNDS
    return RuleOutcome("RFR-005", not flagged,
                       f"{len(recent)} earlier refund(s) in the 90 days since {_iso(since)}"
                       + ("; flagged for fraud review: a manager decides" if flagged else ""),
                       {"earlier_refunds": [{"id": ref, "at": _iso(when)} for ref, when in recent],
                        "since": _iso(since), "flagged": flagged})


def approver(amount: Decimal, *, flagged: bool = False) -> str:
    """RFR-003 / RFR-004 routing: under 500 AUTO; above 5,000 MANAGER (SUPERVISOR or SALES_ADMIN); 500..5,000
    (both inclusive) SUPPORT_AGENT or a manager. RFR-005: a flagged request is always a manager's decision."""
    if flagged or amount > MANAGER_ABOVE:
        return MANAGER
    if amount < AUTO_APPROVE_BELOW:
        return AUTO
    return SUPPORT_AGENT


def approval_rule(amount: Decimal, *, flagged: bool = False) -> RuleOutcome:
    """Who approves `amount`: RFR-003 (under Rs. 500) or RFR-004, with the RFR-005 flag overriding both."""
    route = approver(amount, flagged=flagged)
    rule = "RFR-003" if amount < AUTO_APPROVE_BELOW else "RFR-004"
    detail = {AUTO: "under Rs. 500: approved automatically",
              SUPPORT_AGENT: "Rs. 500 to Rs. 5,000: a SUPPORT_AGENT or a manager approves",
              MANAGER: "above Rs. 5,000: a manager (SUPERVISOR or SALES_ADMIN) approves"}[route]
    if flagged:
        detail = "flagged for fraud review (RFR-005): a manager (SUPERVISOR or SALES_ADMIN) approves"
    return RuleOutcome(rule, True, f"{amount:.2f}: {detail}",
                       {"amount": amount, "approval": route, "flagged": flagged})


def evaluate(*, paid_at: datetime, ends_at: datetime, amount: Decimal, refunded: Decimal, duration_days: int,
             features: Mapping[str, Any], used: Mapping[str, int], at: datetime,
             earlier: Sequence[tuple[Any, datetime]] = (), sla: timedelta = DEFAULT_SLA) -> Eligibility:
    """A REFUND request at `at`: eligible when RFR-001, RFR-002 and RFR-006 pass. The approval route is that
    of the refundable amount (a manager's when RFR-005 flags it); an ineligible request can only be granted as
    a manager's policy exception."""
    window = within_window(paid_at=paid_at, at=at)
    usage = usage_check(quotas=quotas_of(features), used=used)
    money = pro_rata(amount=amount, refunded=refunded, duration_days=duration_days,
                     unused=unused_days(ends_at=ends_at, at=at, duration_days=duration_days))
    fraud = fraud_check(earlier=earlier, at=at)
    refundable: Decimal = money.figures["refundable"]
    route = approval_rule(refundable, flagged=not fraud.passed)
    eligible = window.passed and usage.passed and money.passed
    return Eligibility(eligible=eligible, refundable_amount=refundable if eligible else Decimal("0.00"),
                       approval=route.figures["approval"] if eligible else MANAGER,
                       rules=[window, usage, money, fraud, route], expected_resolution_by=at + sla)


# Guarantee claims (issue 12): a GUARANTEE_CLAIM follows its plan's guarantee instead of RFR-001/002/006.
def guarantee_terms(guarantee: Mapping[str, Any] | None) -> RuleOutcome:
    """GUARANTEE: the plan must have a guarantee; its terms (condition, evidence) are what the investigation
    checks."""
    if guarantee is None:
        return RuleOutcome("GUARANTEE", False, "the plan has no guarantee", {})
    return RuleOutcome("GUARANTEE", True, f"guarantee: {guarantee['description']}",
                       {"condition": dict(guarantee["condition"]), "window_days": guarantee["window_days"],
                        "refund_percentage": guarantee["refund_percentage"],
                        "evidence_required": list(guarantee["evidence_required"])})


def guarantee_window(*, paid_at: datetime, window_days: int, at: datetime) -> RuleOutcome:
    """GUARANTEE-WINDOW: a claim within the guarantee's window_days x 24 h of payment, inclusive to the second."""
    deadline = paid_at + window_days * DAY
    passed = at <= deadline
    return RuleOutcome("GUARANTEE-WINDOW", passed,
                       f"claimed {'within' if passed else 'after'} the guarantee's {window_days} days "
                       f"(deadline {_iso(deadline)})",
                       {"paid_at": _iso(paid_at), "requested_at": _iso(at), "deadline": _iso(deadline)})


def guarantee_amount(*, amount: Decimal, refunded: Decimal, percentage: int) -> RuleOutcome:
    """GUARANTEE-AMOUNT: the guarantee's percentage of what was paid, half-up to the paisa, never more than
    paid minus earlier refunds."""
    share = (amount * percentage / Decimal(100)).quantize(CENT, rounding=ROUND_HALF_UP)
    remaining = max(Decimal("0.00"), amount - refunded).quantize(CENT)
    refundable = min(share, remaining)
    return RuleOutcome("GUARANTEE-AMOUNT", refundable > 0,
                       f"{percentage}% of {amount:.2f} = {share:.2f}; paid minus earlier refunds {remaining:.2f}; "
                       f"refundable {refundable:.2f}",
                       {"amount": amount, "refunded": refunded, "refund_percentage": percentage, "share": share,
                        "remaining": remaining, "refundable": refundable})


def claim_approver(amount: Decimal, *, flagged: bool = False) -> str:
    """A claim is always investigated by a person: a SUPPORT_AGENT up to Rs. 5,000 (RFR-003's automatic
    approval does not apply), a manager above it (RFR-004) or when flagged (RFR-005)."""
    route = approver(amount, flagged=flagged)
    return SUPPORT_AGENT if route == AUTO else route


def claim_approval_rule(amount: Decimal, *, flagged: bool = False) -> RuleOutcome:
    route = claim_approver(amount, flagged=flagged)
    who = "a manager (SUPERVISOR or SALES_ADMIN)" if route == MANAGER else "a SUPPORT_AGENT or a manager"
    why = "flagged for fraud review (RFR-005)" if flagged else "a guarantee claim is investigated"
    return RuleOutcome("RFR-004", True, f"{amount:.2f}: {why}; {who} decides",
                       {"amount": amount, "approval": route, "flagged": flagged})


def evaluate_claim(*, guarantee: Mapping[str, Any] | None, paid_at: datetime, amount: Decimal, refunded: Decimal,
                   at: datetime, earlier: Sequence[tuple[Any, datetime]] = (),
                   sla: timedelta = DEFAULT_SLA) -> Eligibility:
    """A GUARANTEE_CLAIM at `at`: eligible when the plan has a guarantee, within its window, with something
    left to refund; then investigated (UNDER_INVESTIGATION) by the approval route of its amount."""
    terms = guarantee_terms(guarantee)
    fraud = fraud_check(earlier=earlier, at=at)
    if guarantee is None:
        return Eligibility(eligible=False, refundable_amount=Decimal("0.00"), approval=MANAGER,
                           rules=[terms, fraud], expected_resolution_by=at + sla)
    window = guarantee_window(paid_at=paid_at, window_days=guarantee["window_days"], at=at)
    money = guarantee_amount(amount=amount, refunded=refunded, percentage=guarantee["refund_percentage"])
    refundable: Decimal = money.figures["refundable"]
    route = claim_approval_rule(refundable, flagged=not fraud.passed)
    eligible = window.passed and money.passed
    return Eligibility(eligible=eligible, refundable_amount=refundable if eligible else Decimal("0.00"),
                       approval=route.figures["approval"] if eligible else MANAGER,
                       rules=[terms, window, money, fraud, route], expected_resolution_by=at + sla)


def missing_evidence(*, required: Sequence[str], provided: Iterable[str | None]) -> list[str]:
    """The evidence kinds a claim's guarantee requires that no uploaded evidence names yet."""
    have = {kind for kind in provided if kind}
    return [kind for kind in required if kind not in have]


# Decisions (issue 12): which requests wait for a person, and who may decide them.
DECIDABLE = ("PENDING_APPROVAL", "PENDING_MANAGER_APPROVAL", "UNDER_INVESTIGATION")


def needs_manager(*, status: str, approval: str, flagged: bool, amount: Decimal | None = None) -> bool:
    """RFR-004 / RFR-005: a request waiting for a manager, a flagged one, one routed to a manager, or an amount
    above Rs. 5,000 is a manager's (SUPERVISOR or SALES_ADMIN) decision; the rest a SUPPORT_AGENT may decide."""
    if status == "PENDING_MANAGER_APPROVAL" or flagged or approval == MANAGER:
        return True
    return amount is not None and approver(amount, flagged=flagged) == MANAGER


def approvable_limit(*, refundable: Decimal, paid: Decimal, refunded: Decimal, exception: bool) -> Decimal:
    """The most an approval may grant: what the rules allowed at the request (a policy exception is not bound
    by them), never more than was paid minus what was already refunded."""
    remaining = max(Decimal("0.00"), paid - refunded)
    return remaining if exception else min(refundable, remaining)


def default_approval_amount(*, requested: Decimal, rules: Sequence[Mapping[str, Any]], limit: Decimal) -> Decimal:
    """Approving without naming an amount grants what was asked for; an ineligible request asked for nothing,
    so a policy exception grants the pro-rata figure (RFR-006; a claim: its guarantee's share). Either way
    within `limit`."""
    if requested <= 0:
        pro_rata_rule = next((r for r in rules if r.get("id") in ("RFR-006", "GUARANTEE-AMOUNT")), None)
        requested = Decimal(str(pro_rata_rule["figures"]["refundable"])) if pro_rata_rule else Decimal("0.00")
        requested = requested.quantize(CENT)
    return min(requested, limit)


def sla_breached(*, expected_resolution_by: datetime, resolved_at: datetime | None, at: datetime) -> bool:
    """The refund SLA: resolved (rejected, completed or failed) after its expected resolution, or still open
    past it at `at`."""
    return (resolved_at if resolved_at is not None else at) > expected_resolution_by


def used_by_quota(rows: Iterable[Any], *, plan_id: Any, order_id: Any) -> dict[str, int]:
    """The usage rows of this plan (for this order, or not tied to an order) by quota name."""
    return {r.quota_name: r.used for r in rows
            if r.plan_id == plan_id and (r.order_id is None or r.order_id == order_id)}


def _percent(share: Decimal) -> Decimal:
    return (share * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _iso(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
