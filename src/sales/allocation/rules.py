"""The allocation engine: pure functions from (lead, candidates, rules, time) to a decision and its trace.

Rule IDs (PRD §6.1): LAR-001 geographic match (with widening), LAR-002 capacity, LAR-003 skill match,
LAR-004 round robin (weighted, by deficit), LAR-005 performance boost, LAR-006 SLA, LAR-007 overflow.
"""
from __future__ import annotations

import functools
import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import orjson

from sales.allocation.config import AllocationRules

GEO_ORDER = ("LOCALITY", "ZONE", "CITY")
HIGH_INTENT_SOURCES = frozenset({"INBOUND_CALL", "REFERRAL", "WALK_IN"})
HIGH_URGENCY = frozenset({"IMMEDIATE", "HIGH", "URGENT"})


@lru_cache(maxsize=8192)
def norm(value: str | None) -> str:
    """Case and spacing folded (pure, so remembered: the engine folds every candidate's city and localities)."""
    return " ".join((value or "").lower().split())


@dataclass(frozen=True)
class Lead:
    lead_id: UUID
    city: str
    zone: str | None
    locality: str | None
    property_type: str | None
    segment: str | None
    expected_deal_value: Decimal | None
    priority: int


@dataclass(frozen=True)
class Candidate:
    id: UUID
    name: str
    team_id: UUID | None
    city: str
    zone: str | None
    localities: tuple[str, ...]
    property_types: tuple[str, ...]
    segments: tuple[str, ...]
    max_deal_value: Decimal | None
    capacity: int
    active_leads: int
    status: str
    availability: str
    shifts: tuple[Mapping[str, Any], ...]
    leaves: tuple[tuple[date, date], ...]
    is_backup: bool
    performance_score: int
    received_today: int
    last_allocated_at: datetime | None
    received_this_week: int = 0
    max_leads_per_day: int | None = None      # the RM's own caps; None: the rule set's team or city default
    max_leads_per_week: int | None = None
    fairness_offset: int = 0   # leads counted for round robin today on the RM's return (issue 17); not for caps


# Issue 19: a pool of more than TRACE_ALL_UP_TO RMs is judged and ranked by the database; the engine is given only
# the TRACE_TOP best-ranked eligible RMs of the pool the choice is made from (`decide`'s: the levels up to the first
# of the widening that has an eligible RM, else the backups) and the database's counts of all (`PoolCounts`); the
# trace then lists the TRACE_TOP best ranked and a `PoolSummary`. 16 (64 until session 16): a PRD-scale locality
# (11-42 RMs, 30 on average) takes the same path as one ten times larger, so the engine's work per allocation does
# not grow with the locality (session 19: nor with the RMs outside the pool); small teams keep every RM in the trace.
TRACE_ALL_UP_TO = 16
TRACE_TOP = 10


@dataclass(frozen=True)
class PoolCounts:
    """What the database counted of a large pool: its size; the ineligible per geographic level and excluding
    rule; the eligible per group (LOCALITY, ZONE, CITY for regular RMs, BACKUP); and the round-robin weight of each
    eligible RM of the pool the choice is made from, as the JSON object the trace carries (`trace_weight`'s
    rounding, by RM id), written by the database and passed through unread."""
    size: int
    excluded: dict[str, dict[str, int]]
    eligible: dict[str, int]
    weights: str


@dataclass
class PoolSummary:
    """The trace's account of a large pool: how many RMs, how many eligible (in the pool the choice was made
    from), how many excluded per rule, and every eligible RM's weight (a JSON object's text), by which the
    fairness ledger shares the allocation."""
    size: int
    eligible: int
    excluded: dict[str, int]
    weights: str

    def as_trace(self, listed: int) -> dict[str, Any]:
        return {"candidates": self.size, "eligible": self.eligible, "listed": listed, "excluded": self.excluded,
                "weights": orjson.Fragment(self.weights)}

    def drop(self, rm_id: UUID) -> None:
        """`rm_id` is no longer eligible (LAR-002: a concurrent allocation took its last slot or its cap)."""
        weights = orjson.loads(self.weights)
        if weights.pop(str(rm_id), None) is not None:
            self.weights = orjson.dumps(weights).decode()
            self.eligible -= 1
            self.excluded["LAR-002"] = self.excluded.get("LAR-002", 0) + 1


