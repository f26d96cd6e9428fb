"""The only place allocation SQL lives. Hot paths are plain Core statements returning rows."""
from __future__ import annotations

import functools
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from types import MappingProxyType
from typing import Any
from uuid import UUID

import orjson
from sqlalchemy import (ColumnElement, Date, Integer, and_, bindparam, case, exists, false, func, insert, literal,
                        literal_column, or_, select, text, true, union_all, update)
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.allocation.enums import LIVE_STATUSES, AllocationStatus
from sales.allocation.models import allocation_queue_alerts as queue_alerts, allocation_rule_sets, rm_allocations as a
from sales.allocation.rules import (GEO_ORDER, TRACE_ALL_UP_TO, TRACE_TOP, Candidate, PoolCounts, norm,
                                    week_start)
from sales.core.auth import Principal
from sales.core.db import bound_in, bound_values, insert_unless_exists, is_postgres, json_loads
from sales.core.direct import Direct
from sales.core.types import UUIDType, plain_on_postgres
from sales.directory.scoping import NOTHING, bound_scopes, owned_or_supervised, scope_kind, scope_params
from sales.directory.models import rm_leaves, rm_localities, rms, teams
from sales.leads import repository as leads_repository
from sales.leads.models import leads
from sales.pipelines import repository as pipelines_repository

LIVE = [s.value for s in LIVE_STATUSES]
ALLOCATION_COLUMNS = [c for c in a.c if c.name != "decision"]


def _status_in(values: list[str]) -> ColumnElement[bool]:
    """`status IN ('A', 'B')` with the statuses written into the SQL, for statements built once: `in_(values)` is
    an expanding parameter, which SQLAlchemy renders again on every execution (issue 19: ~0.1 ms a stage change)."""
    return a.c.status.in_([literal_column(f"'{value}'") for value in values])


# --- candidates and capacity -------------------------------------------------------------------

def _candidate_query(today: date) -> Any:
    on_leave = exists().where(rm_leaves.c.rm_id == rms.c.id, rm_leaves.c.start_date <= today,
                              rm_leaves.c.end_date >= today)
    received = case((rms.c.window_date == today, rms.c.window_received), else_=0)
    this_week = case((rms.c.week_start == week_start(today), rms.c.week_received), else_=0)
    return select(rms.c.id, rms.c.name, rms.c.team_id, rms.c.city, rms.c.zone, rms.c.localities,
                  rms.c.property_types, rms.c.segments, rms.c.max_deal_value, rms.c.capacity, rms.c.active_leads,
                  rms.c.status, rms.c.availability, rms.c.shifts, rms.c.is_backup, rms.c.performance_score,
                  rms.c.last_allocated_at, received.label("received_today"), on_leave.label("on_leave"),
                  this_week.label("received_this_week"), rms.c.max_leads_per_day, rms.c.max_leads_per_week,
                  case((rms.c.rr_offset_date == today, rms.c.rr_offset), else_=0).label("fairness_offset"))


def _candidate(row: Any, today: date) -> Candidate:
    return Candidate(
        id=row.id, name=row.name, team_id=row.team_id, city=row.city, zone=row.zone,
        localities=tuple(row.localities or ()), property_types=tuple(row.property_types or ()),
        segments=tuple(row.segments or ()), max_deal_value=row.max_deal_value, capacity=row.capacity,
        active_leads=row.active_leads, status=row.status, availability=row.availability,
        shifts=_shifts(row.shifts) if isinstance(row.shifts, str) else tuple(row.shifts or ()),
        leaves=((today, today),) if row.on_leave else (),
        is_backup=row.is_backup, performance_score=row.performance_score, received_today=row.received_today,
        last_allocated_at=row.last_allocated_at, received_this_week=row.received_this_week,
        max_leads_per_day=row.max_leads_per_day, max_leads_per_week=row.max_leads_per_week,
        fairness_offset=row.fairness_offset)


@functools.lru_cache(maxsize=4096)
def _shifts(text: str) -> tuple[Mapping[str, Any], ...]:
    """An RM's shifts from their JSON text, decoded once per distinct text (issue 19): read-only, being shared."""
    return tuple(MappingProxyType(shift) for shift in json_loads(text) or ())


def _locality_query(today: date, city: str, locality: str) -> Any:
    return _candidate_query(today).join(rm_localities, rm_localities.c.rm_id == rms.c.id).where(
        rm_localities.c.city == norm(city), rm_localities.c.locality == norm(locality)).order_by(rms.c.id)


def _city_query(today: date, city: str) -> Any:
    return _candidate_query(today).where(func.lower(rms.c.city) == norm(city)).order_by(rms.c.id)


async def city_candidates(conn: AsyncConnection, *, city: str, today: date) -> list[Candidate]:
    return [_candidate(r, today) for r in (await conn.execute(_city_query(today, city))).all()]


RuleSetIds = tuple[UUID | None, UUID | None]


def _current_rule_set_id(city: str) -> Any:
    return (select(allocation_rule_sets.c.id).where(allocation_rule_sets.c.city == city,
                                                    allocation_rule_sets.c.is_current == literal(True))
            .limit(1).scalar_subquery())


async def candidates_with_rule_sets(conn: AsyncConnection, *, city: str, locality: str | None,
                                    today: date) -> tuple[list[Candidate], RuleSetIds | None]:
    """The locality's candidates (the city's when `locality` is None) and, in the same statement, the ids of the
    city's and the default's current rule sets (None when there are no candidates to carry them): a per-process
    cache of the rules checks them against what it holds, in the allocation's own transaction."""
    key = norm(city)
    query = _locality_query(today, city, locality) if locality is not None else _city_query(today, city)
    rows = (await conn.execute(query.add_columns(_current_rule_set_id(key).label("rule_set_own"),
                                                 _current_rule_set_id("*").label("rule_set_star")))).all()
    ids = (rows[0].rule_set_own, rows[0].rule_set_star) if rows else None
    return [_candidate(r, today) for r in rows], ids


@dataclass(frozen=True)
class RankedCandidates:
    candidates: list[Candidate]     # every candidate; of a large pool, the TRACE_TOP best-ranked eligible of the
                                    # pool chosen from, and the first RM by id (who carries the counts)
    counts: PoolCounts | None       # set for a large pool
    rule_sets: RuleSetIds | None    # the current rule set ids (None when no row came back to carry them)


