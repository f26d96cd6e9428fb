"""The only place dashboard SQL lives (Core aggregates over the other domains' tables)."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy import (Integer, Numeric, Select, and_, bindparam, case, delete, distinct, exists, extract, func,
                        literal, literal_column, or_, select, union_all, update)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.allocation.models import rm_allocations
from sales.commissions.models import commissions
from sales.core.db import is_postgres
from sales.dashboards.models import dashboard_snapshots, forecast_learning, forecast_learning_counts
from sales.directory.models import rms, teams
from sales.leads.models import leads
from sales.orders.models import orders
from sales.pipelines.enums import Outcome, Stage
from sales.pipelines.models import pipeline_stage_history, sales_pipelines
from sales.refunds.enums import RefundStatus
from sales.refunds.models import refunds
from sales.upsell.models import upsells

a = rm_allocations.c
p = sales_pipelines.c
h = pipeline_stage_history.c


async def allocations_of(conn: AsyncConnection, rm_id: UUID, start: datetime, end: datetime) -> list[Any]:
    """The RM's allocations made in [start, end): when, first action, SLA deadline."""
    rows = await conn.execute(select(a.allocated_at, a.first_action_at, a.sla_deadline)
                              .where(a.rm_id == rm_id, a.allocated_at >= start, a.allocated_at < end))
    return list(rows.all())


async def open_pipelines_by_stage(conn: AsyncConnection, rm_id: UUID) -> list[tuple[str, int, Decimal]]:
    """The RM's open pipelines now, per stage: how many and their deal value."""
    rows = await conn.execute(select(p.stage, func.count(p.id), func.coalesce(func.sum(p.deal_value), 0))
                              .where(p.rm_id == rm_id, p.outcome == Outcome.PENDING.value)
                              .group_by(p.stage))
    return [(stage, count, Decimal(str(total))) for stage, count, total in rows.all()]


# --- a team's or a city's members (`members`: a SELECT of RM ids) -------------------------------

async def member_allocations(conn: AsyncConnection, members: Select[Any], start: datetime, end: datetime
                             ) -> list[Any]:
    rows = await conn.execute(select(a.allocated_at, a.first_action_at, a.sla_deadline)
                              .where(a.rm_id.in_(members), a.allocated_at >= start, a.allocated_at < end))
    return list(rows.all())


async def member_loads(conn: AsyncConnection, members: Select[Any]) -> list[Any]:
    """Each member's id, name, capacity and open pipelines now (`open_pipelines`), by name."""
    open_count = (select(func.count(p.id)).where(p.rm_id == rms.c.id, p.outcome == Outcome.PENDING.value)
                  .scalar_subquery())
    rows = await conn.execute(select(rms.c.id, rms.c.name, rms.c.capacity, open_count.label("open_pipelines"))
                              .where(rms.c.id.in_(members)).order_by(rms.c.name, rms.c.id))
    return list(rows.all())


# A pipeline's row is written with each of its moves (`stage`, `stage_changed_at`: the last move's), and a closed
# stage is final: so a pipeline moved in [start, end) has `stage_changed_at >= start`, and one moved to CLOSED_WON
# is in CLOSED_WON now. Both are said to the database so that it reads the history of those pipelines only (found
# through `ix_sales_pipelines_rm_changed`), not of every pipeline of a city's RMs (the same rows either way).

async def won_in(conn: AsyncConnection, members: Select[Any], start: datetime, end: datetime) -> list[Any]:
    """The members' pipelines moved to CLOSED_WON in [start, end): created_at and when won."""
    rows = await conn.execute(select(p.created_at, func.min(h.changed_at)).join(sales_pipelines, p.id == h.pipeline_id)
                              .where(p.rm_id.in_(members), p.stage == Stage.CLOSED_WON.value,
                                     p.stage_changed_at >= start, h.to_stage == Stage.CLOSED_WON.value,
                                     h.changed_at >= start, h.changed_at < end)
                              .group_by(p.id, p.created_at))
    return list(rows.all())


