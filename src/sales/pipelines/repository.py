"""The only place pipeline SQL lives: Core statements, rows straight into schemas."""
from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any
from uuid import UUID

from sqlalchemy import (Boolean, ColumnElement, Integer, Text, and_, any_, bindparam, case, cast, exists, false, func,
                        insert, literal_column, or_, select, text, true, update)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core.auth import Principal
from sales.directory.scoping import NOTHING, bound_scopes, owned_or_supervised, scope_kind, scope_params
from sales.core.db import bound_values, insert_for, is_postgres
from sales.core.direct import Direct
from sales.core.types import plain_on_postgres
from sales.core import hooks, outbox
from sales.directory.models import rms, teams
from sales.leads.models import leads
from sales.pipelines.models import OPEN, pipeline_stage_history, sales_pipelines as p

_JOINED = p.join(rms, rms.c.id == p.c.rm_id).outerjoin(teams, teams.c.id == rms.c.team_id).outerjoin(
    leads, leads.c.id == p.c.lead_id)

PIPELINE_COLUMNS = [
    *p.c,
    rms.c.name.label("rm_name"), rms.c.team_id.label("rm_team_id"), teams.c.name.label("team_name"),
    leads.c.id.label("lead_known"), leads.c.customer_id, leads.c.customer_name, leads.c.customer_phone,
    leads.c.customer_email,
]


# The same columns for PostgreSQL's hot reads (issue 19): timestamps and money read plain (core.types.plain_on_postgres,
# 5 Python calls per row fewer); on SQLite the processed PIPELINE_COLUMNS are used.
PG_PIPELINE_COLUMNS = [*(plain_on_postgres(column) for column in p.c), *PIPELINE_COLUMNS[len(p.c):]]


# --- PostgreSQL writes the list's JSON (issue 19) -----------------------------------------------------------
# A list of 250 pipelines spent half its CPU decoding 24 values per row into Python objects (timestamps alone
# 0.4 ms) and writing them out again as JSON. For an HTTP answer on PostgreSQL the database writes each item's
# JSON text instead, and the whole page's as one row (asyncpg's decoding of one row per pipeline was half of what
# was left: session 17), but for what only Python can write: the sealed notes and the customer (opened with the key
# ring, masked per caller), marked in the text. The rest is the bytes orjson writes for the same view (field order,
# `Z` timestamps without zero microseconds, money with its two places, the same string escaping: to_json and
# orjson escape alike), which tests/api/pipelines/test_list_json.py holds to the view path. No `:` is followed by
# a letter inside the SQL (pgbench, which replays these statements, would take it for a variable).

def _sql(text: str) -> ColumnElement[str]:
    """A string literal written into the statement (not a bind parameter: the statement is built once)."""
    return literal_column("'" + text.replace("'", "''") + "'", Text)


def _json_string(column: Any) -> ColumnElement[str]:
    return func.coalesce(cast(func.to_json(cast(column, Text)), Text), _sql("null"))


def _json_id(column: Any) -> ColumnElement[str]:
    """A uuid, or a code the service writes from its enums (nothing there to escape)."""
    return func.coalesce(_sql('"') + cast(column, Text) + _sql('"'), _sql("null"))


def _json_number(column: Any) -> ColumnElement[str]:
    return func.coalesce(cast(column, Text), _sql("null"))


def _json_date(column: Any) -> ColumnElement[str]:
    return func.coalesce(_sql('"') + func.to_char(column, _sql("YYYY-MM-DD")) + _sql('"'), _sql("null"))


def _json_time(column: Any) -> ColumnElement[str]:
    """An instant as orjson writes an aware UTC datetime: `2026-11-30T10:00:00Z`, `...:00.500000Z` (microseconds
    unless they are all zero)."""
    written = func.to_char(func.timezone(_sql("UTC"), column), _sql('YYYY-MM-DD"T"HH24|MI|SS.US'))
    return func.coalesce(_sql('"') + func.translate(func.replace(written, _sql(".000000"), _sql("")), _sql("|"),
                                                    _sql(":")) + _sql('Z"'), _sql("null"))