# `rules.geo_level`, `rules.exclusion`, `rules.caps`, `rules.weight` and `rules.rank` once more, in SQL: the same
# level, the same first excluding rule and the same order, computed in the same binary floating point
# (`rules.rank`'s docstring). And `rules.decide`'s choice of the pool, whose best ranked alone come back: the eligible
# RMs at the levels (in GEO_ORDER) up to the first level of the widening that has any (`reach`: that level's place
# in GEO_ORDER); else, with the overflow on, the eligible backups. The pool's weights come as the JSON object the
# trace carries (rounded as `rules.trace_weight`, written as a float's shortest text: 1.0, 0.265). Tested against
# the engine on random pools (tests/api/allocation/test_ranked_pool_pg.py).
_RANKED = """
WITH candidate AS (
    SELECT r.id, r.name, r.team_id, r.city, r.zone, r.localities, r.property_types, r.segments, r.max_deal_value,
           r.capacity, r.active_leads, r.status, r.availability, r.shifts, r.is_backup, r.performance_score,
           r.last_allocated_at, r.max_leads_per_day, r.max_leads_per_week, {level} AS level,
           CASE WHEN r.window_date = CAST(:today AS date) THEN r.window_received ELSE 0 END AS received_today,
           CASE WHEN r.week_start = CAST(:monday AS date) THEN r.week_received ELSE 0 END AS received_this_week,
           CASE WHEN r.rr_offset_date = CAST(:today AS date) THEN r.rr_offset ELSE 0 END AS fairness_offset,
           EXISTS (SELECT 1 FROM rm_leaves l WHERE l.rm_id = r.id AND l.start_date <= CAST(:today AS date)
                   AND l.end_date >= CAST(:today AS date)) AS on_leave,
           coalesce(nullif(r.max_leads_per_day, 0), nullif(team_cap.daily, 0), CAST(:daily_cap AS integer))
               AS daily_cap,
           coalesce(nullif(r.max_leads_per_week, 0), nullif(team_cap.weekly, 0), CAST(:weekly_cap AS integer))
               AS weekly_cap
    FROM {source}
    LEFT JOIN unnest(CAST(:cap_teams AS uuid[]), CAST(:cap_daily AS integer[]), CAST(:cap_weekly AS integer[]))
        AS team_cap (team_id, daily, weekly) ON team_cap.team_id = r.team_id
    WHERE {where}
), judged AS (
    SELECT candidate.*,
           CASE
               WHEN id = ANY (CAST(:exclude AS uuid[])) THEN 'EXCLUDED'
               WHEN status <> 'ACTIVE' OR availability <> 'ONLINE' OR on_leave THEN 'AVAILABILITY'
               WHEN jsonb_array_length(shifts) > 0 AND NOT EXISTS (
                   SELECT 1
                   FROM jsonb_array_elements(shifts) AS s (shift),
                        LATERAL (SELECT (shift ->> 'weekday')::integer AS day,
                                        split_part(shift ->> 'start', ':', 1)::integer * 60
                                            + split_part(shift ->> 'start', ':', 2)::integer AS starts,
                                        split_part(shift ->> 'end', ':', 1)::integer * 60
                                            + split_part(shift ->> 'end', ':', 2)::integer AS ends) AS w
                   WHERE (w.starts < w.ends AND w.day = :weekday AND w.starts <= :minute AND :minute < w.ends)
                      OR (w.starts > w.ends AND ((w.day = :weekday AND :minute >= w.starts)
                                                 OR ((w.day + 1) % 7 = :weekday AND :minute < w.ends))))
                   THEN 'AVAILABILITY'
               WHEN CAST(:property_type AS text) IS NOT NULL
                    AND NOT property_types @> jsonb_build_array(CAST(:property_type AS text)) THEN 'LAR-003'
               WHEN CAST(:segment AS text) IS NOT NULL
                    AND NOT segments @> jsonb_build_array(CAST(:segment AS text)) THEN 'LAR-003'
               WHEN max_deal_value < CAST(:deal_value AS numeric) THEN 'LAR-003'
               WHEN active_leads >= capacity THEN 'LAR-002'
               WHEN received_today >= daily_cap THEN 'DAILY_CAP'
               WHEN received_this_week >= weekly_cap THEN 'WEEKLY_CAP'
           END AS excluded_by,
           greatest(CASE WHEN :capacity_weighted THEN capacity::float8 / 25::float8 ELSE 1::float8 END
                    * CASE WHEN CAST(:boost AS float8) IS NULL THEN 1::float8
                           ELSE 1::float8 + CAST(:boost AS float8) * (performance_score - 50)::float8 / 50::float8
                      END,
                    1e-6::float8) AS weight
    FROM candidate
), ranked AS (
    SELECT judged.*, CASE WHEN excluded_by IS NULL THEN CASE WHEN is_backup THEN 'BACKUP' ELSE level END END AS grp,
           count(*) OVER () AS pool_size, row_number() OVER (ORDER BY id) AS nth
    FROM judged
), chosen AS (
    SELECT (SELECT array_position({geo_order}, widening.level)
            FROM unnest(CAST(:widening AS text[])) WITH ORDINALITY AS widening (level, i)
            WHERE EXISTS (SELECT 1 FROM ranked
                          WHERE array_position({geo_order}, grp) <= array_position({geo_order}, widening.level))
            ORDER BY i LIMIT 1) AS reach
), pooled AS (
    SELECT ranked.*, in_pool,
           row_number() OVER (
               PARTITION BY in_pool
               ORDER BY round((received_today + fairness_offset + 1)::float8 / weight * 10000::float8),
                        round(CASE WHEN capacity > 0 THEN active_leads::float8 / capacity::float8 ELSE 1::float8 END
                              * 10000::float8),
                        last_allocated_at NULLS FIRST, id::text COLLATE "C") AS position
    FROM ranked, chosen,
         LATERAL (SELECT coalesce(CASE WHEN chosen.reach IS NOT NULL
                                       THEN array_position({geo_order}, grp) <= chosen.reach
                                       ELSE grp = 'BACKUP' AND CAST(:overflow_to_backup AS boolean) END,
                                  false) AS in_pool) AS membership
)
SELECT pooled.id, pooled.name, pooled.team_id, pooled.city, pooled.zone, {localities} AS localities,
       {property_types} AS property_types, {segments} AS segments, pooled.max_deal_value, pooled.capacity,
       pooled.active_leads, pooled.status, pooled.availability, CAST(pooled.shifts AS text) AS shifts,
       pooled.is_backup,
       pooled.performance_score, pooled.last_allocated_at, pooled.max_leads_per_day, pooled.max_leads_per_week,
       pooled.received_today, pooled.received_this_week, pooled.fairness_offset, pooled.on_leave, pooled.pool_size,
       (SELECT id FROM allocation_rule_sets WHERE city = :city AND is_current LIMIT 1) AS rule_set_own,
       (SELECT id FROM allocation_rule_sets WHERE city = '*' AND is_current LIMIT 1) AS rule_set_star,
       CASE WHEN pool_size > :list_all_up_to AND nth = 1 THEN json_build_object(
           'excluded', (SELECT coalesce(json_object_agg(level, rules), '{{}}')
                        FROM (SELECT level, json_object_agg(excluded_by, n ORDER BY excluded_by) AS rules
                              FROM (SELECT level, excluded_by, count(*) AS n FROM judged
                                    WHERE excluded_by IS NOT NULL GROUP BY 1, 2) AS per_rule
                              GROUP BY level) AS per_level),
           'eligible', (SELECT coalesce(json_object_agg(grp, n), '{{}}')
                        FROM (SELECT grp, count(*) AS n FROM ranked WHERE grp IS NOT NULL GROUP BY grp) AS per_group)
           )::text END AS counts,
       CASE WHEN pool_size > :list_all_up_to AND nth = 1 THEN (
           SELECT '{{' || coalesce(string_agg('"' || id::text || '":' || regexp_replace(
                                                  rtrim(CAST(round(CAST(weight AS numeric), 4) AS text), '0'),
                                                  '[.]$', '.0'), ',' ORDER BY id), '') || '}}'
           FROM pooled WHERE in_pool) END AS pool_weights
FROM pooled
WHERE pool_size <= :list_all_up_to OR nth = 1 OR (in_pool AND position <= :top)
ORDER BY id
"""
# The candidate's columns `_candidate` reads. Its lists of strings come as text[] (asyncpg decodes those natively;
# a JSON value is decoded in Python, and a candidate has four: issue 19); a value that is not an array as NULL, as
# a JSON null would give None.
_TEXT_ARRAYS = {name: f"""CASE WHEN jsonb_typeof(pooled.{name}) = 'array'
               THEN ARRAY(SELECT jsonb_array_elements_text(pooled.{name})) END"""
                for name in ("localities", "property_types", "segments")}