def summarize(counts: PoolCounts, *, pool_groups: list[str], excluded_groups: dict[str, str]) -> PoolSummary:
    """`pool_groups`: the groups the choice was made from (the database weighed the same: `PoolCounts`);
    `excluded_groups`: eligible groups left out, with the rule that left them out (LAR-001 beyond the level
    reached, LAR-007 for backups)."""
    excluded: dict[str, int] = {}
    for per_rule in counts.excluded.values():
        for rule, n in per_rule.items():
            excluded[rule] = excluded.get(rule, 0) + n
    for group, rule in excluded_groups.items():
        if counts.eligible.get(group):
            excluded[rule] = excluded.get(rule, 0) + counts.eligible[group]
    return PoolSummary(size=counts.size, eligible=sum(counts.eligible.get(group, 0) for group in pool_groups),
                       excluded=excluded, weights=counts.weights)


@dataclass
class Decision:
    outcome: str                       # ALLOCATED | OVERFLOW | QUEUED
    rm_id: UUID | None
    geo_level: str | None
    reason: str
    candidates: list[dict[str, Any]] = field(default_factory=list)
    ranking: list[UUID] = field(default_factory=list)
    decided_by: str | None = None
    pool: PoolSummary | None = None    # set when `candidates` lists only the best ranked of a large pool

    def trace(self, *, lead: Lead, rules_version: int | None, priority_breakdown: dict[str, Any]) -> dict[str, Any]:
        trace = {
            "outcome": self.outcome, "rm_id": str(self.rm_id) if self.rm_id else None, "geo_level": self.geo_level,
            "reason": self.reason, "decided_by": self.decided_by, "rules_version": rules_version,
            "lead": {"priority": lead.priority, "priority_breakdown": priority_breakdown, "city": lead.city,
                     "zone": lead.zone, "locality": lead.locality, "property_type": lead.property_type,
                     "segment": lead.segment,
                     "expected_deal_value": str(lead.expected_deal_value) if lead.expected_deal_value is not None
                     else None},
            "candidates": self.candidates,
        }
        if self.pool is not None:
            trace["pool"] = self.pool.as_trace(len(self.candidates))
        return trace

    def lost_race(self, rm_id: UUID) -> None:
        """`rm_id` was eligible but a concurrent allocation took its capacity or cap first: no longer eligible."""
        if self.pool is not None:
            self.pool.drop(rm_id)


# --- lead scoring ------------------------------------------------------------------------------

def score_lead(*, expected_deal_value: Decimal | None, segment: str | None, source: str | None,
               intent: dict[str, Any] | None) -> tuple[int, dict[str, Any]]:
    """Priority 1-5 from deal potential: 1 + value points (0-3) + segment (BUYER/OWNER 1) + high-intent source
    (INBOUND_CALL/REFERRAL/WALK_IN 1) + intent signals (urgency IMMEDIATE/HIGH/URGENT, a visit requested, or a
    pre-approved loan: 1), capped at 5. Value points: >= 1,00,000 -> 3; >= 25,000 -> 2; >= 5,000 -> 1."""
    value = expected_deal_value or Decimal(0)
    value_points = 3 if value >= 100000 else 2 if value >= 25000 else 1 if value >= 5000 else 0
    segment_points = 1 if segment in ("BUYER", "OWNER") else 0
    source_points = 1 if source in HIGH_INTENT_SOURCES else 0
    intent = intent or {}
    intent_points = 1 if (str(intent.get("urgency", "")).upper() in HIGH_URGENCY or intent.get("visit_requested")
                          or intent.get("pre_approved_loan")) else 0
    priority = max(1, min(5, 1 + value_points + segment_points + source_points + intent_points))
    return priority, {"value": value_points, "segment": segment_points, "source": source_points,
                      "intent": intent_points, "priority": priority}


# --- eligibility -------------------------------------------------------------------------------