async def funnel(conn: AsyncConnection, members: Select[Any], start: datetime, end: datetime) -> dict[str, int]:
    """Per stage: the members' distinct pipelines that moved into it in [start, end)."""
    rows = await conn.execute(select(h.to_stage, func.count(distinct(h.pipeline_id)))
                              .join(sales_pipelines, p.id == h.pipeline_id)
                              .where(p.rm_id.in_(members), p.stage_changed_at >= start,
                                     h.changed_at >= start, h.changed_at < end)
                              .group_by(h.to_stage))
    return dict(rows.all())


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_seconds(at: datetime) -> Decimal:
    """Seconds since 1970 to the microsecond, exactly."""
    delta = at - EPOCH
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / Decimal(1_000_000)


async def open_health(conn: AsyncConnection, members: Select[Any], *, stuck_before: datetime, today: date
                      ) -> list[tuple[str, int, Decimal, int, int]]:
    """The members' open pipelines now, per stage: (stage, how many, the sum of their `stage_changed_at` in epoch
    seconds (exact, to the microsecond), how many changed stage before `stuck_before`, how many are expected to
    close before `today`). PostgreSQL counts them (an index-only scan of `ix_sales_pipelines_rm_open`); SQLite's
    timestamps are text, so there the rows are read and summed here, to the same figures."""
    where = (p.rm_id.in_(members), p.outcome == Outcome.PENDING.value)
    if is_postgres(conn):
        rows = await conn.execute(
            select(p.stage, func.count(), func.sum(extract("epoch", p.stage_changed_at), type_=Numeric()),
                   func.count().filter(p.stage_changed_at < stuck_before),
                   func.count().filter(p.expected_close_date < today))
            .where(*where).group_by(p.stage))
        return [(stage, count, Decimal(total), stuck, overdue) for stage, count, total, stuck, overdue in rows.all()]
    found: dict[str, list[Any]] = {}
    for stage, changed_at, expected in (await conn.execute(
            select(p.stage, p.stage_changed_at, p.expected_close_date).where(*where))).all():
        cell = found.setdefault(stage, [0, Decimal(0), 0, 0])
        cell[0] += 1
        cell[1] += epoch_seconds(changed_at)
        cell[2] += changed_at < stuck_before
        cell[3] += expected is not None and expected < today
    return [(stage, *cell) for stage, cell in found.items()]


async def commission_lines(conn: AsyncConnection, members: Select[Any], months: tuple[str, str]) -> tuple[int, int]:
    """(lines, lines ever disputed) of the members in the months."""
    c = commissions.c
    row = (await conn.execute(select(func.count(c.id), func.count(c.disputed_at))
                              .where(c.rm_id.in_(members), c.period >= months[0], c.period <= months[1]))).one()
    return row[0], row[1]


async def orders_and_refunded(conn: AsyncConnection, members: Select[Any], start: datetime, end: datetime
                              ) -> tuple[int, int]:
    """(orders the members sold paid in [start, end), those with a refund request not rejected)."""
    o = orders.c
    refunded = exists().where(refunds.c.order_id == o.order_id, refunds.c.status != RefundStatus.REJECTED.value)
    row = (await conn.execute(select(func.count(o.order_id), func.count(o.order_id).filter(refunded))
                              .where(and_(o.rm_id.in_(members), o.paid_at >= start, o.paid_at < end)))).one()
    return row[0], row[1]


def upsell_rm() -> Any:
    """The RM an upsell is attributed to: the RM of the user's latest pipeline created at or before the upsell
    was presented (found through the pipeline's lead, whose customer is the upsell's user); null when the user had
    no pipeline then. Upsells are offered to users, not by RMs: this credits the RM who owned the customer then."""
    u = upsells.c
    return (select(p.rm_id).join(leads, leads.c.id == p.lead_id)
            .where(leads.c.customer_id == u.user_id, p.created_at <= u.presented_at)
            .order_by(p.created_at.desc(), p.id.desc()).limit(1).scalar_subquery())


