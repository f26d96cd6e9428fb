"""Handoff use cases (issue 15): into the assisted journey through the allocation engine, and back out to
self-service by closing the RM's part. Never commits."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.allocation import service as allocation_service
from sales.allocation.schemas import Customer, LeadAllocationRequest
from sales.core import audit, outbox
from sales.core.auth import Principal, Role
from sales.core.errors import Forbidden, InvalidInput
from sales.directory.scoping import owned_or_supervised
from sales.handoffs import repository, rules
from sales.handoffs.enums import Direction, HandoffOutcome
from sales.handoffs.errors import AlreadyAssisted, NotAssisted
from sales.handoffs.schemas import HandoffCreate, HandoffRead
from sales.pipelines import service as pipelines_service
from sales.pipelines.enums import Stage
from sales.pipelines.errors import PipelineNotFound
from sales.pipelines.models import sales_pipelines
from sales.pipelines.repository import get as get_pipeline

EVENT = "sales.handoff.recorded"


async def create_handoff(conn: AsyncConnection, principal: Principal, *, data: HandoffCreate,
                         now: datetime) -> HandoffRead:
    """TO_ASSISTED: a lead with the user's context goes through the allocation engine (an RM, or the queue);
    TO_SELF_SERVICE: the user's open pipelines close with the reason. Recorded, audited and emitted."""
    if principal.roles <= {Role.CUSTOMER} and principal.sub != data.user_id:
        raise Forbidden("a customer hands off only themself")
    if data.direction is Direction.TO_ASSISTED and principal.roles <= {Role.RM, Role.SUPERVISOR}:
        raise Forbidden("the assisted journey starts from the user or the apps, not from an RM")
    await repository.lock_user(conn, data.user_id, now=now)
    open_pipelines = await pipelines_service.open_pipelines_of_customer(conn, customer_id=data.user_id)
    values: dict[str, Any] = {"id": uuid.uuid4(), "user_id": data.user_id, "direction": data.direction.value,
                              "reason": data.reason, "context": data.context, "created_by": principal.sub,
                              "created_at": now, "lead_id": None, "allocation_id": None, "rm_id": None}
    if data.direction is Direction.TO_ASSISTED:
        if open_pipelines:
            raise AlreadyAssisted(f"user {data.user_id} already works with an RM",
                                  extra={"pipeline_id": str(open_pipelines[0].id)} if principal.is_admin else None)
        values.update(await _to_assisted(conn, principal, data=data, now=now))
    else:
        values.update(await _to_self_service(conn, principal, data=data, pipelines=open_pipelines, now=now))
    await repository.insert_handoff(conn, values)
    await outbox.record(conn, type_=EVENT, subject=values["id"], at=now, data={
        "handoff_id": values["id"], "user_id": data.user_id, "direction": data.direction, "reason": data.reason,
        "outcome": values["outcome"], "lead_id": values["lead_id"], "rm_id": values["rm_id"],
        "pipeline_ids": values["pipeline_ids"]})
    await audit.record(conn, principal, action="handoff.recorded", entity_type="handoff", entity_id=values["id"],
                       at=now, after=values)
    return HandoffRead.model_validate((await repository.get(conn, values["id"]))._mapping)


async def _to_assisted(conn: AsyncConnection, principal: Principal, *, data: HandoffCreate,
                       now: datetime) -> dict[str, Any]:
    places = await repository.listing_places(conn, rules.listing_ids(data.context))
    try:
        facts = rules.lead_facts(data.context, place=(places[0].city, places[0].locality) if places else None)
        customer = Customer.model_validate({**_customer(data.context), "id": data.user_id})
        request = LeadAllocationRequest(lead_id=uuid.uuid4(), customer=customer, intent={
            "handoff": {"reason": data.reason, "context": data.context or {}}}, **facts)
    except (ValueError, ValidationError) as exc:
        key, _, message = str(exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else exc).partition(": ")
        raise InvalidInput(("context", key), message or key) from None
    # The engine routes the lead as it would a Leads delivery; the caller is on the handoff's record and audit.
    engine = Principal(sub=principal.sub, roles=frozenset({Role.SERVICE}), name="handoff")
    outcome = await allocation_service.allocate_lead(conn, engine, request=request, now=now)
    allocation = outcome.allocation
    return {"lead_id": request.lead_id, "outcome": (HandoffOutcome.ALLOCATED if allocation else
                                                    HandoffOutcome.QUEUED).value,
            "allocation_id": allocation.id if allocation else None, "rm_id": allocation.rm_id if allocation else None,
            "pipeline_ids": [str(allocation.pipeline_id)] if allocation and allocation.pipeline_id else []}


def _customer(context: dict[str, Any] | None) -> dict[str, Any]:
    given = (context or {}).get("customer")
    return {k: v for k, v in given.items() if k in ("name", "phone", "email")} if isinstance(given, dict) else {}


async def _to_self_service(conn: AsyncConnection, principal: Principal, *, data: HandoffCreate, pipelines: list[Any],
                           now: datetime) -> dict[str, Any]:
    if principal.has(Role.RM, Role.SUPERVISOR) and not principal.reads_org_wide:
        scope = owned_or_supervised(principal, owner=sales_pipelines.c.rm_id)
        pipelines = [p for p in pipelines if await get_pipeline(conn, p.id, scope=scope) is not None]
        if not pipelines:
            raise PipelineNotFound(f"no open pipeline of user {data.user_id} in your scope")
    if not pipelines:
        raise NotAssisted(f"user {data.user_id} has no open pipeline with an RM")
    for pipeline in pipelines:
        await pipelines_service.advance_to(conn, stage=Stage.CLOSED_LOST, now=now, actor=principal,
                                           pipeline_id=pipeline.id, reason="handoff to self-service",
                                           loss_reason=rules.SELF_SERVICE_LOSS.format(reason=data.reason))
    return {"outcome": HandoffOutcome.CLOSED.value, "rm_id": pipelines[0].rm_id, "lead_id": pipelines[0].lead_id,
            "pipeline_ids": [str(p.id) for p in pipelines]}