def geo_level(lead: Lead, rm: Candidate) -> str | None:
    """LAR-001: how closely an RM serves the lead's place: LOCALITY, ZONE, CITY or not at all."""
    if norm(rm.city) != norm(lead.city):
        return None
    if lead.locality and norm(lead.locality) in {norm(loc) for loc in rm.localities}:
        return "LOCALITY"
    if lead.zone and rm.zone and norm(lead.zone) == norm(rm.zone):
        return "ZONE"
    return "CITY"


def local_time(now: datetime, timezone: str) -> datetime:
    return now.astimezone(ZoneInfo(timezone))


def on_shift(shifts: tuple[Mapping[str, Any], ...], at: datetime) -> bool:
    """Shifts are weekly windows in the rules' time zone; none means always on shift. An end before the
    start runs past midnight into the next day."""
    if not shifts:
        return True
    minute = at.hour * 60 + at.minute
    for s in shifts:
        start, end = _minutes(s["start"]), _minutes(s["end"])
        if start < end and s["weekday"] == at.weekday() and start <= minute < end:
            return True
        if start > end and ((s["weekday"] == at.weekday() and minute >= start)
                            or ((s["weekday"] + 1) % 7 == at.weekday() and minute < end)):
            return True
    return False


def _minutes(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


def week_start(day: date) -> date:
    """The Monday of a (local) date's week: weekly caps count from there."""
    return day - timedelta(days=day.weekday())


def caps(rm: Candidate, rules: AllocationRules) -> tuple[int | None, int | None]:
    """Daily and weekly caps of an RM: their own, else their team's default, else the city's (None: no cap)."""
    team = rules.caps_of_team(rm.team_id)
    daily = rm.max_leads_per_day or (team.max_leads_per_day if team else None) or rules.max_leads_per_day
    weekly = rm.max_leads_per_week or (team.max_leads_per_week if team else None) or rules.max_leads_per_week
    return daily, weekly


def cap_reached(rm: Candidate, rules: AllocationRules) -> tuple[str, str] | None:
    """Issue 17: an RM who already received their daily or weekly cap of leads takes no more until the city's
    midnight / the next Monday."""
    daily, weekly = caps(rm, rules)
    if daily is not None and rm.received_today >= daily:
        return "DAILY_CAP", f"RM reached the daily cap ({rm.received_today}/{daily} leads today)"
    if weekly is not None and rm.received_this_week >= weekly:
        return "WEEKLY_CAP", f"RM reached the weekly cap ({rm.received_this_week}/{weekly} leads this week)"
    return None


def exclusion(lead: Lead, rm: Candidate, rules: AllocationRules, now: datetime) -> tuple[str, str] | None:
    """The first rule that makes this RM ineligible, as (rule, explanation); None when eligible."""
    local = local_time(now, rules.timezone)
    if rm.status != "ACTIVE":
        return "AVAILABILITY", "RM is inactive"
    if rm.availability != "ONLINE":
        return "AVAILABILITY", "RM is offline"
    today = local.date()
    if any(start <= today <= end for start, end in rm.leaves):
        return "AVAILABILITY", f"RM is on leave on {today.isoformat()}"
    if not on_shift(rm.shifts, local):
        return "AVAILABILITY", f"RM is off shift at {local.strftime('%a %H:%M')} {rules.timezone}"
    skills = rules.skill_match
    if skills.property_type and lead.property_type and lead.property_type not in rm.property_types:
        return "LAR-003", f"RM does not handle {lead.property_type} property"
    if skills.segment and lead.segment and lead.segment not in rm.segments:
        return "LAR-003", f"RM does not handle {lead.segment} customers"
    if (skills.deal_size and lead.expected_deal_value is not None and rm.max_deal_value is not None
            and lead.expected_deal_value > rm.max_deal_value):
        return "LAR-003", f"deal value {lead.expected_deal_value} above RM's limit {rm.max_deal_value}"
    if rm.active_leads >= rm.capacity:
        return "LAR-002", f"RM at capacity ({rm.active_leads}/{rm.capacity} active leads)"
    return cap_reached(rm, rules)


# --- choosing ----------------------------------------------------------------------------------

def weight(rm: Candidate, lead: Lead, rules: AllocationRules) -> float:
    """LAR-004 weight (capacity share) times the LAR-005 performance factor for high-priority leads."""
    w = rm.capacity / 25 if rules.capacity_weighted_round_robin else 1.0
    boost = rules.performance_boost
    if boost.enabled and lead.priority >= boost.min_priority:
        w *= 1 + boost.strength * (rm.performance_score - 50) / 50
    return max(w, 1e-6)


def trace_weight(w: float) -> float:
    """A weight as the trace writes it: to 4 decimals, half away from zero, of its 15 significant digits. That is
    how PostgreSQL rounds `round(CAST(w AS numeric), 4)`, which writes a large pool's weights (`PoolCounts`), so
    both agree on every weight (plain `round()` rounds the binary value half to even: 1.00125 -> 1.0012)."""
    scaled = w * 10000
    if abs(scaled - math.floor(scaled) - 0.5) > 1e-6:  # not near a tie: both roundings agree
        return round(w, 4)
    return float(Decimal(format(w, ".15g")).quantize(_FOUR_PLACES, ROUND_HALF_UP))


_FOUR_PLACES = Decimal("0.0001")


def rank(eligible: list[Candidate], lead: Lead, rules: AllocationRules) -> list[tuple[Candidate, dict[str, Any]]]:
    """LAR-004 deficit round robin: the RM furthest behind their weighted share today goes first, i.e. the
    lowest (received_today + fairness_offset + 1) / weight; ties (to 4 decimals) go to the lower utilization (to 4
    decimals), then the longest wait since the last lead, then the id (deterministic). The offset of an RM who came
    back today stands for the leads the others received while they were away (issue 17: no burst on return).
    The database ranks a large pool with the same key (`repository.ranked_candidates`): both round x * 10^4
    half to even in binary floating point, so they agree to the last bit."""
    scored = []
    for rm in eligible:
        w = weight(rm, lead, rules)
        deficit = (rm.received_today + rm.fairness_offset + 1) / w
        utilization = rm.active_leads / rm.capacity if rm.capacity else 1.0
        entry = {"received_today": rm.received_today, "weight": trace_weight(w), "score": round(deficit, 4),
                 "utilization": round(utilization, 4)}
        if rm.fairness_offset:
            entry["fairness_offset"] = rm.fairness_offset
        scored.append((rm, entry, round(deficit * 10000), round(utilization * 10000)))
    never = datetime.min.replace(tzinfo=None)
    scored.sort(key=lambda item: (item[2], item[3],
                                  (item[0].last_allocated_at.replace(tzinfo=None) if item[0].last_allocated_at
                                   else never), str(item[0].id)))
    return [(rm, entry) for rm, entry, _, _ in scored]


def ranking_inputs(lead: Lead, rules: AllocationRules, now: datetime, *,
                   exclude: frozenset[UUID] = frozenset()) -> dict[str, Any]:
    """What `repository.ranked_candidates` needs to judge and rank RMs in SQL as `geo_level`, `exclusion`, `caps`,
    `weight` and `rank` do here: the city's local day and minute, the lead's place, the lead's facts the skill
    rules look at (None where a rule is off or the lead has no value), the weighting, the caps and how the pool
    widens (`decide`'s choice of the groups it chooses from)."""
    local = local_time(now, rules.timezone)
    skills, boost = rules.skill_match, rules.performance_boost
    return {
        "today": local.date(), "monday": week_start(local.date()), "weekday": local.weekday(),
        "minute": local.hour * 60 + local.minute, "exclude": sorted(exclude),
        "locality": norm(lead.locality) if lead.locality else None, "zone": norm(lead.zone) if lead.zone else None,
        "property_type": lead.property_type if skills.property_type and lead.property_type else None,
        "segment": lead.segment if skills.segment and lead.segment else None,
        "deal_value": lead.expected_deal_value if skills.deal_size else None,
        "capacity_weighted": rules.capacity_weighted_round_robin,
        "boost": boost.strength if boost.enabled and lead.priority >= boost.min_priority else None,
        "daily_cap": rules.max_leads_per_day, "weekly_cap": rules.max_leads_per_week,
        "widening": list(rules.geographic_widening), "overflow_to_backup": rules.overflow_to_backup,
        "cap_teams": [c.team_id for c in rules.team_caps],
        "cap_daily": [c.max_leads_per_day for c in rules.team_caps],
        "cap_weekly": [c.max_leads_per_week for c in rules.team_caps],
    }


def decide(lead: Lead, candidates: list[Candidate], rules: AllocationRules, now: datetime, *,
           exclude: frozenset[UUID] = frozenset(), counts: PoolCounts | None = None) -> Decision:
    """Choose an RM for a lead, or overflow to the backup pool, or queue it; every candidate's fate is traced.
    With `counts`, `candidates` are the best-ranked eligible RMs of each group of a large pool (in any order) and
    `counts` what the database counted of all: the choice is the same as over all of them, and the trace lists
    the TRACE_TOP best ranked with a summary of the pool."""
    trace: dict[UUID, dict[str, Any]] = {}
    eligible_by_level: dict[str, list[Candidate]] = {level: [] for level in GEO_ORDER}
    backups: list[Candidate] = []
    for rm in candidates:
        level = geo_level(lead, rm)
        entry: dict[str, Any] = {"rm_id": str(rm.id), "name": rm.name, "pool": "BACKUP" if rm.is_backup else "REGULAR",
                                 "geo_level": level, "active_leads": rm.active_leads, "capacity": rm.capacity}
        trace[rm.id] = entry
        if level is None:
            entry.update(eligible=False, excluded_by="LAR-001", why=f"RM serves {rm.city}, not {lead.city}")
            continue
        if rm.id in exclude:
            entry.update(eligible=False, excluded_by="EXCLUDED", why="RM already had this lead (rejected, expired "
                                                                     "or being reassigned away)")
            continue
        excluded = exclusion(lead, rm, rules, now)
        if excluded:
            entry.update(eligible=False, excluded_by=excluded[0], why=excluded[1])
            continue
        entry["eligible"] = True
        (backups if rm.is_backup else eligible_by_level[level]).append(rm)

    pool: list[Candidate] = []
    chosen_level = None
    widened: list[str] = []
    for level in rules.geographic_widening:
        widened.append(level)
        pool = [rm for lv in GEO_ORDER[:GEO_ORDER.index(level) + 1] for rm in eligible_by_level[lv]]
        if pool:
            chosen_level = level
            break
    # Regular RMs outside the widest level tried are excluded by LAR-001.
    allowed = GEO_ORDER[:GEO_ORDER.index(chosen_level or widened[-1]) + 1]
    left_out = {level: "LAR-001" for level in GEO_ORDER if level not in allowed}
    for level in left_out:
        for rm in eligible_by_level[level]:
            trace[rm.id].update(eligible=False, excluded_by="LAR-001",
                                why=f"only matches at {level} level; allocation stopped at {chosen_level}")
    outcome = "ALLOCATED"
    pool_groups = list(allowed)
    if not pool and rules.overflow_to_backup and backups:
        pool, outcome, chosen_level, pool_groups = backups, "OVERFLOW", "CITY", ["BACKUP"]
    else:  # of a large pool, the database counted the backups left out (their rows need not come back)
        left_out["BACKUP"] = "LAR-007"
        for rm in backups:
            trace[rm.id].update(eligible=False, excluded_by="LAR-007",
                                why="backup pool is used only when no regular RM is eligible")
    summary = summarize(counts, pool_groups=pool_groups, excluded_groups=left_out) if counts else None
    ranked = rank(pool, lead, rules)
    if counts:  # list the best ranked only (exact: the union of every group's best holds the pool's best)
        ranked = ranked[:TRACE_TOP]
        listed = {rm.id for rm, _ in ranked}
        trace = {rm_id: entry for rm_id, entry in trace.items() if rm_id in listed}
    if not pool:
        reason = (f"no eligible RM in {lead.city} (regular or backup); lead queued for the overflow retry"
                  if candidates or counts else f"no RM serves {lead.city}; lead queued for the overflow retry")
        return Decision(outcome="QUEUED", rm_id=None, geo_level=None, reason=reason,
                        candidates=list(trace.values()), pool=summary)
    eligible = summary.eligible if summary else len(ranked)
    for position, (rm, score) in enumerate(ranked, start=1):
        trace[rm.id].update(score, rank=position)
    winner = ranked[0][0]
    trace[winner.id]["winner"] = True
    reason = (f"{'backup pool (LAR-007)' if outcome == 'OVERFLOW' else f'{chosen_level.lower()} match (LAR-001)'}; "
              f"furthest behind weighted share today (LAR-004"
              f"{', LAR-005 boost' if rules.performance_boost.enabled and lead.priority >= rules.performance_boost.min_priority else ''})"
              f" among {eligible} eligible")
    levels = set(GEO_ORDER[:GEO_ORDER.index(chosen_level) + 1])
    return Decision(outcome=outcome, rm_id=winner.id, geo_level=chosen_level, reason=reason,
                    candidates=list(trace.values()), ranking=[rm.id for rm, _ in ranked], pool=summary,
                    decided_by=decided_by(eligible, trace.values(), levels=levels, skill_excluded=sum(
                        counts.excluded.get(level, {}).get("LAR-003", 0) for level in levels) if counts else 0))


def decided_by(eligible: int, trace: Any, *, levels: set[str], skill_excluded: int = 0) -> str:
    """Which PRD §3.2.3 type settled the choice: ROUND_ROBIN when the deficit order chose among several
    eligible RMs; with one left, SKILL_BASED when the skill filter (LAR-003) removed RMs matching the lead's
    place as closely as the level reached (`skill_excluded`: those the database counted of a large pool), else
    GEOGRAPHIC (that level had only this RM)."""
    if eligible > 1:
        return "ROUND_ROBIN"
    skill_removed = skill_excluded > 0 or any(e.get("excluded_by") == "LAR-003" and e.get("geo_level") in levels
                                              for e in trace)
    return "SKILL_BASED" if skill_removed else "GEOGRAPHIC"


def sla_deadline(allocated_at: datetime, rules: AllocationRules) -> datetime:
    """LAR-006: the RM must act within `sla_minutes` (2 h by default)."""
    return allocated_at + timedelta(minutes=rules.sla_minutes)


def breach_outcome(breaches_so_far: int, rules: AllocationRules) -> str:
    """LAR-006: an SLA breach reallocates the lead, except the Nth (max_sla_breaches) which escalates it."""
    return "ESCALATE" if breaches_so_far + 1 >= rules.max_sla_breaches else "REALLOCATE"


def after_allocation(rm: Candidate, now: datetime) -> Candidate:
    """The RM's load once one more lead is theirs (used to replay many leads in a simulation)."""
    return replace(rm, active_leads=rm.active_leads + 1, received_today=rm.received_today + 1,
                   received_this_week=rm.received_this_week + 1, last_allocated_at=now)


def coefficient_of_variation(counts: list[int]) -> float | None:
    """Standard deviation / mean of per-RM counts (population); None when undefined."""
    if len(counts) < 2:
        return None
    return _coefficient_of_variation(tuple(sorted(counts)))


@functools.lru_cache(maxsize=4096)
def _coefficient_of_variation(counts: tuple[int, ...]) -> float | None:
    """Issue 19: pstdev's exact (Fraction) arithmetic costs ~0.15 ms per call; the result depends only on the
    multiset of counts (fmean and pstdev are exactly rounded), and the same rooms are read again and again."""
    mean = statistics.fmean(counts)
    return statistics.pstdev(counts) / mean if mean else None


def simulate(leads: list[Lead], candidates_by_city: dict[str, list[Candidate]], rules_for: Any,
             now: datetime) -> tuple[list[tuple[Lead, Decision]], dict[UUID, Candidate]]:
    """Replay leads in order against the engine, updating simulated loads; nothing is written."""
    state: dict[UUID, Candidate] = {rm.id: rm for rms in candidates_by_city.values() for rm in rms}
    results = []
    for lead in leads:
        pool = [state[rm.id] for rm in candidates_by_city.get(norm(lead.city), [])]
        decision = decide(lead, pool, rules_for(lead.city), now)
        if decision.rm_id is not None:
            state[decision.rm_id] = after_allocation(state[decision.rm_id], now)
        results.append((lead, decision))
    return results, state