async def upsell_presentations(conn: AsyncConnection, members: Select[Any], start: datetime, end: datetime
                               ) -> tuple[int, int]:
    """(upsells presented in [start, end) attributed to the members, those of them converted since)."""
    u = upsells.c
    row = (await conn.execute(select(func.count(u.id), func.count(u.converted_at))
                              .where(u.presented_at >= start, u.presented_at < end, upsell_rm().in_(members)))).one()
    return row[0], row[1]


# --- the forecast's walk over a scope's pipelines, counted by the database --------------------------

STAGE_CODES = {stage.value: code for code, stage in enumerate(Stage)}  # < 16: packed with the move's seq
STAGES_BY_CODE = {code: stage for stage, code in STAGE_CODES.items()}
PACK = 16


def _stage_code(stage: Any) -> Any:
    return case(*((stage == value, code) for value, code in STAGE_CODES.items()), else_=PACK - 1)


async def walk(conn: AsyncConnection, members: Select[Any], cuts: list[datetime],
               won_windows: list[tuple[datetime, datetime]]
               ) -> tuple[list[list[tuple[str, str, Decimal, int]]], list[list[tuple[Decimal, int]]]]:
    """The members' pipelines as `rules.Journey` walks them, counted here instead of read into Python:

    - for each cut instant: the pipelines that existed at it (created at or before) and were not closed at it, per
      (RM's city, stage at the cut, deal value): (city, stage, deal value or 0, how many). The stage at a cut is
      that of the last move (by seq) made at or before it, NEW without one;
    - for each window [start, end): the pipelines whose first closing move (by seq) is CLOSED_WON and was made in
      it, per deal value: (deal value or 0, how many).

    Grouped by deal value (a few hundred distinct ones), not summed, so that the sums are exact Decimals on both
    databases. The history is read only where the pipeline's row cannot answer: its `stage` and
    `stage_changed_at` are those of its last move (`pipelines.service._apply_stage` writes both with the move; NEW
    and `created_at` before any), so at a cut at or after `stage_changed_at` its stage is `stage` - unless
    `stage_changed_at` is its creation instant and the stage is not NEW (a move made at creation, or a row written
    without its history): then the history decides. A closed stage is final (no move out of it), so only a
    pipeline in a closed stage has a closing move (its last: the row's stage and `stage_changed_at`), and one
    closed at or before every cut is closed at each."""
    n = pipeline_stage_history.alias("n")
    packed = n.c.seq * PACK + _stage_code(n.c.to_stage)
    new_code = literal_column(str(STAGE_CODES[Stage.NEW.value]))
    moved_since_creation = or_(p.stage_changed_at > p.created_at, p.stage == Stage.NEW.value)
    codes = []
    for i, cut in enumerate(cuts):
        last_move = (select(func.max(packed)).where(n.c.pipeline_id == p.id, n.c.changed_at <= cut)
                     .scalar_subquery())
        codes.append(case((p.created_at > cut, None),
                          (and_(p.stage_changed_at <= cut, moved_since_creation), _stage_code(p.stage)),
                          else_=func.coalesce(last_move % literal_column(str(PACK)), new_code)).label(f"s{i}"))
    parts = []
    if cuts:
        walked = (select(rms.c.city, p.deal_value, *codes).select_from(sales_pipelines.join(rms, rms.c.id == p.rm_id))
                  .where(p.rm_id.in_(members), or_(p.stage.not_in(CLOSED_STAGES), p.stage_changed_at > min(cuts),
                                                   ~moved_since_creation))).cte("walked")
        w = walked.c
        for i in range(len(cuts)):
            code = w[f"s{i}"]
            parts.append(select(literal(i).label("cut"), w.city, code, w.deal_value, func.count().label("n"))
                         .where(code.is_not(None)).group_by(w.city, code, w.deal_value))
    found: list[list[tuple[str, str, Decimal, int]]] = [[] for _ in cuts]
    closed_codes = {STAGE_CODES[stage] for stage in CLOSED_STAGES}
    if parts:
        for cut, city, code, deal_value, count in (await conn.execute(union_all(*parts))).all():
            if code not in closed_codes:
                found[cut].append((city, STAGES_BY_CODE[code], deal_value or Decimal(0), count))
    won: list[list[tuple[Decimal, int]]] = [[] for _ in won_windows]
    if won_windows:
        # the first closing move is the last move (closed is final): its stage and instant are the row's
        counts = [func.count().filter(and_(p.stage_changed_at >= start, p.stage_changed_at < end))
                  for start, end in won_windows]
        rows = (await conn.execute(
            select(p.deal_value, *counts)
            .where(p.rm_id.in_(members), p.stage == Stage.CLOSED_WON.value,
                   p.stage_changed_at >= min(s for s, _ in won_windows),
                   p.stage_changed_at < max(e for _, e in won_windows))
            .group_by(p.deal_value))).all()
        for row in rows:
            for i in range(len(won_windows)):
                if row[1 + i]:
                    won[i].append((row[0] or Decimal(0), row[1 + i]))
    return found, won


