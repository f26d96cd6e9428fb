"""The customer context for people (issue 10 §3; PRD §5.1 CRM/Entitlements/Billing context): one use case that
reads every read model of one customer, scoped first. Read only; used by GET /customers/{user_id} and by the
console's pipeline page with the session's principal.

SQL-first: a fixed number of statements whatever the customer holds (scope, contact, open pipelines, live
orders, orders, refunds, usage, plans, preferences, activity), no statement per row.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.catalog import service as catalog_service
from sales.core.auth import Principal, Role
from sales.core.pii import mask_email, mask_phone
from sales.customers import repository, rules
from sales.customers.errors import CustomerNotFound
from sales.customers.schemas import (ActivityRead, ActivityWindowRead, ContactRead, ContextOrderRead,
                                     ContextPipelineRead, ContextPreferencesRead, ContextRefundRead, CustomerContext,
                                     PipelineRMRead)
from sales.leads import service as leads_service
from sales.orders import service as orders_service
from sales.pipelines import service as pipelines_service
from sales.pipelines.schemas import CustomerPipeline
from sales.usage import service as usage_service

ORDERS_LIMIT = 50
PIPELINES_LIMIT = 50


async def get_context(conn: AsyncConnection, principal: Principal, *, user_id: UUID,
                      now: datetime) -> CustomerContext:
    """A customer's plans with usage, orders and refunds, preferences, 7/30-day activity and open pipelines, as
    this caller may see them (rules.context_access); out of scope is 404 before anything else is read."""
    works_with = (principal.has(Role.RM, Role.SUPERVISOR)
                  and await pipelines_service.works_with_customer(conn, principal, customer_id=user_id))
    access = rules.context_access(principal, user_id=user_id, works_with=works_with)
    if access is None:
        raise CustomerNotFound(f"customer {user_id} not found")

    contact = await leads_service.customer_contact(conn, customer_id=user_id)
    pipelines = await pipelines_service.open_pipelines_of_customer(conn, customer_id=user_id, limit=PIPELINES_LIMIT)
    live = await orders_service.active_orders_for(conn, user_id, now)
    orders = await orders_service.orders_of_user(conn, user_id, limit=ORDERS_LIMIT + 1) if access.orders else []
    more_orders, orders = len(orders) > ORDERS_LIMIT, orders[:ORDERS_LIMIT]
    refunds = await orders_service.refunds_of_orders(conn, [o.order_id for o in orders])
    usage = await usage_service.usage_for(conn, user_id)
    plans = await catalog_service.plans_by_id(
        conn, {o.plan_id for o in live} | {o.plan_id for o in orders} | {u.plan_id for u in usage})
    preferences = await repository.get_preferences(conn, user_id)
    since = [rules.activity_since(now, days) for days in rules.ACTIVITY_WINDOWS]
    counts = await repository.activity_windows(conn, user_id, until=now, since=since)

    windows = [ActivityWindowRead(days=days, since=start, until=now, views=views, contacts=contacts)
               for days, start, (views, contacts) in zip(rules.ACTIVITY_WINDOWS, since, counts)]
    return CustomerContext(
        user_id=user_id, as_of=now, audience="STAFF" if access.staff else "CUSTOMER",
        contact=_contact(contact, unmasked=access.contact_unmasked),
        active_plans=rules.held_plans(live_orders=live, usage=usage, plans=plans),
        orders=[ContextOrderRead(
            order_id=o.order_id, plan_id=o.plan_id, plan_code=plans[o.plan_id].code if o.plan_id in plans else None,
            plan_name=plans[o.plan_id].name if o.plan_id in plans else None, user_type=o.user_type,
            amount=o.amount, currency=o.currency, paid_at=o.paid_at, starts_at=o.starts_at, ends_at=o.ends_at,
            status=o.status, refunded_amount=o.refunded_amount, transaction_type=o.transaction_type,
            refunds=[ContextRefundRead(refund_id=r.refund_id, amount=r.amount, completed_at=r.completed_at)
                     for r in refunds.get(o.order_id, [])],
            rm_id=o.rm_id if access.staff else None, pipeline_id=o.pipeline_id if access.staff else None)
            for o in orders] if access.orders else None,
        more_orders=more_orders,
        preferences=ContextPreferencesRead.model_validate(preferences._mapping) if preferences else None,
        activity=ActivityRead(last_7_days=windows[0], last_30_days=windows[1]),
        open_pipelines=[_pipeline(p, principal, staff=access.staff) for p in pipelines],
    )


def _contact(contact: dict[str, Any] | None, *, unmasked: bool) -> ContactRead | None:
    if contact is None:
        return None
    phone, email = contact["phone"], contact["email"]
    masked = not unmasked and bool(phone or email)
    if masked:
        phone, email = mask_phone(phone), mask_email(email)
    return ContactRead(name=contact["name"], phone=phone, email=email, masked=masked)


def _pipeline(p: CustomerPipeline, principal: Principal, *, staff: bool) -> ContextPipelineRead:
    details = staff and rules.may_read_pipeline(principal, rm_id=p.rm_id, team_id=p.rm_team_id)
    return ContextPipelineRead(
        id=p.id, stage=p.stage, rm=PipelineRMRead(id=p.rm_id, name=p.rm_name, team=p.team_name if staff else None),
        created_at=p.created_at, stage_changed_at=p.stage_changed_at, lead_id=p.lead_id if staff else None,
        source=p.source if details else None, deal_value=p.deal_value if details else None,
        probability=p.probability if details else None,
        expected_close_date=p.expected_close_date if details else None)