def _joined_text(*parts: Any) -> ColumnElement[str]:
    expression = parts[0]
    for part in parts[1:]:
        expression = expression + part
    return expression


# What only Python can write (sealed values, opened with the key ring) is marked in the database's JSON text as
# SEAL + a kind + the piece + SEAL, and written by the caller in its place:
# - NOTES: the sealed notes, written as a JSON string;
# - CUSTOMER / MASKED_CUSTOMER: the lead's customer id, name, phone and email (sealed), separated by FIELD, each
#   empty when NULL, written as the customer's object, with its contacts masked for MASKED_CUSTOMER.
# SEAL and FIELD (control characters) occur nowhere else in the text: to_json escapes them, and ids, codes, numbers,
# instants and sealed values (`<key id>:<base64>`) never hold them.
SEAL, FIELD, NOTES, CUSTOMER, MASKED_CUSTOMER = "\x1f", "\x1e", "n", "c", "m"
_SEAL, _FIELD = literal_column("chr(31)", Text), literal_column("chr(30)", Text)

# may_see_pii (pipelines.service) with the caller's side bound: SALES_ADMIN, the assigned RM, their supervisor.
_SEES_CONTACTS = or_(bindparam("pii_everyone", type_=Boolean), p.c.rm_id == bindparam("pii_sub", type_=p.c.rm_id.type),
                     rms.c.team_id == any_(bindparam("pii_teams", type_=ARRAY(rms.c.team_id.type))))


def _piece(*parts: Any) -> ColumnElement[str]:
    return func.coalesce(_joined_text(*parts), _sql(""))


JSON_ITEM = _joined_text(
    _sql('{"id":'), _json_id(p.c.id), _sql(',"lead_id":'), _json_id(p.c.lead_id),
    _sql(',"rm_id":'), _json_id(p.c.rm_id), _sql(',"stage":'), _json_id(p.c.stage),
    _sql(',"source":'), _json_id(p.c.source), _sql(',"deal_value":'), _json_number(p.c.deal_value),
    _sql(',"probability":'), _json_number(p.c.probability),
    _sql(',"expected_close_date":'), _json_date(p.c.expected_close_date),
    _sql(',"actual_close_date":'), _json_date(p.c.actual_close_date),
    _sql(',"outcome":'), _json_id(p.c.outcome), _sql(',"loss_reason":'), _json_string(p.c.loss_reason),
    _sql(',"notes":'), func.coalesce(_joined_text(_SEAL, _sql(NOTES), cast(p.c.notes, Text), _SEAL), _sql("null")),
    _sql(',"created_at":'), _json_time(p.c.created_at), _sql(',"updated_at":'), _json_time(p.c.updated_at),
    _sql(',"stage_changed_at":'), _json_time(p.c.stage_changed_at),
    _sql(',"sla_deadline":'), _json_time(p.c.sla_deadline),
    _sql(',"customer":'),
    case((leads.c.id.is_(None), _sql("null")), else_=_joined_text(
        _SEAL, case((_SEES_CONTACTS, _sql(CUSTOMER)), else_=_sql(MASKED_CUSTOMER)),
        _piece(cast(leads.c.customer_id, Text)), _FIELD, _piece(cast(leads.c.customer_name, Text)), _FIELD,
        _piece(cast(leads.c.customer_phone, Text)), _FIELD, _piece(cast(leads.c.customer_email, Text)), _SEAL)),
    _sql(',"rm":{"id":'), _json_id(p.c.rm_id), _sql(',"name":'), _json_string(rms.c.name),
    _sql(',"team":'), _json_string(teams.c.name), _sql("}}")).label("item")


def _json_page(rows: Any) -> Any:
    """One row for the page of `rows` (ordered newest first, `page_size + 1` of them): `items`, the JSON array of
    the first `page_size` (sealed values marked, NULL when there are none), `more` when one follows, and the
    last item's `created_at` and `id` for the next page's cursor."""
    ranked = rows.add_columns(func.row_number().over(order_by=(p.c.created_at.desc(), p.c.id.desc())).label("n"),
                              p.c.created_at.label("at"), cast(p.c.id, Text).label("pid")).subquery("ranked")
    size = bindparam("page_size", type_=Integer)
    in_page = ranked.c.n <= size
    return select(
        (_sql("[") + func.string_agg(ranked.c.item, aggregate_order_by(_sql(","), ranked.c.n)).filter(in_page)
         + _sql("]")).label("items"),
        (func.count() > size).label("more"),
        func.max(ranked.c.at).filter(ranked.c.n == size).label("last_at"),
        func.max(ranked.c.pid).filter(ranked.c.n == size).label("last_id"))