# --- what a dashboard page offers to switch to ---------------------------------------------------

async def teams_in_reach(conn: AsyncConnection, team_ids: frozenset[UUID] | None) -> list[Any]:
    """(id, name, city) of the teams given (None: every team), by city and name."""
    query = select(teams.c.id, teams.c.name, teams.c.city).order_by(teams.c.city, teams.c.name, teams.c.id)
    if team_ids is not None:
        query = query.where(teams.c.id.in_(sorted(team_ids)))
    return list((await conn.execute(query)).all())


async def team_rms(conn: AsyncConnection, team_id: UUID) -> list[Any]:
    """(id, name) of a team's RMs, by name."""
    rows = await conn.execute(select(rms.c.id, rms.c.name).where(rms.c.team_id == team_id)
                              .order_by(rms.c.name, rms.c.id))
    return list(rows.all())


# --- the console's snapshots ------------------------------------------------------------------------

s = dashboard_snapshots.c


def _key(kind: str, scope_key: str, period_type: str, period_start: date) -> Any:
    return and_(s.kind == kind, s.scope_key == scope_key, s.period_type == period_type, s.period_start == period_start)


async def snapshot(conn: AsyncConnection, kind: str, scope_key: str, period_type: str, period_start: date,
                   *, now: datetime) -> Any:
    """(payload, computed_at) of a snapshot, marked read now; None without one."""
    found = (await conn.execute(update(dashboard_snapshots).where(_key(kind, scope_key, period_type, period_start))
                                .values(read_at=now).returning(s.payload, s.computed_at))).first()
    return found


async def snapshot_computed_at(conn: AsyncConnection, kind: str, scope_key: str, period_type: str,
                               period_start: date) -> datetime | None:
    """When a snapshot was computed (not marked read); None without one."""
    return (await conn.execute(select(s.computed_at).where(_key(kind, scope_key, period_type, period_start)))
            ).scalar()


async def store_snapshot(conn: AsyncConnection, kind: str, scope_key: str, period_type: str, period_start: date,
                         *, payload: dict[str, Any], now: datetime, keep_read_at: bool = False) -> None:
    """Insert or replace (a concurrent computation of the same snapshot: the last one wins, both are fresh);
    `keep_read_at`: a refresh, not a read."""
    values = {"kind": kind, "scope_key": scope_key, "period_type": period_type, "period_start": period_start,
              "payload": payload, "computed_at": now, "read_at": now}
    insert = (postgresql.insert if is_postgres(conn) else sqlite.insert)(dashboard_snapshots).values(**values)
    replaced = {"payload": insert.excluded.payload, "computed_at": insert.excluded.computed_at}
    if not keep_read_at:
        replaced["read_at"] = insert.excluded.read_at
    await conn.execute(insert.on_conflict_do_update(
        index_elements=["kind", "scope_key", "period_type", "period_start"], set_=replaced))