# The shifts come as JSON text: the same few weekly patterns recur over the RMs, decoded once each (`_shifts`).
_RESULT_TYPES = {name: rms.c[name].type for name in ("id", "team_id", "max_deal_value", "last_allocated_at")}
# The locality stage: the RMs listing the lead's locality (indexed through rm_localities), all at LOCALITY level.
_GEO_ORDER = "ARRAY[" + ", ".join(f"'{level}'" for level in GEO_ORDER) + "]"
_RANKED_IN_LOCALITY = Direct(text(_RANKED.format(
    **_TEXT_ARRAYS, geo_order=_GEO_ORDER, level="'LOCALITY'", source="rm_localities g JOIN rms r ON r.id = g.rm_id",
    where="g.city = :city AND g.locality = CAST(:locality AS text)",
)).columns(**_RESULT_TYPES, rule_set_own=UUIDType, rule_set_star=UUIDType))
# The city stage: every RM of the city, at the level they match the lead's place.
_RANKED_IN_CITY = Direct(text(_RANKED.format(
    **_TEXT_ARRAYS, geo_order=_GEO_ORDER, level="""CASE WHEN EXISTS (SELECT 1 FROM rm_localities g WHERE g.rm_id = r.id AND g.city = :city
                                      AND g.locality = CAST(:locality AS text)) THEN 'LOCALITY'
                  WHEN r.zone <> ''
                       AND lower(btrim(regexp_replace(r.zone, '[[:space:]]+', ' ', 'g'))) = CAST(:zone AS text)
                      THEN 'ZONE'
                  ELSE 'CITY' END""",
    source="rms r", where="lower(r.city) = :city",
)).columns(**_RESULT_TYPES, rule_set_own=UUIDType, rule_set_star=UUIDType))


async def ranked_candidates(conn: AsyncConnection, *, city: str, inputs: dict[str, Any], in_locality: bool,
                            list_all_up_to: int = TRACE_ALL_UP_TO) -> RankedCandidates:
    """The lead's locality's RMs (`in_locality`) or the city's, with the ids of the city's and the default's current
    rule sets; on PostgreSQL a pool of more than `list_all_up_to` RMs comes back as the TRACE_TOP best-ranked
    eligible RMs of the pool the engine chooses from and the counts of all (`inputs`: `rules.ranking_inputs`)."""
    today = inputs["today"]
    if not is_postgres(conn):
        candidates, rule_sets = await candidates_with_rule_sets(
            conn, city=city, locality=inputs["locality"] if in_locality else None, today=today)
        return RankedCandidates(candidates, None, rule_sets)
    statement = _RANKED_IN_LOCALITY if in_locality else _RANKED_IN_CITY
    rows = await statement.rows(conn, {**inputs, "city": norm(city), "list_all_up_to": list_all_up_to,
                                       "top": TRACE_TOP})
    if not rows:
        return RankedCandidates([], None, None)
    counts = None
    if rows[0].pool_size > list_all_up_to:  # the first RM by id always comes back, with the counts
        first = next(r for r in rows if r.counts is not None)
        counted = orjson.loads(first.counts)
        counts = PoolCounts(size=rows[0].pool_size, excluded=counted["excluded"], eligible=counted["eligible"],
                            weights=first.pool_weights)
    return RankedCandidates([_candidate(r, today) for r in rows], counts, (rows[0].rule_set_own, rows[0].rule_set_star))


async def candidates_in_cities(conn: AsyncConnection, *, cities: list[str], today: date,
                               scope: ColumnElement[bool] = true()) -> dict[str, list[Candidate]]:
    query = (_candidate_query(today).where(func.lower(rms.c.city).in_([norm(c) for c in cities]), scope)
             .order_by(rms.c.id))
    out: dict[str, list[Candidate]] = {}
    for row in (await conn.execute(query)).all():
        out.setdefault(norm(row.city), []).append(_candidate(row, today))
    return out


@dataclass(frozen=True)
class Claim:
    """A capacity claim (LAR-002, `claim_capacity`) not taken yet, for `insert_allocation` to take in its own
    statement on PostgreSQL (issue 19): only while the RM's row is as the candidates statement read it
    (`seen_active_leads`, `seen_last_allocated_at`; every claim and release changes one of them)."""
    rm_id: UUID
    today: date
    now: datetime
    daily_cap: int | None
    weekly_cap: int | None
    seen_active_leads: int
    seen_last_allocated_at: datetime | None

    def params(self, prefix: str = "") -> dict[str, Any]:
        return {f"{prefix}rm_id": self.rm_id, f"{prefix}today": self.today, f"{prefix}monday": week_start(self.today),
                f"{prefix}now": self.now, f"{prefix}daily_cap": self.daily_cap, f"{prefix}weekly_cap": self.weekly_cap,
                f"{prefix}seen_active_leads": self.seen_active_leads,
                f"{prefix}seen_last_allocated_at": self.seen_last_allocated_at}


class CapacityTaken(Exception):
    """The RM's row changed after the candidates statement read it (a concurrent allocation claimed it, say), so
    `insert_allocation` did not take its claim: nothing was written."""


async def claim_capacity(conn: AsyncConnection, rm_id: UUID, *, today: date, now: datetime,
                         over_capacity: bool = False, daily_cap: int | None = None,
                         weekly_cap: int | None = None) -> bool:
    """LAR-002 and the daily/weekly caps under concurrency: one conditional UPDATE takes a slot only while one is
    free and the RM's leads received today (since the city's midnight) and this week (since Monday) are below
    the caps; the counters restart by themselves when `today` / its week moves on."""
    statement = _claim_statement(over_capacity, daily_cap is not None, weekly_cap is not None)
    return await statement.first(conn, {"rm_id": rm_id, "today": today, "monday": week_start(today), "now": now,
                                        "daily_cap": daily_cap, "weekly_cap": weekly_cap}) is not None


@functools.cache
def _claim_statement(over_capacity: bool, daily_cap: bool, weekly_cap: bool) -> Direct:
    """Built once per kind of claim (issue 19: no per-request statement construction)."""
    return Direct(_claim_update(over_capacity, daily_cap, weekly_cap))