def _columns(postgres: bool) -> list[Any]:
    """The list's columns: values as asyncpg gives them, or processed."""
    return PG_PIPELINE_COLUMNS if postgres else PIPELINE_COLUMNS


def readable(principal: Principal) -> ColumnElement[bool]:
    """Pipelines this principal may read: own (RM), supervised teams (SUPERVISOR), all (org-wide roles)."""
    return owned_or_supervised(principal, owner=p.c.rm_id)


async def get(conn: AsyncConnection, pipeline_id: UUID, *, scope: ColumnElement[bool] = true(),
              for_update: bool = False) -> Any:
    query = select(*PIPELINE_COLUMNS).select_from(_JOINED).where(p.c.id == pipeline_id, scope)
    if for_update:
        query = query.with_for_update(of=p)
    return (await conn.execute(query)).first()


_GET_READABLE = {(kind, postgres): select(*_columns(postgres)).select_from(_JOINED).where(
    p.c.id == bindparam("pipeline_id", type_=p.c.id.type), *([] if predicate is None else [predicate]))
    for postgres in (False, True) for kind, predicate in bound_scopes(p.c.rm_id, postgres=postgres).items()}


async def get_readable(conn: AsyncConnection, pipeline_id: UUID, principal: Principal) -> Any:
    """`get(conn, pipeline_id, scope=readable(principal))` through a statement built once per kind of scope."""
    kind = scope_kind(principal)
    if kind == NOTHING:
        return None
    params = {"pipeline_id": pipeline_id, **scope_params(principal, kind)}
    if is_postgres(conn):
        return await _GET_READABLE_PG[kind].first(conn, params)
    return (await conn.execute(_GET_READABLE[kind, False], params)).first()


def _filtered(query: Any, f: dict[str, Any]) -> Any:
    for column in ("rm_id", "stage", "outcome", "source"):
        if f.get(column) is not None:
            query = query.where(p.c[column] == f[column])
    if f.get("team_id") is not None:
        query = query.where(rms.c.team_id == f["team_id"])
    if f.get("city") is not None:
        query = query.where(rms.c.city == f["city"])
    if f.get("created_from") is not None:
        query = query.where(p.c.created_at >= f["created_from"])
    if f.get("created_to") is not None:
        query = query.where(p.c.created_at <= f["created_to"])
    if f.get("expected_close_from") is not None:
        query = query.where(p.c.expected_close_date >= f["expected_close_from"])
    if f.get("expected_close_to") is not None:
        query = query.where(p.c.expected_close_date <= f["expected_close_to"])
    return query


def _listed(columns: list[Any], scope: ColumnElement[bool], filters: dict[str, Any],
            after: tuple[datetime, UUID] | None) -> Any:
    query = _filtered(select(*columns).select_from(_JOINED).where(scope), filters)
    if after:
        query = query.where(or_(p.c.created_at < after[0], and_(p.c.created_at == after[0], p.c.id < after[1])))
    return query.order_by(p.c.created_at.desc(), p.c.id.desc())


async def list_(conn: AsyncConnection, *, scope: ColumnElement[bool], filters: dict[str, Any], limit: int,
                after: tuple[datetime, UUID] | None) -> list[Any]:
    """Newest first, keyset-paginated on (created_at, id)."""
    query = _listed(_columns(is_postgres(conn)), scope, filters, after).limit(limit + 1)
    return list((await conn.execute(query)).all())