async def drop_snapshot(conn: AsyncConnection, kind: str, scope_key: str, period_type: str, period_start: date
                        ) -> int:
    return (await conn.execute(delete(dashboard_snapshots).where(_key(kind, scope_key, period_type, period_start))
                               )).rowcount or 0


async def snapshots_to_refresh(conn: AsyncConnection, *, computed_before: datetime, read_since: datetime,
                               limit: int) -> list[Any]:
    """Snapshots read since `read_since` and computed before `computed_before`, oldest first."""
    rows = await conn.execute(select(s.kind, s.scope_key, s.period_type, s.period_start)
                              .where(s.read_at >= read_since, s.computed_at < computed_before)
                              .order_by(s.computed_at).limit(limit))
    return list(rows.all())


async def drop_unread_snapshots(conn: AsyncConnection, *, read_before: datetime) -> int:
    return (await conn.execute(delete(dashboard_snapshots).where(s.read_at < read_before))).rowcount or 0


# --- the forecast's learning, counted by the database ----------------------------------------------

CLOSED_STAGES = (Stage.CLOSED_WON.value, Stage.CLOSED_LOST.value)


def _seconds_between(conn: AsyncConnection, start: Any, end: Any) -> Any:
    if is_postgres(conn):
        return func.extract("epoch", end - start)
    return func.round((func.julianday(end) - func.julianday(start)) * 86400, 3)


def learning_rows(pipeline_ids: Any = None) -> Select[Any]:
    """The `forecast_learning` rows of the closed pipelines (of `pipeline_ids`, a list or a subquery, if given), as
    `rules.learn` counts them: NEW entered at creation, other stages at their first move in, the first closing move
    decides when it closed and whether it was won."""
    closing_query = (select(h.pipeline_id.label("pid"), func.min(h.changed_at).label("closed_at"),
                            func.min(case((h.to_stage == Stage.CLOSED_WON.value, h.changed_at))).label("won_at"))
                     .where(h.to_stage.in_(CLOSED_STAGES)).group_by(h.pipeline_id))
    if pipeline_ids is not None:
        closing_query = closing_query.where(h.pipeline_id.in_(pipeline_ids))
    closing = closing_query.subquery()
    moves = (select(h.pipeline_id.label("pid"), h.to_stage.label("stage"), func.min(h.changed_at).label("entered"))
             .where(h.to_stage.not_in(CLOSED_STAGES + (Stage.NEW.value,)), h.pipeline_id.in_(select(closing.c.pid)))
             .group_by(h.pipeline_id, h.to_stage))
    created = (select(p.id.label("pid"), literal(Stage.NEW.value).label("stage"), p.created_at.label("entered"))
               .where(p.id.in_(select(closing.c.pid))))
    entries = union_all(moves, created).subquery()
    won = case((closing.c.won_at == closing.c.closed_at, True), else_=False)
    return (select(entries.c.pid, entries.c.stage, p.rm_id, entries.c.entered, closing.c.closed_at, won)
            .select_from(entries.join(closing, closing.c.pid == entries.c.pid)
                         .join(sales_pipelines, p.id == entries.c.pid)))


LEARNING_COLUMNS = ("pipeline_id", "stage", "rm_id", "entered_at", "closed_at", "won")


_LEARNING_OF = bindparam("learning_of", type_=forecast_learning.c.pipeline_id.type)
_FORGET = delete(forecast_learning).where(forecast_learning.c.pipeline_id == _LEARNING_OF)
_LEARN = forecast_learning.insert().from_select(LEARNING_COLUMNS, learning_rows([_LEARNING_OF]))