@functools.cache
def _claim_update(over_capacity: bool, daily_cap: bool, weekly_cap: bool, prefix: str = "",
                  unchanged: bool = False) -> Any:
    """The claim's UPDATE ... RETURNING id, its parameters named with `prefix`: `rm_id`, `today`, `monday`, `now`,
    `daily_cap`, `weekly_cap`; with `unchanged`, only while the RM's row is as seen (`Claim.params`)."""
    today, monday = bindparam(f"{prefix}today", type_=Date), bindparam(f"{prefix}monday", type_=Date)
    received_today = case((rms.c.window_date == today, rms.c.window_received), else_=0)
    received_this_week = case((rms.c.week_start == monday, rms.c.week_received), else_=0)
    values: dict[str, Any] = {"active_leads": rms.c.active_leads + 1, "window_received": received_today + 1,
                              "window_date": today, "week_received": received_this_week + 1, "week_start": monday,
                              "last_allocated_at": bindparam(f"{prefix}now", type_=rms.c.last_allocated_at.type)}
    query = update(rms).where(rms.c.id == bindparam(f"{prefix}rm_id", type_=UUIDType))
    if over_capacity:
        values["override_leads"] = rms.c.override_leads + case(
            (rms.c.active_leads >= rms.c.capacity + rms.c.override_leads, 1), else_=0)
    else:
        query = query.where(rms.c.active_leads < rms.c.capacity)
    if daily_cap:
        query = query.where(received_today < bindparam(f"{prefix}daily_cap", type_=Integer))
    if weekly_cap:
        query = query.where(received_this_week < bindparam(f"{prefix}weekly_cap", type_=Integer))
    if unchanged:
        query = query.where(rms.c.active_leads == bindparam(f"{prefix}seen_active_leads", type_=Integer),
                            rms.c.last_allocated_at.is_not_distinct_from(
                                bindparam(f"{prefix}seen_last_allocated_at", type_=rms.c.last_allocated_at.type)))
    return query.values(**values).returning(rms.c.id)


async def release_capacity(conn: AsyncConnection, rm_id: UUID) -> None:
    """A live allocation ended: free its slot (and an override slot first, if any is in use)."""
    await conn.execute(update(rms).where(rms.c.id == rm_id).values(
        active_leads=rms.c.active_leads - 1,
        override_leads=case((rms.c.override_leads > 0, rms.c.override_leads - 1), else_=0)))


# --- allocations -------------------------------------------------------------------------------

def readable(principal: Principal) -> ColumnElement[bool]:
    return owned_or_supervised(principal, owner=a.c.rm_id)


_JOINED = a.join(rms, rms.c.id == a.c.rm_id)


async def get(conn: AsyncConnection, allocation_id: UUID, *, scope: ColumnElement[bool] = true(),
              for_update: bool = False, with_decision: bool = True) -> Any:
    columns = [*ALLOCATION_COLUMNS, a.c.decision] if with_decision else ALLOCATION_COLUMNS
    query = select(*columns, rms.c.team_id.label("rm_team_id")).select_from(_JOINED).where(
        a.c.id == allocation_id, scope)
    if for_update:
        query = query.with_for_update(of=a)
    return (await conn.execute(query)).first()


async def live_for_lead(conn: AsyncConnection, lead_id: UUID) -> Any:
    query = select(*ALLOCATION_COLUMNS, a.c.decision).where(a.c.lead_id == lead_id, a.c.status.in_(LIVE))
    return (await conn.execute(query)).first()


def _acted_on_statements(closed: bool, prefix: str = "") -> tuple[Any, tuple[Any, Any]]:
    """The lead's live allocation held by the RM, acted on (LAR-006: first action, accepted, ACTIVE) or, when
    `closed`, COMPLETED; bound parameters `of_lead`, `of_rm`, `acted_at` (and `allocation_id` on SQLite), each after
    `prefix`. PostgreSQL: one UPDATE that locks the row first (re-checking it is still live and the RM's) and returns
    its `id`, `team_id` and status before (`previous_status`); SQLite (no old values in RETURNING): a SELECT then
    the UPDATE by id, in its write transaction."""
    now = bindparam(f"{prefix}acted_at", type_=a.c.updated_at.type)
    status = literal(AllocationStatus.COMPLETED.value) if closed else case(
        (_status_in([AllocationStatus.PENDING.value, AllocationStatus.ACCEPTED.value]),
         literal(AllocationStatus.ACTIVE.value)), else_=a.c.status)
    values = {"updated_at": now, "first_action_at": func.coalesce(a.c.first_action_at, now),
              "accepted_at": func.coalesce(a.c.accepted_at, now), "status": status}
    if closed:
        values["ended_at"] = now
    held = select(a.c.id, a.c.team_id, a.c.status.label("previous_status")).where(
        a.c.lead_id == bindparam(f"{prefix}of_lead", type_=a.c.lead_id.type), _status_in(LIVE),
        a.c.rm_id == bindparam(f"{prefix}of_rm", type_=a.c.rm_id.type))
    previous = held.with_for_update().cte(f"{prefix}previous")
    one_statement = update(a).where(a.c.id == previous.c.id).values(values).returning(
        a.c.id, a.c.team_id, previous.c.previous_status)
    by_id = update(a).where(a.c.id == bindparam("allocation_id", type_=a.c.id.type)).values(values)
    return one_statement, (held, by_id)


def acted_on_cte(closed: bool, prefix: str) -> Any:
    """`act_on_live_for_lead`'s PostgreSQL statement as a CTE (`<prefix>acted`) for another domain's statement to
    carry (a pipeline's stage change, as a `hooks.Ride`); its parameters are named after `prefix`."""
    return _acted_on_statements(closed, prefix)[0].cte(f"{prefix}acted")


def _acted_on_built(closed: bool) -> tuple[Direct, tuple[Any, Any]]:
    one_statement, on_sqlite = _acted_on_statements(closed)
    return Direct(one_statement), on_sqlite


_ACTED_ON = {closed: _acted_on_built(closed) for closed in (False, True)}


async def act_on_live_for_lead(conn: AsyncConnection, *, lead_id: UUID, rm_id: UUID, closed: bool,
                               now: datetime) -> Any:
    """Mark the lead's live allocation acted on (or COMPLETED when `closed`) if `rm_id` holds it: its `id`,
    `team_id` and `previous_status`, or None (no live allocation, or another RM's)."""
    one_statement, (held, by_id) = _ACTED_ON[closed]
    params = {"of_lead": lead_id, "of_rm": rm_id, "acted_at": now}
    if is_postgres(conn):
        return await one_statement.first(conn, params)
    row = (await conn.execute(held, params)).first()
    if row is not None:
        await conn.execute(by_id, {**params, "allocation_id": row.id})
    return row


# True while the lead named by the bound parameter `live_lead_id` has a live allocation: the condition of the lead's
# upsert (`live_allocation_params`). By value, since an EXISTS inside ON CONFLICT ... WHERE cannot be correlated to
# the conflicting row; built once, so the upsert is too (issue 19). The statuses are plain bound values, not an
# expanding IN (whose SQL SQLAlchemy renders again on every execution).
LIVE_ALLOCATION_OF_LEAD = exists().where(a.c.lead_id == bindparam("live_lead_id", type_=a.c.lead_id.type),
                                         a.c.status.in_([literal(status) for status in LIVE]))


def live_allocation_params(lead_id: UUID) -> dict[str, Any]:
    return {"live_lead_id": lead_id}