def _unfiltered_list(columns: list[Any], predicate: ColumnElement[bool] | None, after: bool) -> Any:
    query = select(*columns).select_from(_JOINED)
    if predicate is not None:
        query = query.where(predicate)
    if after:
        at, id_ = bindparam("after_at", type_=p.c.created_at.type), bindparam("after_id", type_=p.c.id.type)
        query = query.where(or_(p.c.created_at < at, and_(p.c.created_at == at, p.c.id < id_)))
    return query.order_by(p.c.created_at.desc(), p.c.id.desc()).limit(bindparam("page_rows"))


# The list without filters (what the RM desk and the mobile app ask for), built once per kind of scope.
_LIST_READABLE = {(kind, after, postgres): Direct(_unfiltered_list(_columns(postgres), predicate, after))
                  for postgres in (False, True)
                  for kind, predicate in bound_scopes(p.c.rm_id, postgres=postgres).items()
                  for after in (False, True)}
JSON_PAGE = {(kind, after): Direct(_json_page(_unfiltered_list([JSON_ITEM], predicate, after)))
              for kind, predicate in bound_scopes(p.c.rm_id, postgres=True).items() for after in (False, True)}


def _page_params(principal: Principal, kind: str, limit: int, after: tuple[datetime, UUID] | None) -> dict[str, Any]:
    params = {"page_rows": limit + 1, **scope_params(principal, kind)}
    if after:
        params.update(after_at=after[0], after_id=after[1])
    return params


async def list_readable(conn: AsyncConnection, principal: Principal, *, filters: dict[str, Any], limit: int,
                        after: tuple[datetime, UUID] | None) -> list[Any]:
    """`list_(scope=readable(principal), ...)`; without filters through a prebuilt statement."""
    if any(value is not None for value in filters.values()):
        return await list_(conn, scope=readable(principal), filters=filters, limit=limit, after=after)
    kind = scope_kind(principal)
    if kind == NOTHING:
        return []
    params = _page_params(principal, kind, limit, after)
    return list(await _LIST_READABLE[kind, after is not None, is_postgres(conn)].rows(conn, params))


async def json_page(conn: AsyncConnection, principal: Principal, *, filters: dict[str, Any], limit: int,
                    after: tuple[datetime, UUID] | None) -> Any:
    """PostgreSQL only: list_readable's page as one row of _json_page (None when the principal reads nothing)."""
    kind = scope_kind(principal)
    if kind == NOTHING:
        return None
    contacts = {"page_size": limit, "pii_everyone": principal.is_admin, "pii_sub": principal.sub,
                "pii_teams": sorted(principal.supervised_teams)}
    if any(value is not None for value in filters.values()):
        query = _json_page(_listed([JSON_ITEM], readable(principal), filters, after).limit(limit + 1))
        return (await conn.execute(query, contacts)).one()
    return await JSON_PAGE[kind, after is not None].one(conn, {**contacts, **_page_params(principal, kind, limit,
                                                                                             after)})