async def learn_closed(conn: AsyncConnection, pipeline_id: UUID) -> None:
    """(Re)write a pipeline's learning rows from its history (none while it is open); statements built once."""
    await conn.execute(_FORGET, {"learning_of": pipeline_id})
    await conn.execute(_LEARN, {"learning_of": pipeline_id})


async def learned(conn: AsyncConnection, cuts: list[tuple[datetime, Decimal]], *, now: datetime | None = None
                  ) -> list[list[tuple[str, str, int, int, int]]]:
    """For each cut (before, horizon in seconds), per (city lower-case, stage): the pipelines closed before
    `before` that had entered the stage, those of them won, and those won within the horizon of entering it, counted
    over `forecast_learning` (one row per closed pipeline and stage) and the RMs' current cities.

    With `now`, the whole table is not counted again on every call (`forecast_learning_counts`; the triggers of
    migration 0032 delete what a change can alter):
    - a cut made before `now` is counted once and kept;
    - a cut at `now` (the running month and quarter) adds to what is kept for the start of the UTC day (per cell:
      reached, won, and the wins per whole day from entering the stage to winning) the rows closed since, and the
      wins of the horizon's own day counted exactly."""
    found: dict[tuple[datetime, str], list[tuple[str, str, int, int, int]]] = {}
    past = [] if now is None else list(dict.fromkeys((b, h) for b, h in cuts if b < now))
    m = forecast_learning_counts.c
    if past:
        rows = await conn.execute(select(m.cut_before, m.horizon_seconds, m.cells).where(
            or_(*(and_(m.cut_before == before, m.horizon_seconds == str(horizon)) for before, horizon in past))))
        for before, horizon, cells in rows.all():
            found[(before, horizon)] = [tuple(cell) for cell in cells]  # type: ignore[misc]
    running = [] if now is None else list(dict.fromkeys(
        (b, h) for b, h in cuts if b == now and h >= 0 and _day_start(b) < b and (b, str(h)) not in found))
    if running:
        for (before, horizon), cells in zip(running, await _running_learned(conn, running, now), strict=True):
            found[(before, str(horizon))] = cells
    missing = list(dict.fromkeys((b, h) for b, h in cuts if (b, str(h)) not in found))
    if missing:
        for (before, horizon), cells in zip(missing, await _count_learned(conn, missing), strict=True):
            found[(before, str(horizon))] = cells
            if (before, horizon) in past:
                await _keep_counts(conn, before, str(horizon), [list(cell) for cell in cells], now)
    return [found[(before, str(horizon))] for before, horizon in cuts]


BY_DAY = "by-day"  # the horizon key of a start of day's per-day histogram
DAY = 86400