async def rms_who_had_lead(conn: AsyncConnection, lead_id: UUID) -> set[UUID]:
    return set((await conn.execute(select(a.c.rm_id).where(
        a.c.lead_id == lead_id, a.c.status.in_(["REASSIGNED", "EXPIRED"])))).scalars())


async def insert_allocation(conn: AsyncConnection, values: dict[str, Any], *, now: datetime, queue_threshold: int,
                            opening: dict[str, Any] | None = None, claim: Claim | None = None
                            ) -> tuple[Any, int] | None:
    """Insert a PENDING allocation (its row comes back, without the decision), mark its lead ALLOCATED and out of
    the queue, and count the RM's queue with it (its alert turned off at or under `queue_threshold`:
    `_queue_depth_parts`): one statement on PostgreSQL (the lead's UPDATE and the queue's count and alert as
    data-modifying CTEs; the count is taken before the row it inserts, so it adds one), one each on SQLite.

    With `opening` (a new pipeline's row, `pipelines.service.new_pipeline`, which `values` name as theirs) the
    pipeline is inserted first, in the same statement on PostgreSQL. None when the lead has an open pipeline
    already: no pipeline and no allocation is inserted (on PostgreSQL the lead's state and the queue's alert are
    written as inserting the allocation on that pipeline will write them again).

    With `claim` too (PostgreSQL only) the same statement takes the RM's capacity first (`claim_capacity`) and
    writes nothing else unless it took it: `CapacityTaken` then, one round trip fewer per allocation (issue 19)."""
    postgres = is_postgres(conn)
    params = {**{f"new_{name}": value for name, value in values.items()},
              **leads_repository.allocated_params(values["lead_id"], now=now)}
    if postgres:
        caps = None if claim is None else (claim.daily_cap is not None, claim.weekly_cap is not None)
        statement = _insert_allocation_statement(tuple(values), True, tuple(opening or ()), caps)
        if opening is not None:
            params.update({f"pipeline_{name}": value for name, value in opening.items()})
        if claim is not None:
            params.update(claim.params("claim_"))
        row = await statement.first(conn, {**params, **_depth_params(values["rm_id"], queue_threshold, now)})
        if claim is not None and row is None:
            raise CapacityTaken(claim.rm_id)
        return None if row is None or row.id is None else (row, int(row.queue_depth))
    if claim is not None:
        raise ValueError("a claim is taken with the allocation's statement on PostgreSQL only")
    if opening is not None and not await pipelines_repository.insert_pipeline(conn, opening):
        return None
    row = (await conn.execute(_insert_allocation_statement(tuple(values), False), params)).one()
    await conn.execute(leads_repository.MARK_ALLOCATED, params)
    return row, await _rm_queue_depth_apart(conn, values["rm_id"], threshold=queue_threshold, now=now)


@functools.lru_cache(maxsize=32)
def _insert_allocation_statement(columns: tuple[str, ...], postgres: bool, opening: tuple[str, ...] = (),
                                 claim: tuple[bool, bool] | None = None) -> Any:
    """Built once per set of columns (issue 19), bound as `new_<column>` (and the pipeline's as `pipeline_<column>`):
    named apart from the columns, since inside a statement of several tables a parameter named like a column would
    be taken as that column's new value by the lead's UPDATE too. With `opening` (PostgreSQL), the allocation is
    inserted only when the pipeline's INSERT (a CTE) inserted one.

    With `claim` (PostgreSQL, with `opening`; whether it has a daily and a weekly cap) the capacity claim's UPDATE
    is a CTE too, bound as `claim_<name>`, and every other write is conditional on it: the statement selects the
    claimed RM's id beside the inserted allocation's columns (NULL when the lead had an open pipeline), and no row
    at all when the claim was not taken. The claim holds only while the RM's row is as the candidates statement
    saw it: the statement's snapshot predates a wait for the RM's lock, so a concurrent claim that committed during
    the wait would be missing from the queue's count; instead the claim fails and the caller claims apart."""
    values = bound_values(a, columns, "new_")
    if not postgres:
        return insert(a).values(values).returning(*_INSERTED)
    claimed = None if claim is None else _claim_update(False, *claim, prefix="claim_", unchanged=True).cte("claimed")
    when = None if claimed is None else exists(select(claimed.c.id))
    if opening:
        opened = pipelines_repository.open_pipeline_insert(True, opening, "pipeline_", when=when).cte("opened")
        statement = insert(a).from_select(list(values), select(*values.values()).where(exists(select(opened.c.id))))
    else:
        assert claimed is None, "a claim goes with a pipeline's opening"
        statement = insert(a).values(values)
    depth, cleared = _queue_depth_parts(inserting=1, when=when)
    allocated = (leads_repository.MARK_ALLOCATED if when is None
                 else leads_repository.MARK_ALLOCATED.where(when)).cte("allocated_lead")
    statement = statement.returning(*_INSERTED, depth.label("queue_depth"))
    if claimed is None:
        return Direct(statement.add_cte(allocated).add_cte(cleared))
    inserted = statement.cte("inserted")
    return Direct(select(claimed.c.id.label("claimed_rm_id"), *inserted.c)
                  .select_from(claimed.outerjoin(inserted, true())).add_cte(allocated).add_cte(cleared))


# What an inserted allocation's row brings back: not its decision, which the caller has (a trace of every
# candidate that PostgreSQL would send back as JSON to be decoded again; issue 19).
_INSERTED = [column for column in a.c if column.name != "decision"]


async def update_allocation(conn: AsyncConnection, allocation_id: UUID, values: dict[str, Any]) -> None:
    await conn.execute(update(a).where(a.c.id == allocation_id).values(**values))


async def list_(conn: AsyncConnection, *, scope: ColumnElement[bool], filters: dict[str, Any], limit: int,
                after: tuple[datetime, UUID] | None) -> list[Any]:
    query = select(*ALLOCATION_COLUMNS).select_from(_JOINED).where(scope)
    for name in ("rm_id", "status", "allocation_type", "decided_by", "lead_id"):
        if filters.get(name) is not None:
            query = query.where(a.c[name] == filters[name])
    if filters.get("team_id") is not None:
        query = query.where(rms.c.team_id == filters["team_id"])
    if filters.get("city") is not None:
        query = query.where(func.lower(a.c.city) == norm(filters["city"]))
    if filters.get("from") is not None:
        query = query.where(a.c.allocated_at >= filters["from"])
    if filters.get("to") is not None:
        query = query.where(a.c.allocated_at <= filters["to"])
    if after:
        query = query.where(or_(a.c.allocated_at < after[0], and_(a.c.allocated_at == after[0], a.c.id < after[1])))
    query = query.order_by(a.c.allocated_at.desc(), a.c.id.desc()).limit(limit + 1)
    return list((await conn.execute(query)).all())


_QUEUE: dict[tuple[str, bool], Any] = {}