async def insert_pipeline(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    """Insert an open pipeline unless its lead has one already (the unique index on open pipelines decides,
    waiting for a concurrent insert to commit); False when nothing was inserted."""
    return await _insert_open_pipeline(is_postgres(conn), tuple(values)).first(conn, values) is not None


@functools.lru_cache(maxsize=16)
def _insert_open_pipeline(postgres: bool, columns: tuple[str, ...]) -> Direct:
    """Built once per database kind and set of columns (issue 19); the values bound by column name."""
    return Direct(open_pipeline_insert(postgres, columns))


def open_pipeline_insert(postgres: bool, columns: tuple[str, ...], prefix: str = "",
                         when: ColumnElement[bool] | None = None) -> Any:
    """INSERT of an open pipeline unless its lead has one already, RETURNING its id (none when it has): `columns`
    bound as `<prefix><column>`, for a statement built once that holds it (a data-modifying CTE, say), which may
    make it conditional (`when`)."""
    values = bound_values(p, columns, prefix)
    statement = insert_for(postgres, p)
    statement = (statement.values(values) if when is None else
                 statement.from_select(list(values), select(*values.values()).where(when)))
    return statement.on_conflict_do_nothing(index_elements=[p.c.lead_id], index_where=text(OPEN)).returning(p.c.id)


_GET_READABLE_PG = {kind: Direct(statement) for (kind, postgres), statement in _GET_READABLE.items() if postgres}
# SQLite: the processed columns, as `get` reads them
_GET_FOR_CHANGE = {kind: statement.with_for_update(of=p) for (kind, postgres), statement in _GET_READABLE.items()
                   if not postgres}
_GET_FOR_CHANGE_PG = {kind: Direct(statement.with_for_update(of=p))
                      for (kind, postgres), statement in _GET_READABLE.items() if postgres}


async def get_for_change(conn: AsyncConnection, pipeline_id: UUID, principal: Principal) -> Any:
    """`get(conn, pipeline_id, scope=readable(principal), for_update=True)` through a statement built once."""
    kind = scope_kind(principal)
    if kind == NOTHING:
        return None
    params = {"pipeline_id": pipeline_id, **scope_params(principal, kind)}
    if is_postgres(conn):
        return await _GET_FOR_CHANGE_PG[kind].first(conn, params)
    return (await conn.execute(_GET_FOR_CHANGE[kind], params)).first()


_HISTORY_COLUMNS = ("pipeline_id", "from_stage", "to_stage", "changed_by", "changed_at", "reason")
_CHANGE_STATEMENTS: dict[tuple, Any] = {}


def _change_statement(postgres: bool, columns: tuple[str, ...], events: int, rides: tuple[hooks.Ride, ...] = ()) -> Any:
    """UPDATE of the given pipeline columns RETURNING the pipeline's columns; on PostgreSQL with the history row,
    the events and the hooks' rides written by the same statement (data-modifying CTEs), each ride's RETURNING read
    back as `r<i>_<column>` (and `r<i>__found`: whether it returned a row). Built once per shape, bound parameters
    `pid`, `set_<column>`, `h_<column>`, `e<i>_<column>`, `r<i>_<name>`; on PostgreSQL a `Direct` statement (its
    columns read plain: core.types.plain_on_postgres)."""
    key = (postgres, columns, events, tuple(ride.key for ride in rides))
    statement = _CHANGE_STATEMENTS.get(key)
    if statement is not None:
        return statement
    changed = update(p).where(p.c.id == bindparam("pid", type_=p.c.id.type)).values(
        bound_values(p, columns, "set_"))
    if postgres:
        h = pipeline_stage_history
        history = insert(h).values(bound_values(h, _HISTORY_COLUMNS, "h_"))
        u = changed.returning(*(plain_on_postgres(c) for c in p.c)).cte("changed")
        carried = []
        for i, ride in enumerate(rides):
            cte = ride.build(f"r{i}_")
            carried += [select(column).scalar_subquery().label(f"r{i}_{column.name}") for column in cte.c]
            carried.append(exists(select(cte)).label(f"r{i}__found"))
        statement = select(*u.c, *carried).add_cte(history.cte("history"))
        if events:
            statement = statement.add_cte(outbox.insert_rows(events).cte("queued"))
        statement = Direct(statement)
    else:
        statement = changed.returning(*p.c)
    _CHANGE_STATEMENTS[key] = statement
    return statement


async def change_stage(conn: AsyncConnection, pipeline_id: UUID, values: dict[str, Any], *,
                       history: dict[str, Any], events: list[dict[str, Any]],
                       rides: Mapping[hooks.Hook, hooks.Ride] | None = None) -> tuple[Any, hooks.Ridden]:
    """Update the pipeline (`values`), append its stage history row and queue its events (`outbox.row` values, in
    order; inside `outbox.deferred(conn)` they join its block instead); returns the pipeline's columns as updated,
    and what the hooks' `rides` returned (`hooks.emit(..., ridden=)`). One statement on PostgreSQL, rides included;
    2 or 3 on SQLite, which carries no ride."""
    postgres = is_postgres(conn)
    if outbox.defer_rows(conn, events):
        events = []
    params: dict[str, Any] = {"pid": pipeline_id, **{f"set_{c}": v for c, v in values.items()}}
    if not postgres:
        row = (await conn.execute(_change_statement(False, tuple(values), 0), params)).one()
        await conn.execute(insert(pipeline_stage_history).values(**history))
        if events:
            await conn.execute(outbox.insert_rows(len(events)), outbox.rows_params(events))
        return row, {}
    carried = list((rides or {}).items())
    params.update({f"h_{c}": history.get(c) for c in _HISTORY_COLUMNS})
    params.update(outbox.rows_params(events))
    for i, (_, ride) in enumerate(carried):
        params.update({f"r{i}_{name}": value for name, value in ride.params.items()})
    statement = _change_statement(True, tuple(values), len(events), tuple(ride for _, ride in carried))
    row = await statement.one(conn, params)
    return row, {fn: (ride, _ridden_row(row, f"r{i}_")) for i, (fn, ride) in enumerate(carried)}


def _ridden_row(row: Any, prefix: str) -> Any:
    """What a ride returned (its columns without the prefix), or None when it returned no row."""
    if not row._mapping[f"{prefix}_found"]:
        return None
    values = {name[len(prefix):]: value for name, value in row._mapping.items()
              if name.startswith(prefix) and name != f"{prefix}_found"}
    return SimpleNamespace(**values)


async def update_pipeline(conn: AsyncConnection, pipeline_id: UUID, values: dict[str, Any]) -> None:
    await conn.execute(update(p).where(p.c.id == pipeline_id).values(**values))


async def history(conn: AsyncConnection, pipeline_id: UUID, *, limit: int, after_seq: int | None) -> list[Any]:
    h = pipeline_stage_history
    query = select(h).where(h.c.pipeline_id == pipeline_id)
    if after_seq is not None:
        query = query.where(h.c.seq > after_seq)
    return list((await conn.execute(query.order_by(h.c.seq).limit(limit + 1))).all())


_FILTER_COLUMNS = {"rm_id": p.c.rm_id, "stage": p.c.stage, "outcome": p.c.outcome, "source": p.c.source,
                   "team_id": rms.c.team_id, "city": rms.c.city}
_FILTER_RANGES = {"created_from": (p.c.created_at, ">="), "created_to": (p.c.created_at, "<="),
                  "expected_close_from": (p.c.expected_close_date, ">="),
                  "expected_close_to": (p.c.expected_close_date, "<=")}


def _bound_filtered(query: Any, names: tuple[str, ...]) -> Any:
    """`_filtered` with a bind parameter `f_<name>` per filter that is set."""
    for name in names:
        if name in _FILTER_COLUMNS:
            column = _FILTER_COLUMNS[name]
            query = query.where(column == bindparam(f"f_{name}", type_=column.type))
        else:
            column, op = _FILTER_RANGES[name]
            value = bindparam(f"f_{name}", type_=column.type)
            query = query.where(column >= value if op == ">=" else column <= value)
    return query


_STATS: dict[tuple[str, str, tuple[str, ...]], Direct] = {}


def _stats_statement(dialect: str, kind: str, names: tuple[str, ...]) -> Direct:
    """Counts and values per stage, weighted value, win rate inputs and overdue count, with the average cycle
    time as a scalar subquery (one round trip), built once per dialect, kind of scope and set of filters."""
    key = (dialect, kind, names)
    if key in _STATS:
        return _STATS[key]
    predicate = bound_scopes(p.c.rm_id, postgres=dialect == "postgresql")[kind] if kind != NOTHING else false()
    scope = [] if predicate is None else [predicate]
    today = bindparam("today", type_=p.c.expected_close_date.type)
    is_open = p.c.outcome == "PENDING"
    value = func.coalesce(p.c.deal_value, 0)
    if dialect == "postgresql":
        days = func.avg(p.c.actual_close_date - func.date(p.c.created_at))
    else:
        days = func.avg(func.julianday(p.c.actual_close_date) - func.julianday(func.date(p.c.created_at)))
    cycle = _bound_filtered(select(days).select_from(p.join(rms, rms.c.id == p.c.rm_id))
                            .where(*scope, p.c.actual_close_date.is_not(None)), names).scalar_subquery()
    statement = _bound_filtered(
        select(p.c.stage, func.count().label("n"), func.sum(value).label("value"),
               func.sum(case((is_open, value * func.coalesce(p.c.probability, 0)), else_=0)).label("weighted"),
               func.sum(case((and_(is_open, p.c.expected_close_date < today), 1), else_=0)).label("overdue"),
               cycle.label("avg_cycle_days"))
        .select_from(p.join(rms, rms.c.id == p.c.rm_id)).where(*scope).group_by(p.c.stage), names)
    _STATS[key] = Direct(statement)
    return _STATS[key]


async def stats_readable(conn: AsyncConnection, principal: Principal, *, filters: dict[str, Any],
                         today: date) -> dict[str, Any]:
    """Pipeline statistics of what this principal may read (`readable`), filtered, in one round trip through a
    prebuilt statement (issue 19)."""
    names = tuple(name for name in (*_FILTER_COLUMNS, *_FILTER_RANGES) if filters.get(name) is not None)
    kind = scope_kind(principal)
    params = {f"f_{name}": filters[name] for name in names}
    params.update(scope_params(principal, kind), today=today)
    rows = await _stats_statement(conn.dialect.name, kind, names).rows(conn, params)
    return {"rows": rows, "avg_cycle_days": rows[0].avg_cycle_days if rows else None}


def as_decimal(value: Any, places: str = "0.01") -> Decimal:
    """SQLite aggregates come back as float; PostgreSQL's as Decimal. Normalise both."""
    if value is None:
        return Decimal(0).quantize(Decimal(places))
    return Decimal(str(value)).quantize(Decimal(places))


async def open_pipeline_id_for_lead(conn: AsyncConnection, lead_id: UUID) -> UUID | None:
    """The lead's one open pipeline (uq_sales_pipelines_open_lead), if any."""
    return (await conn.execute(select(p.c.id).where(p.c.lead_id == lead_id, p.c.outcome == "PENDING"))).scalar()


async def current_pipeline_of_lead(conn: AsyncConnection, lead_id: UUID, *, for_update: bool = False) -> Any:
    """The lead's open pipeline, else its newest closed one, else None (locked for a write when asked)."""
    query = (select(*PIPELINE_COLUMNS).select_from(_JOINED).where(p.c.lead_id == lead_id)
             .order_by((p.c.outcome == "PENDING").desc(), p.c.created_at.desc(), p.c.id.desc()).limit(1))
    if for_update:
        query = query.with_for_update(of=p)
    return (await conn.execute(query)).first()


# --- a customer's pipelines (customer context, issue 10 §3) ----------------------------------------

def _of_customer(customer_id: UUID) -> Any:
    """Pipelines whose lead names this customer (leads.customer_id is the customer's platform user id)."""
    return p.c.lead_id.in_(select(leads.c.id).where(leads.c.customer_id == customer_id))


async def customer_has_pipeline(conn: AsyncConnection, customer_id: UUID, *, scope: ColumnElement[bool]) -> bool:
    """Whether any pipeline of this customer, open or closed, is within `scope`."""
    query = select(p.c.id).where(_of_customer(customer_id), scope).limit(1)
    return (await conn.execute(query)).first() is not None


# Built once (issue 19: every upsell decision asks).
_OPEN_OF_CUSTOMER = (
    select(p.c.id, p.c.lead_id, p.c.rm_id, p.c.stage, p.c.source, p.c.deal_value, p.c.probability,
           p.c.expected_close_date, p.c.created_at, p.c.stage_changed_at, rms.c.name.label("rm_name"),
           rms.c.team_id.label("rm_team_id"), teams.c.name.label("team_name"))
    .select_from(p.join(rms, rms.c.id == p.c.rm_id).outerjoin(teams, teams.c.id == rms.c.team_id))
    .where(_of_customer(bindparam("customer_id", type_=leads.c.customer_id.type)), p.c.outcome == "PENDING")
    .order_by(p.c.created_at.desc(), p.c.id.desc()).limit(bindparam("page_rows")))


async def open_of_customer(conn: AsyncConnection, customer_id: UUID, *, limit: int) -> list[Any]:
    """The customer's open pipelines with their RM and team, newest first."""
    return list((await conn.execute(_OPEN_OF_CUSTOMER, {"customer_id": customer_id, "page_rows": limit})).all())