def _day_start(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


async def _keep_counts(conn: AsyncConnection, before: datetime, horizon: str, cells: Any, now: datetime | None
                       ) -> None:
    insert = (postgresql.insert if is_postgres(conn) else sqlite.insert)(forecast_learning_counts).values(
        cut_before=before, horizon_seconds=horizon, cells=cells, computed_at=now)
    await conn.execute(insert.on_conflict_do_nothing(index_elements=["cut_before", "horizon_seconds"]))


def _took_day(conn: AsyncConnection, took: Any) -> Any:
    """The whole days from entering a stage to closing (-1 for any negative duration)."""
    day = literal_column(str(DAY))  # constants inline: the expression is grouped by
    whole = func.floor(took / day) if is_postgres(conn) else func.cast(took / day, Integer)
    return case((took < literal_column("0"), literal_column("-1")), else_=whole)


async def day_counts(conn: AsyncConnection, now: datetime) -> list[Any]:
    """The learning of the rows closed before today (UTC) started, per (city lower-case, stage): [city, stage,
    reached, won, {whole days from entering the stage to winning: wins}], kept once counted (the
    `dashboards-refresh` job counts it early in the day, so that no page pays for it)."""
    base = _day_start(now)
    m = forecast_learning_counts.c
    kept = (await conn.execute(select(m.cells).where(m.cut_before == base, m.horizon_seconds == BY_DAY))).scalar()
    if kept is not None:
        return list(kept)
    f = forecast_learning.c
    took = _seconds_between(conn, f.entered_at, f.closed_at)
    city = func.lower(rms.c.city)
    day = _took_day(conn, took)
    rows = (await conn.execute(select(city, f.stage, f.won, day, func.count())
                               .select_from(forecast_learning.join(rms, rms.c.id == f.rm_id))
                               .where(f.closed_at < base).group_by(city, f.stage, f.won, day))).all()
    histogram: dict[tuple[str, str], list[Any]] = {}
    for city_name, stage, won, whole_days, count in rows:
        cell = histogram.setdefault((city_name, stage), [city_name, stage, 0, 0, {}])
        cell[2] += count
        if won:
            cell[3] += count
            cell[4][str(int(whole_days))] = cell[4].get(str(int(whole_days)), 0) + count
    kept = list(histogram.values())
    await _keep_counts(conn, base, BY_DAY, kept, now)
    return kept


async def _running_learned(conn: AsyncConnection, cuts: list[tuple[datetime, Decimal]], now: datetime
                           ) -> list[list[tuple[str, str, int, int, int]]]:
    """`_count_learned` of cuts at `now` from the day's kept histogram (counted and kept when missing), the rows
    closed since the day started, and the wins of each horizon's own day: a win counts within horizon H when its
    whole days are fewer than H's (D), or it took between D days and H."""
    base = _day_start(now)
    kept = await day_counts(conn, now)
    since = await _count_learned(conn, cuts, since=base)
    result = []
    for (before, horizon), added in zip(cuts, since, strict=True):
        days = int(horizon // DAY)
        boundary = await _count_learned(conn, [(base, horizon)], took_at_least=Decimal(days * DAY))
        cells: dict[tuple[str, str], list[int]] = {}
        for city_name, stage, reached, won, by_day in kept:
            cells[(city_name, stage)] = [reached, won, sum(n for d, n in by_day.items() if int(d) < days)]
        for source in (added, boundary[0]):
            for city_name, stage, reached, won, within in source:
                cell = cells.setdefault((city_name, stage), [0, 0, 0])
                if source is added:
                    cell[0] += reached
                    cell[1] += won
                cell[2] += within
        result.append([(city_name, stage, *counts) for (city_name, stage), counts in cells.items()])
    return result


async def _count_learned(conn: AsyncConnection, cuts: list[tuple[datetime, Decimal]], *,
                         since: datetime | None = None, took_at_least: Decimal | None = None
                         ) -> list[list[tuple[str, str, int, int, int]]]:
    """The counts of `learned`, over every row (`since`: only the rows closed at or after it; `took_at_least`: only
    the wins that took at least that many seconds, through the index on the duration)."""
    f = forecast_learning.c
    took = _seconds_between(conn, f.entered_at, f.closed_at)
    won = f.won.is_(True)
    columns = []
    for before, horizon in cuts:
        in_time = f.closed_at < before
        columns += [func.count().filter(in_time), func.count().filter(and_(in_time, won)),
                    func.count().filter(and_(in_time, won, took <= horizon))]
    city = func.lower(rms.c.city)
    query = (select(city, f.stage, *columns).select_from(forecast_learning.join(rms, rms.c.id == f.rm_id))
             .group_by(city, f.stage))
    if since is not None:
        query = query.where(f.closed_at >= since)
    if took_at_least is not None:
        query = query.where(won, took >= took_at_least, took <= max(horizon for _, horizon in cuts))
    rows = (await conn.execute(query)).all()
    return [[(row[0], row[1], row[2 + 3 * i], row[3 + 3 * i], row[4 + 3 * i]) for row in rows]
            for i in range(len(cuts))]