def _queue_statement(kind: str, postgres: bool) -> Direct:
    """`queue` behind the RM's visibility (`readable_rms`): one row with a NULL allocation when the RM is visible
    with nothing live, no row when the RM is not visible; built once per kind of scope (and database: PostgreSQL
    reads its timestamps and money `plain_on_postgres`)."""
    if (kind, postgres) in _QUEUE:
        return _QUEUE[kind, postgres]
    rm_id = bindparam("rm_id", type_=rms.c.id.type)
    predicate = bound_scopes(rms.c.id, postgres=postgres)[kind]
    visible = select(rms.c.id.label("visible_rm")).where(rms.c.id == rm_id, *([] if predicate is None else [predicate]))
    columns = [*ALLOCATION_COLUMNS, leads.c.customer_name, leads.c.locality, leads.c.city.label("lead_city"),
               leads.c.property_type, leads.c.segment, leads.c.expected_deal_value]
    if postgres:
        columns = [plain_on_postgres(column) for column in columns]
    live = (select(*columns)
            .select_from(a.outerjoin(leads, leads.c.id == a.c.lead_id))
            .where(a.c.rm_id == rm_id, _status_in(LIVE)).subquery("live"))
    visible = visible.subquery("visible")
    statement = (select(*live.c).select_from(visible.outerjoin(live, true()))
                 .order_by(live.c.priority.desc(), live.c.sla_deadline, live.c.id))
    _QUEUE[kind, postgres] = Direct(statement)
    return _QUEUE[kind, postgres]


async def queue_if_visible(conn: AsyncConnection, principal: Principal, rm_id: UUID) -> list[Any] | None:
    """`queue(rm_id)` if the principal may read the RM (None otherwise: 404), in one round trip (issue 19)."""
    kind = scope_kind(principal)
    if kind == NOTHING:
        return None
    rows = await _queue_statement(kind, is_postgres(conn)).rows(conn,
                                                                {"rm_id": rm_id, **scope_params(principal, kind)})
    return [r for r in rows if r.id is not None] if rows else None


async def sla_due(conn: AsyncConnection, *, now: datetime, limit: int) -> list[Any]:
    """Unactioned allocations past their SLA; locked, skipping rows another worker holds (LAR-006)."""
    query = (select(*ALLOCATION_COLUMNS).where(a.c.status == "PENDING", a.c.first_action_at.is_(None),
                                               a.c.sla_deadline <= now)
             .order_by(a.c.sla_deadline).limit(limit))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list((await conn.execute(query)).all())


# --- workload ----------------------------------------------------------------------------------

def _per_rm(shown: Any, day_start: Any, day_end: Any) -> Any:
    """Today's counters of the shown RMs. The allocations are aggregated only for those RMs (rm_id IN the shown
    RM ids), so a team's room reads its RMs' allocations through the rm_id index instead of grouping the whole
    table."""
    today_window = and_(a.c.allocated_at >= day_start, a.c.allocated_at < day_end)
    return (select(a.c.rm_id,
                   func.sum(case((a.c.status == "PENDING", 1), else_=0)).label("queue_depth"),
                   func.sum(case((today_window, 1), else_=0)).label("received_today"),
                   func.sum(case((and_(_status_in(["EXPIRED", "ESCALATED"]),
                                       a.c.updated_at >= day_start, a.c.updated_at < day_end,
                                       a.c.first_action_at.is_(None), a.c.sla_deadline < day_end), 1),
                                 else_=0)).label("breaches_today"))
            .where(a.c.rm_id.in_(shown),
                   or_(_status_in(LIVE), a.c.allocated_at >= day_start, a.c.updated_at >= day_start))
            .group_by(a.c.rm_id).subquery("per_rm"))


def _workload_columns(per_rm: Any) -> list[Any]:
    return [rms.c.id, rms.c.name, rms.c.team_id, rms.c.city, rms.c.is_backup, rms.c.status,
            rms.c.availability, rms.c.active_leads, rms.c.capacity, rms.c.window_date, rms.c.window_received,
            rms.c.week_start, rms.c.week_received, rms.c.max_leads_per_day, rms.c.max_leads_per_week,
            func.coalesce(per_rm.c.queue_depth, 0).label("queue_depth"),
            func.coalesce(per_rm.c.received_today, 0).label("received_today"),
            func.coalesce(per_rm.c.breaches_today, 0).label("breaches_today")]


# Issue 19: the workload room in two round trips through statements built once. First the ids of the current
# rule sets (their configs are immutable per row: the caller caches the effective rules by those ids) together
# with the caller's team cities; then the RMs' rows, each carrying the count of queued leads of those cities (one
# row with a NULL RM when nobody is in scope, so the count always arrives).
_RULE_IDS = select(allocation_rule_sets.c.id, allocation_rule_sets.c.city, literal_column("'r'").label("kind")).where(
    allocation_rule_sets.c.is_current == literal(True))
_RULE_IDS_ALONE = Direct(_RULE_IDS)
_RULE_IDS_AND_TEAM_CITIES = {postgres: Direct(union_all(_RULE_IDS, select(
    teams.c.id, teams.c.city, literal_column("'t'")).where(bound_in(teams.c.id, "team_ids", postgres=postgres))))
    for postgres in (False, True)}


async def rule_ids_and_team_cities(conn: AsyncConnection, team_ids: frozenset[UUID] | None) -> tuple[dict[str, UUID],
                                                                                                       list[str]]:
    """{city key: id} of the current rule sets, and the cities of these teams (none asked for when None)."""
    if team_ids:
        rows = await _RULE_IDS_AND_TEAM_CITIES[is_postgres(conn)].rows(conn, {"team_ids": sorted(team_ids)})
    else:
        rows = await _RULE_IDS_ALONE.rows(conn, {})
    return ({r.city: r.id for r in rows if r.kind == "r"}, [r.city for r in rows if r.kind == "t"])


async def rule_configs(conn: AsyncConnection, ids: list[UUID]) -> dict[UUID, Any]:
    rows = await conn.execute(select(allocation_rule_sets.c.id, allocation_rule_sets.c.config).where(
        allocation_rule_sets.c.id.in_(ids)))
    return {r.id: r.config for r in rows}


_WORKLOAD: dict[tuple[bool, str, bool, bool, bool], Direct] = {}


def _workload_statement(postgres: bool, kind: str, by_team: bool, by_city: bool, queue_cities: bool) -> Direct:
    key = (postgres, kind, by_team, by_city, queue_cities)
    if key in _WORKLOAD:
        return _WORKLOAD[key]
    predicate = false() if kind == NOTHING else bound_scopes(rms.c.id, postgres=postgres)[kind]
    shown = select(rms.c.id)
    if predicate is not None:
        shown = shown.where(predicate)
    if by_team:
        shown = shown.where(rms.c.team_id == bindparam("team_id", type_=rms.c.team_id.type))
    if by_city:
        shown = shown.where(func.lower(rms.c.city) == bindparam("city", type_=rms.c.city.type))
    day_start = bindparam("day_start", type_=a.c.allocated_at.type)
    day_end = bindparam("day_end", type_=a.c.allocated_at.type)
    per_rm = _per_rm(shown, day_start, day_end)
    rows = (select(*_workload_columns(per_rm))
            .select_from(rms.outerjoin(per_rm, per_rm.c.rm_id == rms.c.id))
            .where(rms.c.id.in_(shown)).subquery("shown_rms"))
    queued = select(func.count().label("queued_leads")).select_from(leads).where(leads.c.allocation_status == "QUEUED")
    if queue_cities:
        queued = queued.where(bound_in(func.lower(leads.c.city, type_=leads.c.city.type), "queue_cities",
                                       postgres=postgres))
    queued = queued.subquery("queued")
    statement = (select(queued.c.queued_leads, *rows.c).select_from(queued.outerjoin(rows, true()))
                 .order_by(rows.c.city, rows.c.team_id, rows.c.name, rows.c.id))
    _WORKLOAD[key] = Direct(statement)
    return _WORKLOAD[key]


