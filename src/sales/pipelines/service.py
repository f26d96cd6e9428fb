"""Pipeline use cases: load -> rules -> persist -> outbox -> audit. Never commits."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from operator import itemgetter
from typing import Any, Callable
from uuid import UUID

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core import audit, hooks, outbox
from sales.core.auth import Principal, Role
from sales.core.errors import Forbidden, InvalidInput
from sales.core.db import is_postgres
from sales.core.http import AFTER_SEQ, AFTER_TIME_AND_ID, cursor_after, encode_cursor, money_fragment, page_of
from sales.core.pii import PiiCipher, cipher, mask_email, mask_phone
from sales.directory import repository as directory_repository
from sales.leads import repository as leads_repository
from sales.leads.errors import LeadNotFound
from sales.pipelines import repository, rules
from sales.pipelines.enums import Outcome, Source, Stage
from sales.directory.scoping import owned_or_supervised
from sales.pipelines.errors import LeadHasOpenPipeline, PipelineClosed, PipelineNotFound
from sales.pipelines.models import sales_pipelines
from sales.pipelines.schemas import (CustomerPipeline, CustomerSummary, PipelineCreate, PipelineRead, PipelineStats,
                                     PipelineUpdate, RMSummary, StageChange, StageHistoryEntry, StageStats)


# Roles that open pipelines for any lead and any RM (machine clients such as the Leads domain, and admins).
ANY_LEAD_ROLES = (Role.SALES_ADMIN, Role.SERVICE)


def may_see_pii(principal: Principal, *, rm_id: UUID, team_id: UUID | None) -> bool:
    """The assigned RM, their supervisor and SALES_ADMIN see customer contact details unmasked."""
    return principal.is_admin or principal.sub == rm_id or principal.supervises(team_id)


def _customer(row: Any, principal: Principal) -> CustomerSummary | None:
    if row.lead_known is None:
        return None
    aead = cipher()
    name, phone, email = (aead.decrypt(row.customer_name), aead.decrypt(row.customer_phone),
                          aead.decrypt(row.customer_email))
    if not may_see_pii(principal, rm_id=row.rm_id, team_id=row.rm_team_id):
        phone, email = mask_phone(phone), mask_email(email)
    return CustomerSummary(id=row.customer_id, name=name, phone=phone, email=email)


def to_read(row: Any, principal: Principal) -> PipelineRead:
    m = row._mapping
    return PipelineRead(
        id=m["id"], lead_id=m["lead_id"], rm_id=m["rm_id"], stage=m["stage"], source=m["source"],
        deal_value=m["deal_value"], probability=m["probability"], expected_close_date=m["expected_close_date"],
        actual_close_date=m["actual_close_date"], outcome=m["outcome"], loss_reason=m["loss_reason"],
        notes=m["notes"], created_at=m["created_at"], updated_at=m["updated_at"],
        stage_changed_at=m["stage_changed_at"], sla_deadline=m["sla_deadline"],
        customer=_customer(row, principal),
        rm=RMSummary(id=m["rm_id"], name=m["rm_name"], team=m["team_name"]),
    )


# --- the list read path ---------------------------------------------------------------------------
# A list of 250 pipelines spent most of its time validating PipelineRead models and dumping them again
# (docs/performance.md). Lists use these slotted views instead: the same fields in the same order, the
# same enum members, so orjson writes the same JSON bytes as for PipelineRead and templates read the
# same attributes. tests/unit/bench/test_pipeline_view.py keeps the two in step. Views built for the wire
# (view_builder(wire=True)) hold their ids as str and money as orjson.Fragment (the `| str`, `| Fragment`).

@dataclass(slots=True)
class CustomerView:
    id: UUID | str | None
    name: str | None
    phone: str | None
    email: str | None


@dataclass(slots=True)
class RMView:
    id: UUID | str
    name: str
    team: str | None


@dataclass(slots=True)
class PipelineView:
    id: UUID | str
    lead_id: UUID | str
    rm_id: UUID | str
    stage: Stage
    source: Source
    deal_value: Decimal | orjson.Fragment | None
    probability: int | None
    expected_close_date: date | None
    actual_close_date: date | None
    outcome: Outcome
    loss_reason: str | None
    notes: str | None
    created_at: datetime
    updated_at: datetime
    stage_changed_at: datetime
    sla_deadline: datetime
    customer: CustomerView | None
    rm: RMView


_STAGES, _SOURCES, _OUTCOMES = Stage._value2member_map_, Source._value2member_map_, Outcome._value2member_map_
_VIEW_COLUMNS = ("id", "lead_id", "rm_id", "stage", "source", "deal_value", "probability", "expected_close_date",
                 "actual_close_date", "outcome", "loss_reason", "notes", "created_at", "updated_at",
                 "stage_changed_at", "sla_deadline", "rm_name", "team_name", "rm_team_id", "lead_known",
                 "customer_id", "customer_name", "customer_phone", "customer_email")


def view_builder(fields: tuple[str, ...], principal: Principal, *,
                 wire: bool = False) -> Callable[[Any], PipelineView]:
    """A function turning rows with these `fields` into views (what to_read holds, without model validation:
    the rows come from our own columns). Columns are picked by position, located once per result.

    `wire=True` builds views for an HTTP answer only: ids as `str` and money as an `orjson.Fragment` of its
    digits, which orjson writes as they are (without its `default=` callback, called once per such value
    otherwise): the same bytes as `PipelineRead`. Without it (the console's templates) ids are UUIDs and money
    is Decimal. Who sees the customer's contacts unmasked (`may_see_pii`) is settled here once per request."""
    pick = itemgetter(*(fields.index(name) for name in _VIEW_COLUMNS))
    aead = cipher()
    # may_see_pii(principal, rm_id=, team_id=) with the principal's side worked out once.
    everyone, sub, teams = principal.is_admin, principal.sub, principal.supervised_teams
    uuid_out = str if wire else _same
    money_out = money_fragment if wire else _same

    def build(row: Any) -> PipelineView:
        (id_, lead_id, rm_id, stage, source, deal_value, probability, expected_close_date, actual_close_date,
         outcome, loss_reason, notes, created_at, updated_at, stage_changed_at, sla_deadline, rm_name, team_name,
         rm_team_id, lead_known, customer_id, name, phone, email) = pick(row)
        customer = None
        if lead_known is not None:
            phone, email = aead.decrypt(phone), aead.decrypt(email)
            if not (everyone or rm_id == sub or (rm_team_id is not None and rm_team_id in teams)):
                phone, email = mask_phone(phone), mask_email(email)
            customer = CustomerView(None if customer_id is None else uuid_out(customer_id), aead.decrypt(name),
                                    phone, email)
        rm_id = uuid_out(rm_id)
        return PipelineView(uuid_out(id_), uuid_out(lead_id), rm_id, _STAGES[stage], _SOURCES[source],
                            None if deal_value is None else money_out(deal_value), probability,
                            expected_close_date, actual_close_date, _OUTCOMES[outcome], loss_reason, notes,
                            created_at, updated_at, stage_changed_at, sla_deadline, customer,
                            RMView(rm_id, rm_name, team_name))

    return build


def _same(value: Any) -> Any:
    return value


def to_view(row: Any, principal: Principal, *, wire: bool = False) -> PipelineView:
    return view_builder(row._fields, principal, wire=wire)(row)


async def get_pipeline(conn: AsyncConnection, principal: Principal, *, pipeline_id: UUID) -> PipelineRead:
    row = await repository.get_readable(conn, pipeline_id, principal)
    if row is None:
        raise PipelineNotFound(f"pipeline {pipeline_id} not found")
    return to_read(row, principal)


async def read_pipeline(conn: AsyncConnection, principal: Principal, *, pipeline_id: UUID) -> PipelineView:
    """get_pipeline for GET /pipelines/{id}: the same JSON through the list's view (no model validation)."""
    row = await repository.get_readable(conn, pipeline_id, principal)
    if row is None:
        raise PipelineNotFound(f"pipeline {pipeline_id} not found")
    return to_view(row, principal, wire=True)


async def _load_for_change(conn: AsyncConnection, principal: Principal, pipeline_id: UUID) -> Any:
    """Lock the pipeline for a write; invisible -> 404, visible but not workable by this role -> 403."""
    row = await repository.get_for_change(conn, pipeline_id, principal)
    if row is None:
        raise PipelineNotFound(f"pipeline {pipeline_id} not found")
    if not (principal.is_admin or row.rm_id == principal.sub or principal.supervises(row.rm_team_id)):
        raise Forbidden("only the assigned RM, their supervisor or a SALES_ADMIN may change this pipeline")
    return row


async def create_pipeline(conn: AsyncConnection, principal: Principal, *, data: PipelineCreate,
                          now: datetime) -> PipelineRead:
    """Open a pipeline at NEW for an active RM, on a lead the caller may work that has no open pipeline."""
    # An RM outside the caller's scope reads as an unknown one: no existence oracle (issue 9 item 10).
    rm = await directory_repository.get_rm(conn, data.rm_id, scope=directory_repository.readable_rms(principal))
    if rm is None:
        raise InvalidInput(("rm_id",), f"unknown RM {data.rm_id}")
    if not (principal.has(*ANY_LEAD_ROLES) or principal.sub == rm.id or principal.supervises(rm.team_id)):
        raise Forbidden("RMs open pipelines for themselves and supervisors for their teams")
    if rm.status != "ACTIVE":
        raise InvalidInput(("rm_id",), f"RM {data.rm_id} is not active")
    await _check_lead_is_workable(conn, principal, data.lead_id)
    pipeline_id = await open_pipeline(conn, principal, data=data, now=now, sla_deadline=rules.sla_deadline(now))
    if pipeline_id is None:  # a concurrent request opened one first
        raise await _open_pipeline_conflict(conn, principal, data.lead_id)
    return await get_pipeline(conn, principal, pipeline_id=pipeline_id)


async def _check_lead_is_workable(conn: AsyncConnection, principal: Principal, lead_id: UUID) -> None:
    """A known lead is worked by its holder (the RM of its open pipeline, else of its newest one), their
    supervisor, or a role that opens pipelines for any lead; to anyone else it does not exist (404). A lead
    has one open pipeline at a time (409). A lead nobody knows yet (a walk-in) is anyone's to open."""
    stored = await leads_repository.get(conn, lead_id, for_update=True)  # serializes with its allocation
    current = await repository.current_pipeline_of_lead(conn, lead_id)
    if stored is None and current is None:
        return
    holder, holder_team = (current.rm_id, current.rm_team_id) if current is not None else (None, None)
    if not (principal.has(*ANY_LEAD_ROLES) or principal.sub == holder or principal.supervises(holder_team)):
        raise LeadNotFound(f"lead {lead_id} not found")
    if current is not None and current.outcome == Outcome.PENDING:
        raise await _open_pipeline_conflict(conn, principal, lead_id)


async def _open_pipeline_conflict(conn: AsyncConnection, principal: Principal, lead_id: UUID) -> LeadHasOpenPipeline:
    """409 naming the lead's open pipeline, when the caller may read it."""
    open_id = await repository.open_pipeline_id_for_lead(conn, lead_id)
    visible = open_id is not None and await repository.get(
        conn, open_id, scope=repository.readable(principal)) is not None
    return LeadHasOpenPipeline(f"lead {lead_id} already has an open pipeline; close it before opening another",
                               extra={"pipeline_id": open_id} if visible else None)


async def open_pipeline(conn: AsyncConnection, principal: Principal, *, data: PipelineCreate, now: datetime,
                        sla_deadline: datetime) -> UUID | None:
    """Insert a NEW pipeline for an RM the caller has already checked, with its event and audit entry; None
    (nothing written) when the lead already has an open pipeline."""
    values = new_pipeline(data, now=now, sla_deadline=sla_deadline)
    if not await repository.insert_pipeline(conn, values):
        return None
    await pipeline_opened(conn, principal, values, now=now)
    return values["id"]


def new_pipeline(data: PipelineCreate, *, now: datetime, sla_deadline: datetime) -> dict[str, Any]:
    """A NEW pipeline's row, for `open_pipeline` or for a caller that inserts it inside a statement of its own
    (`repository.open_pipeline_insert`; the allocation engine, on its hot path) and then calls `pipeline_opened`."""
    return {
        "id": uuid.uuid4(), "lead_id": data.lead_id, "rm_id": data.rm_id, "stage": Stage.NEW.value,
        "source": data.source.value, "deal_value": data.deal_value,
        "probability": data.probability if data.probability is not None else rules.DEFAULT_PROBABILITY[Stage.NEW],
        "expected_close_date": data.expected_close_date, "outcome": Outcome.PENDING.value, "notes": data.notes,
        "sla_deadline": sla_deadline, "stage_changed_at": now, "created_at": now, "updated_at": now,
    }


async def pipeline_opened(conn: AsyncConnection, principal: Principal, values: dict[str, Any], *,
                          now: datetime) -> None:
    """The event and the audit entry of a pipeline just inserted (`new_pipeline`'s values)."""
    await outbox.record(conn, type_="sales.pipeline.created", subject=values["id"], at=now, data={
        "pipeline_id": values["id"], "lead_id": values["lead_id"], "rm_id": values["rm_id"], "stage": Stage.NEW,
        "source": Source(values["source"]), "deal_value": values["deal_value"]})
    await audit.record(conn, principal, action="pipeline.created", entity_type="pipeline", entity_id=values["id"],
                       at=now, after=values)


def _audit_view(pipeline: PipelineRead) -> dict[str, Any]:
    """Audit rows keep business fields, not customer PII."""
    return pipeline.model_dump(exclude={"customer", "rm"})


async def update_pipeline(conn: AsyncConnection, principal: Principal, *, pipeline_id: UUID, data: PipelineUpdate,
                          now: datetime) -> PipelineRead:
    """Change value, probability, expected close date, source or notes."""
    row = await _load_for_change(conn, principal, pipeline_id)
    before = to_read(row, principal)
    values = data.model_dump(exclude_unset=True)
    if row.stage in (Stage.CLOSED_WON, Stage.CLOSED_LOST) and set(values) - {"notes"}:
        raise PipelineClosed("a closed pipeline only accepts notes")
    if "source" in values and values["source"] is None:
        raise InvalidInput(("source",), "may not be null")
    if "source" in values:
        values["source"] = values["source"].value
    await repository.update_pipeline(conn, pipeline_id, {**values, "updated_at": now})
    after = await get_pipeline(conn, principal, pipeline_id=pipeline_id)
    await audit.record(conn, principal, action="pipeline.updated", entity_type="pipeline", entity_id=pipeline_id,
                       at=now, before=_audit_view(before), after=_audit_view(after))
    return after


async def change_stage(conn: AsyncConnection, principal: Principal, *, pipeline_id: UUID, change: StageChange,
                       now: datetime, wire: bool = False) -> PipelineView:
    """Move a pipeline to another stage, recording history and events; `wire`: the moved pipeline's view for the
    HTTP answer only (see view_builder)."""
    row = await _load_for_change(conn, principal, pipeline_id)
    deal_value = change.deal_value if change.deal_value is not None else row.deal_value
    rules.check_stage_change(Stage(row.stage), change.stage, actor_roles=principal.roles, reason=change.reason,
                             loss_reason=change.loss_reason, deal_value=deal_value)
    # Other domains may refuse the move (deal closure: CLOSED_WON waits for the checklist, issue 15).
    await hooks.emit("pipeline.stage_changing", conn, pipeline_id=pipeline_id, lead_id=row.lead_id,
                     current=Stage(row.stage), target=change.stage)
    return await _apply_stage(conn, principal, row, change, now=now, readable=True, wire=wire)


async def _apply_stage(conn: AsyncConnection, actor: Principal, row: Any, change: StageChange, *,
                       now: datetime, readable: bool = False, wire: bool = False) -> Any:
    """Persist a checked stage change: the row, its history, events, the in-process hook and the audit.

    `readable`: `row` has PIPELINE_COLUMNS and was read in the actor's scope (the change keeps it there), so the
    answer is a view (`wire` as view_builder's) built from it and the UPDATE's RETURNING; otherwise the pipeline
    is read back in the actor's scope as a PipelineRead."""
    pipeline_id, current = row.id, Stage(row.stage)
    deal_value = change.deal_value if change.deal_value is not None else row.deal_value
    outcome = rules.outcome_for(change.stage)
    values: dict[str, Any] = {
        "stage": change.stage.value, "outcome": outcome.value, "stage_changed_at": now, "updated_at": now,
        "probability": rules.DEFAULT_PROBABILITY[change.stage],
    }
    if change.deal_value is not None:
        values["deal_value"] = change.deal_value
    if change.stage is Stage.CLOSED_LOST:
        values["loss_reason"] = change.loss_reason
    if change.stage.is_closed:
        values["actual_close_date"] = now.date()
    events = [outbox.row(type_="sales.pipeline.stage_changed", subject=pipeline_id, at=now, data={
        "pipeline_id": pipeline_id, "lead_id": row.lead_id, "rm_id": row.rm_id, "old_stage": current,
        "new_stage": change.stage, "changed_by": actor.sub, "reason": change.reason})]
    if change.stage.is_closed:
        events.append(outbox.row(type_="sales.pipeline.closed", subject=pipeline_id, at=now, data={
            "pipeline_id": pipeline_id, "lead_id": row.lead_id, "rm_id": row.rm_id, "outcome": outcome,
            "value": deal_value, "loss_reason": change.loss_reason, "actual_close_date": now.date()}))
    # Other domains follow in the same transaction; on PostgreSQL their first writes ride with the change's statement.
    announced = {"pipeline_id": pipeline_id, "lead_id": row.lead_id, "rm_id": row.rm_id, "old_stage": current,
                 "new_stage": change.stage, "now": now}
    changed, ridden = await repository.change_stage(
        conn, pipeline_id, values, events=events, rides=hooks.rides("pipeline.stage_changed", **announced), history={
            "pipeline_id": pipeline_id, "from_stage": current.value, "to_stage": change.stage.value,
            "changed_by": actor.sub, "changed_at": now, "reason": change.reason or change.loss_reason})
    await hooks.emit("pipeline.stage_changed", conn, ridden=ridden, **announced)
    # The locked row (the RM's and the lead's columns: no hook changes them) with the pipeline's columns as the
    # UPDATE returned them: what get_pipeline would read now, without reading it; as a view, not a validated model
    # (issue 19: the same JSON, as GET /pipelines/{id} answers).
    if readable:
        merged = {**row._mapping, **changed._mapping}
        after = view_builder(tuple(merged), actor, wire=wire)(tuple(merged.values()))
    else:
        after = await get_pipeline(conn, actor, pipeline_id=pipeline_id)
    await audit.record(conn, actor, action="pipeline.stage_changed", entity_type="pipeline",
                       entity_id=pipeline_id, at=now, before={"stage": current, "outcome": row.outcome},
                       after={"stage": after.stage, "outcome": after.outcome, "reason": change.reason,
                              "loss_reason": change.loss_reason})
    return after


async def list_pipelines(conn: AsyncConnection, principal: Principal, *, filters: dict[str, Any], limit: int,
                         cursor: list[Any] | None, wire: bool = False) -> list[PipelineView]:
    """Pipelines in the principal's scope, newest first (`limit + 1` rows: the extra one means more);
    `wire`: views for the HTTP answer only (see view_builder)."""
    rows = await repository.list_readable(conn, principal, filters=filters, limit=limit,
                                          after=cursor_after(cursor, AFTER_TIME_AND_ID))
    if not rows:
        return []
    build = view_builder(rows[0]._fields, principal, wire=wire)
    return [build(row) for row in rows]


async def list_page(conn: AsyncConnection, principal: Principal, *, filters: dict[str, Any], limit: int,
                    cursor: list[Any] | None) -> dict[str, Any]:
    """GET /pipelines: a page of PipelineRead JSON. On PostgreSQL the database writes the page's JSON but for its
    sealed values (repository.JSON_ITEM), opened here; elsewhere the items are wire views. The same bytes."""
    if not is_postgres(conn):
        views = await list_pipelines(conn, principal, filters=filters, limit=limit, cursor=cursor, wire=True)
        return page_of(views, limit, lambda v: (v.created_at.isoformat(), v.id))
    page = await repository.json_page(conn, principal, filters=filters, limit=limit,
                                      after=cursor_after(cursor, AFTER_TIME_AND_ID))
    if page is None or page.items is None:
        return {"items": [], "next_cursor": None}
    next_cursor = encode_cursor(page.last_at.isoformat(), page.last_id) if page.more else None
    return {"items": orjson.Fragment(_opened(page.items)), "next_cursor": next_cursor}


def _opened(text: str) -> str:
    """The database's JSON text with each sealed piece (repository.SEAL + kind + piece + SEAL) written in its place."""
    parts = text.split(repository.SEAL)
    parts[1::2] = map(cipher().writer(_write_sealed), parts[1::2])
    return "".join(parts)


def _write_sealed(aead: PiiCipher, marked: str) -> str:
    """One of repository.JSON_ITEM's sealed pieces as JSON: the notes' text, or the customer (masked as
    view_builder masks them)."""
    kind, piece = marked[0], marked[1:]
    if kind == repository.NOTES:
        return _json(aead.decrypt(piece))
    customer_id, name, phone, email = (value or None for value in piece.split(repository.FIELD))
    phone, email = aead.decrypt(phone), aead.decrypt(email)
    if kind == repository.MASKED_CUSTOMER:
        phone, email = mask_phone(phone), mask_email(email)
    return _json({"id": customer_id, "name": aead.decrypt(name), "phone": phone, "email": email})


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


async def stage_history(conn: AsyncConnection, principal: Principal, *, pipeline_id: UUID, limit: int,
                        cursor: list[Any] | None) -> tuple[list[StageHistoryEntry], int | None]:
    await get_pipeline(conn, principal, pipeline_id=pipeline_id)
    after = cursor_after(cursor, AFTER_SEQ)
    rows = await repository.history(conn, pipeline_id, limit=limit, after_seq=after[0] if after else None)
    entries = [StageHistoryEntry.model_validate(r._mapping) for r in rows[:limit]]
    return entries, (rows[limit - 1].seq if len(rows) > limit else None)


async def pipeline_stats(conn: AsyncConnection, principal: Principal, *, filters: dict[str, Any],
                         today: date) -> PipelineStats:
    """Counts and values per stage, weighted value, win rate, cycle time, overdue, for the caller's scope."""
    raw = await repository.stats_readable(conn, principal, filters=filters, today=today)
    stages = {stage: StageStats(count=0, deal_value=Decimal("0.00")) for stage in Stage}
    weighted = Decimal(0)
    overdue = 0
    for row in raw["rows"]:
        stages[Stage(row.stage)] = StageStats(count=row.n, deal_value=repository.as_decimal(row.value))
        weighted += Decimal(str(row.weighted or 0))
        overdue += int(row.overdue or 0)
    won, lost = stages[Stage.CLOSED_WON].count, stages[Stage.CLOSED_LOST].count
    total = sum(s.count for s in stages.values())
    return PipelineStats(
        stages=stages, total_count=total, open_count=total - won - lost,
        total_deal_value=sum((s.deal_value for s in stages.values()), Decimal("0.00")),
        weighted_pipeline_value=(weighted / 100).quantize(Decimal("0.01")),
        won_count=won, lost_count=lost,
        win_rate=(Decimal(won * 100) / (won + lost)).quantize(Decimal("0.01")) if won + lost else None,
        avg_cycle_time_days=repository.as_decimal(raw["avg_cycle_days"]) if raw["avg_cycle_days"] is not None
        else None,
        overdue_count=overdue,
    )


async def find_open_for_lead(conn: AsyncConnection, *, lead_id: UUID) -> UUID | None:
    """The lead's open (PENDING outcome) pipeline, if any: there is at most one."""
    return await repository.open_pipeline_id_for_lead(conn, lead_id)


async def transfer(conn: AsyncConnection, principal: Principal, *, pipeline_id: UUID, to_rm_id: UUID,
                   now: datetime, sla_deadline: datetime, reason: str | None) -> None:
    """Hand an open pipeline to another RM (allocation engine: reassignment, SLA breach, rejection)."""
    row = await repository.get(conn, pipeline_id, for_update=True)
    if row is None or row.rm_id == to_rm_id:
        return
    await repository.update_pipeline(conn, pipeline_id, {"rm_id": to_rm_id, "sla_deadline": sla_deadline,
                                                         "updated_at": now})
    await audit.record(conn, principal, action="pipeline.transferred", entity_type="pipeline",
                       entity_id=pipeline_id, at=now, before={"rm_id": row.rm_id},
                       after={"rm_id": to_rm_id, "reason": reason})


async def advance_to(conn: AsyncConnection, *, stage: Stage, now: datetime, actor: Principal,
                     lead_id: UUID | None = None, pipeline_id: UUID | None = None,
                     reason: str | None = None, loss_reason: str | None = None) -> PipelineRead | None:
    """Move the lead's open pipeline (or the given one) forward to `stage` if it is behind it.

    Returns the moved pipeline, or None when nothing had to move (already there or beyond, or closed).
    Raises PipelineNotFound when the lead has no pipeline yet (a consumed event may arrive before the
    allocation that opens it; the caller retries).
    """
    if pipeline_id is not None:
        row = await repository.get(conn, pipeline_id, for_update=True)
    elif lead_id is not None:
        row = await repository.current_pipeline_of_lead(conn, lead_id, for_update=True)
    else:
        raise InvalidInput(("lead_id",), "lead_id or pipeline_id is required")
    if row is None:
        raise PipelineNotFound(f"no pipeline for {'pipeline ' + str(pipeline_id) if pipeline_id else 'lead ' + str(lead_id)}")
    if not rules.should_advance(Stage(row.stage), stage):
        return None
    return await _apply_stage(conn, actor, row, StageChange(stage=stage, reason=reason, loss_reason=loss_reason),
                              now=now)


# --- for the customer context (issue 10 §3) -------------------------------------------------------

async def works_with_customer(conn: AsyncConnection, principal: Principal, *, customer_id: UUID) -> bool:
    """Whether the principal, as an RM or SUPERVISOR, has a pipeline (open or closed) with this customer: one
    of their own (RM) or of their teams' RMs (SUPERVISOR). Other roles count nothing here: an org-wide reader
    works with nobody's customers by reading them."""
    seller = Principal(sub=principal.sub, roles=principal.roles & {Role.RM, Role.SUPERVISOR},
                       team_ids=principal.team_ids)
    if not seller.roles:
        return False
    return await repository.customer_has_pipeline(
        conn, customer_id, scope=owned_or_supervised(seller, owner=sales_pipelines.c.rm_id))


async def open_pipelines_of_customer(conn: AsyncConnection, *, customer_id: UUID,
                                     limit: int = 50) -> list[CustomerPipeline]:
    """The customer's open pipelines (any RM), newest first; unscoped: the caller decides who sees what."""
    return [CustomerPipeline.model_validate(row._mapping)
            for row in await repository.open_of_customer(conn, customer_id, limit=limit)]