async def workload_with_queued(conn: AsyncConnection, *, kind: str, params: dict[str, Any], team_id: UUID | None,
                               city: str | None, day_start: datetime, day_end: datetime,
                               queue_cities: set[str] | None) -> tuple[list[Any], int]:
    """One row per RM in scope (`kind` of scope with its `params`) with today's counters, and the count of leads
    queued in `queue_cities` (every city when None), in one statement."""
    values = {**params, "day_start": day_start, "day_end": day_end}
    if team_id is not None:
        values["team_id"] = team_id
    if city is not None:
        values["city"] = norm(city)
    if queue_cities is not None:
        values["queue_cities"] = sorted(queue_cities)
    statement = _workload_statement(is_postgres(conn), kind, team_id is not None, city is not None,
                                    queue_cities is not None)
    rows = await statement.rows(conn, values)
    return [r for r in rows if r.id is not None], int(rows[0].queued_leads if rows else 0)


# --- queued leads ------------------------------------------------------------------------------

async def queued_leads(conn: AsyncConnection, *, limit: int, lock: bool, cities: set[str] | None = None) -> list[Any]:
    """LAR-007 queue: highest priority first, then the oldest."""
    query = (select(leads).where(leads.c.allocation_status == "QUEUED")
             .order_by(leads.c.priority.desc(), leads.c.queued_at, leads.c.id).limit(limit))
    if cities is not None:
        query = query.where(func.lower(leads.c.city).in_(cities))
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return list((await conn.execute(query)).all())


async def leads_allocated_between(conn: AsyncConnection, start: datetime, end: datetime, *,
                                  cities: set[str] | None) -> list[Any]:
    """Leads first allocated (or queued) in a time range, for simulations; only these cities' unless None."""
    query = select(leads).where(leads.c.created_at >= start, leads.c.created_at < end,
                                leads.c.city.is_not(None)).order_by(leads.c.created_at, leads.c.id)
    if cities is not None:
        query = query.where(func.lower(leads.c.city).in_(cities))
    return list((await conn.execute(query)).all())


# --- rule sets ---------------------------------------------------------------------------------

async def rule_sets_of(conn: AsyncConnection, city: str) -> tuple[Any, Any]:
    """The city's own current rules (overrides) and the default ('*') current rules, in one statement."""
    rows = (await conn.execute(select(allocation_rule_sets).where(
        allocation_rule_sets.c.city.in_([city, "*"]), allocation_rule_sets.c.is_current == literal(True)))).all()
    own = next((r for r in rows if r.city == city and city != "*"), None)
    return own, next((r for r in rows if r.city == "*"), None)


async def current_rule_sets(conn: AsyncConnection) -> list[Any]:
    query = select(allocation_rule_sets).where(allocation_rule_sets.c.is_current == literal(True)).order_by(
        allocation_rule_sets.c.city)
    return list((await conn.execute(query)).all())


_RULES_LOCK_BASE = 0x5A1E50A << 32


async def lock_rules_of_city(conn: AsyncConnection, city: str) -> None:
    """Serialize rule changes of one city until commit (PostgreSQL; SQLite writers are serialized already):
    each change merges over the version before it and takes the next version number."""
    if is_postgres(conn):
        await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"),
                           {"k": _RULES_LOCK_BASE + zlib.crc32(city.encode())})


async def next_rule_version(conn: AsyncConnection, city: str) -> int:
    query = select(func.coalesce(func.max(allocation_rule_sets.c.version), 0)).where(
        allocation_rule_sets.c.city == city)
    return int((await conn.execute(query)).scalar() or 0) + 1


async def insert_rule_set(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(update(allocation_rule_sets).where(
        allocation_rule_sets.c.city == values["city"]).values(is_current=False))
    await conn.execute(insert(allocation_rule_sets).values(**values, is_current=True))


# --- notifications -----------------------------------------------------------------------------

async def pending_count(conn: AsyncConnection, rm_id: UUID) -> int:
    """The RM's queue depth: allocations still waiting for their acceptance (§2.2.5)."""
    query = select(func.count()).select_from(a).where(a.c.rm_id == rm_id, a.c.status == "PENDING")
    return int((await conn.execute(query)).scalar_one())


async def pending_unacted(conn: AsyncConnection, rm_id: UUID, *, allocated_before: datetime) -> list[Any]:
    """An RM's PENDING allocations nobody acted on yet, highest priority and nearest deadline first; locked on
    PostgreSQL (an accept racing with this waits, then finds the allocation no longer PENDING)."""
    query = (select(*ALLOCATION_COLUMNS).where(a.c.rm_id == rm_id, a.c.status == "PENDING",
                                               a.c.first_action_at.is_(None), a.c.allocated_at <= allocated_before)
             .order_by(a.c.priority.desc(), a.c.sla_deadline, a.c.id))
    if is_postgres(conn):
        query = query.with_for_update()
    return list((await conn.execute(query)).all())


async def live_count(conn: AsyncConnection, rm_id: UUID) -> int:
    query = select(func.count()).select_from(a).where(a.c.rm_id == rm_id, a.c.status.in_(LIVE))
    return int((await conn.execute(query)).scalar_one())


async def on_leave_with_pending(conn: AsyncConnection, *, around: date, limit: int) -> list[Any]:
    """RMs with unacted PENDING leads and a leave around `around` (a day either side: each city's own date is
    checked by the caller), with that leave's dates."""
    pending = exists().where(a.c.rm_id == rms.c.id, a.c.status == "PENDING", a.c.first_action_at.is_(None))
    query = (select(rms.c.id, rms.c.team_id, rms.c.city, rm_leaves.c.start_date, rm_leaves.c.end_date,
                    rm_leaves.c.created_at.label("leave_recorded_at"))
             .select_from(rms.join(rm_leaves, rm_leaves.c.rm_id == rms.c.id))
             .where(rm_leaves.c.start_date <= around + timedelta(days=1),
                    rm_leaves.c.end_date >= around - timedelta(days=1), pending)
             .order_by(rms.c.id, rm_leaves.c.start_date).limit(limit))
    return list((await conn.execute(query)).all())


# --- fairness (issue 17) -----------------------------------------------------------------------

async def set_round_robin_offset(conn: AsyncConnection, rm_id: UUID, *, today: date, offset: int) -> None:
    """The RM's round-robin offset for `today` (never lowered within the day: a second return keeps the first)."""
    kept = case((rms.c.rr_offset_date == today, rms.c.rr_offset), else_=0)
    await conn.execute(update(rms).where(rms.c.id == rm_id).values(
        rr_offset=case((kept > offset, kept), else_=offset), rr_offset_date=today))


async def ledger_rms(conn: AsyncConnection, *, scope: ColumnElement[bool], team_id: UUID | None,
                     city: str | None) -> list[Any]:
    query = select(rms.c.id, rms.c.name, rms.c.team_id, rms.c.city, rms.c.is_backup, rms.c.status).where(scope)
    if team_id is not None:
        query = query.where(rms.c.team_id == team_id)
    if city is not None:
        query = query.where(func.lower(rms.c.city) == norm(city))
    return list((await conn.execute(query.order_by(rms.c.city, rms.c.team_id, rms.c.name, rms.c.id))).all())


async def ledger_allocations(conn: AsyncConnection, *, rm_ids: list[UUID], cities: list[str], start: datetime,
                             end: datetime) -> list[Any]:
    """Allocations made in [start, end] to these RMs or for leads of these cities, with their decision traces
    (the candidates each engine decision weighed)."""
    query = select(a.c.rm_id, a.c.allocation_type, a.c.decision).where(
        a.c.allocated_at >= start, a.c.allocated_at <= end,
        or_(a.c.rm_id.in_(rm_ids), func.lower(a.c.city).in_(cities)))
    return list((await conn.execute(query)).all())


# --- rebalancing (issue 17) --------------------------------------------------------------------

async def cities_with_teams(conn: AsyncConnection) -> list[str]:
    query = select(func.lower(rms.c.city)).where(rms.c.team_id.is_not(None), rms.c.is_backup == literal(False),
                                                 rms.c.status == "ACTIVE").distinct()
    return sorted((await conn.execute(query)).scalars())


async def movable_pending(conn: AsyncConnection, rm_id: UUID, *, deadline_after: datetime,
                          since: datetime) -> list[Any]:
    """An RM's PENDING leads nobody acted on, with more time left than the SLA guard and not moved by rebalancing
    since `since` (the city's midnight), with the lead's facts; the most time left first."""
    earlier = a.alias("earlier")
    moved_today = exists().where(earlier.c.lead_id == a.c.lead_id, earlier.c.reassignment_reason == "REBALANCED",
                                 earlier.c.allocated_at >= since)
    query = (select(*ALLOCATION_COLUMNS, leads.c.zone, leads.c.locality, leads.c.property_type, leads.c.segment,
                    leads.c.expected_deal_value, leads.c.city.label("lead_city"))
             .select_from(a.join(leads, leads.c.id == a.c.lead_id))
             .where(a.c.rm_id == rm_id, a.c.status == "PENDING", a.c.first_action_at.is_(None),
                    a.c.sla_deadline > deadline_after, ~moved_today)
             .order_by(a.c.sla_deadline.desc(), a.c.priority, a.c.id))
    return list((await conn.execute(query)).all())


async def end_if_unacted(conn: AsyncConnection, allocation_id: UUID, *, status: str, now: datetime) -> bool:
    """End an allocation only while it is still PENDING and unacted (an accept racing with this wins or loses
    as a whole)."""
    result = await conn.execute(update(a).where(a.c.id == allocation_id, a.c.status == "PENDING",
                                                a.c.first_action_at.is_(None))
                                .values(status=status, ended_at=now, updated_at=now).returning(a.c.id))
    return result.first() is not None


# --- queue depth alerts (issue 17) -------------------------------------------------------------

def _pending_of(column: Any, value: UUID) -> Any:
    return select(func.count()).select_from(a).where(column == value, a.c.status == "PENDING").scalar_subquery()


async def team_pending_count(conn: AsyncConnection, team_id: UUID) -> int:
    query = select(func.count()).select_from(a).where(a.c.team_id == team_id, a.c.status == "PENDING")
    return int((await conn.execute(query)).scalar_one())


async def queue_alert_crossed(conn: AsyncConnection, key: str, *, depth: int, threshold: int, now: datetime) -> bool:
    """Record a queue's depth against its threshold; True only for the transaction that turns the alert on (one
    conditional UPDATE: concurrent allocations over the threshold alert once)."""
    if depth <= threshold:
        await conn.execute(update(queue_alerts).where(queue_alerts.c.key == key, queue_alerts.c.over == literal(True))
                           .values(over=False, depth=depth, threshold=threshold, changed_at=now))
        return False
    await conn.execute(insert_unless_exists(conn, queue_alerts, queue_alerts.c.key).values(
        key=key, over=False, depth=depth, threshold=threshold, changed_at=now))
    result = await conn.execute(update(queue_alerts).where(queue_alerts.c.key == key,
                                                           queue_alerts.c.over == literal(False))
                                .values(over=True, depth=depth, threshold=threshold, changed_at=now)
                                .returning(queue_alerts.c.key))
    return result.first() is not None


async def _rm_queue_depth_apart(conn: AsyncConnection, rm_id: UUID, *, threshold: int, now: datetime) -> int:
    """SQLite's `_queue_depth_parts`: the RM's queue depth (PENDING allocations, §2.2.5), and its alert turned off
    when the depth is at or under `threshold` (`queue_alert_crossed` does the rest when it is over)."""
    depth = await pending_count(conn, rm_id)
    if depth <= threshold:
        await queue_alert_crossed(conn, f"rm:{rm_id}", depth=depth, threshold=threshold, now=now)
    return depth


def _depth_params(rm_id: UUID, threshold: int, now: datetime) -> dict[str, Any]:
    return {"depth_rm_id": rm_id, "depth_key": f"rm:{rm_id}", "depth_threshold": threshold, "depth_at": now}


def _queue_depth_parts(*, inserting: int = 0, when: ColumnElement[bool] | None = None) -> tuple[Any, Any]:
    """The RM's queue depth (its PENDING allocations, plus the `inserting` ones the same statement adds: a CTE sees
    the rows as they were before the statement) and the CTE turning its alert off at or under the threshold.
    Their parameters are named apart from the columns: an UPDATE would take a parameter named like a column as
    that column's new value. With `when` the alert's CTE writes only when it holds."""
    counted = select(func.count().label("n")).select_from(a).where(
        a.c.rm_id == bindparam("depth_rm_id", type_=UUIDType), a.c.status == "PENDING").cte("depth")
    n = select(counted.c.n + inserting if inserting else counted.c.n).scalar_subquery()
    threshold = bindparam("depth_threshold", type_=Integer)
    key = bindparam("depth_key", type_=queue_alerts.c.key.type)
    cleared = (update(queue_alerts).where(queue_alerts.c.key == key, queue_alerts.c.over == literal(True),
                                          n <= threshold, *([] if when is None else [when]))
               .values(over=False, depth=n, threshold=threshold,
                       changed_at=bindparam("depth_at", type_=queue_alerts.c.changed_at.type))
               .returning(queue_alerts.c.key).cte("cleared"))
    return n, cleared




async def clear_queue_alerts(conn: AsyncConnection, *, rm_id: UUID, team_id: UUID | None, now: datetime) -> None:
    """A queue shrank (accepted, acted on, moved, ended): its alert turns off once back at or under the threshold
    it was raised with, so the next crossing alerts again."""
    keys = [(f"rm:{rm_id}", _pending_of(a.c.rm_id, rm_id))]
    if team_id is not None:
        keys.append((f"team:{team_id}", _pending_of(a.c.team_id, team_id)))
    for key, depth in keys:
        await conn.execute(update(queue_alerts).where(queue_alerts.c.key == key, queue_alerts.c.over == literal(True),
                                                      depth <= queue_alerts.c.threshold)
                           .values(over=False, depth=depth, changed_at=now))
