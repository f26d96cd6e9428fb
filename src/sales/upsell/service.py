"""Upsell use cases (issue 11): every upsell goes through `decide` (gating, UPR-001/004/005/006 and the stage
rule), which records the decision whatever its outcome. Never commits."""
from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import structlog
from sqlalchemy.ext.asyncio import AsyncConnection

from sales.catalog import service as catalog_service
from sales.catalog.errors import UnknownPlan
from sales.catalog.schemas import PlanRead
from sales.core import audit, outbox
from sales.core.auth import Principal, Role
from sales.core.errors import Forbidden, InvalidInput
from sales.core.http import AFTER_TIME_AND_ID, cursor_after
from sales.customers import service as customers_service
from sales.experiments import assignment as experiments_assignment
from sales.inventory import service as inventory_service
from sales.notifications import service as notifications_service
from sales.orders import service as orders_service
from sales.pipelines import service as pipelines_service
from sales.upsell import repository, rules
from sales.upsell.enums import DecisionOutcome, UpsellChannel, UpsellResponse, UpsellStatus
from sales.upsell.errors import (CustomerNotFound, InvalidResponse, TriggerConfigChanged, UpsellClosed,
                                 UpsellNotFound)
from sales.upsell.models import upsell_decisions, upsells
from sales.upsell.permissions import UPSELLS_ORG_WIDE
from sales.upsell.schemas import (CheckoutRead, DecisionRead, TriggerConfig, TriggerConfigRead, TriggerConfigWrite,
                                  TriggerName, Funnel, FunnelGroup, GateRead, RecommendationRead,
                                  Recommendations, UpsellCreate, UpsellRead)
from sales.usage import rules as usage_rules
from sales.usage import service as usage_service

log = structlog.get_logger("sales.upsell")

PRESENTED_EVENT = "sales.upsell.presented"
CONVERTED_EVENT = "sales.upsell.converted"
PAYMENT_REQUESTED_EVENT = "sales.payment.requested"
ACTIVATION_EVENT = "sales.plan.activation_requested"
EXPIRY_BATCH = 500
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Money decides: a payment naming the upsell converts it from any status but CONVERTED (an expired or dismissed
# offer that was paid for anyway still earned that revenue).
CONVERTIBLE = ("PENDING", "PRESENTED", "CLICKED", "DISMISSED", "EXPIRED")


def _read(row: Any) -> UpsellRead:
    return UpsellRead.model_validate(row._mapping)


def _decision(row: Any) -> DecisionRead:
    return DecisionRead.model_validate(row._mapping)


def facts(plan: PlanRead) -> rules.PlanFacts:
    return rules.PlanFacts(id=plan.id, user_type=plan.user_type.value, tier=plan.tier, price=plan.price,
                           features=plan.features, active=plan.active, code=plan.code)


async def current_plan(conn: AsyncConnection, *, user_id: UUID, user_type: str, now: datetime) -> PlanRead | None:
    """The highest-tier plan of this user type the user holds a live order for at `now` (None: free user)."""
    live = [o for o in await orders_service.active_orders_for(conn, user_id, now) if o.user_type.value == user_type]
    held = await catalog_service.plans_by_id(conn, {o.plan_id for o in live})
    return max(held.values(), key=lambda p: (p.tier, p.price, p.code), default=None)


async def gate_for(conn: AsyncConnection, *, user_id: UUID, channel: UpsellChannel, now: datetime) -> rules.Gate:
    """Every gating rule for one user and channel at `now` (reads only)."""
    open_stages = [p.stage.value for p in
                   await pipelines_service.open_pipelines_of_customer(conn, customer_id=user_id)]
    return rules.gate(requested=channel, now=now,
                      last_dismissed_at=await repository.last_dismissed_at(conn, user_id),
                      recent_created_at=await repository.created_since(conn, user_id,
                                                                       now - rules.FREQUENCY_WINDOW),
                      preferences=await notifications_service.channel_preferences(conn, user_id=user_id),
                      open_stages=open_stages)


# --- the decision --------------------------------------------------------------------------------

async def decide(conn: AsyncConnection, actor: Principal | None, *, user_id: UUID, user_type: str,
                 trigger_event: str, target_plan_id: UUID, current_plan_id: UUID | None, channel: UpsellChannel,
                 trigger_context: dict[str, Any] | None, experiment_variant: str | None, source: str,
                 now: datetime) -> tuple[DecisionRead, UpsellRead | None]:
    """Gate one upsell and record the decision (CREATED with the PENDING upsell, or SUPPRESSED with no upsell)."""
    await repository.lock_user(conn, user_id, now)
    # Issue 16: an experiment (or a winner's rollout) on this trigger picks the variant, its message, channel
    # and delay; the gating then applies to that channel.
    served = await experiments_assignment.serve(conn, trigger_event=trigger_event, user_id=user_id)
    if served is not None:
        channel = UpsellChannel(served.channel) if served.channel else channel
        experiment_variant = served.variant
    gate = await gate_for(conn, user_id=user_id, channel=channel, now=now)
    config = await trigger_config(conn)
    upsell = None
    if gate.allowed:
        assert gate.channel is not None
        present_after = now + timedelta(minutes=served.delay_minutes or 0) if served else None
        upsell = _read(await repository.insert(conn, {
            "id": uuid.uuid4(), "user_id": user_id, "user_type": user_type, "current_plan_id": current_plan_id,
            "target_plan_id": target_plan_id, "trigger_event": trigger_event, "trigger_context": trigger_context,
            "status": UpsellStatus.PENDING.value, "channel": gate.channel.value,
            "experiment_variant": experiment_variant, "created_at": now, "updated_at": now,
            "experiment_id": served.experiment_id if served else None,
            "message": served.message if served else None, "present_after": present_after,
            "expires_at": (present_after or now) + timedelta(days=config.offer_window_days)}))
        await audit.record(conn, actor, action="upsell.created", entity_type="upsell", entity_id=upsell.id, at=now,
                           after=upsell)
    decision = _decision(await repository.insert_decision(conn, {
        "id": uuid.uuid4(), "user_id": user_id, "user_type": user_type, "trigger_event": trigger_event,
        "target_plan_id": target_plan_id, "requested_channel": channel.value,
        "channel": gate.channel.value if upsell and gate.channel else None,
        "outcome": (DecisionOutcome.CREATED if upsell else DecisionOutcome.SUPPRESSED).value,
        "rules": [r.as_dict() for r in gate.results], "upsell_id": upsell.id if upsell else None,
        "source": source[:160], "decided_at": now}))
    return decision, upsell


async def create_upsell(conn: AsyncConnection, principal: Principal, *, data: UpsellCreate,
                        now: datetime) -> tuple[DecisionRead, UpsellRead | None]:
    """POST /upsells through the gating. An RM (without an org-wide creating role) creates RM_CALL upsells only
    (403 otherwise), for customers of their own open pipelines (404 otherwise)."""
    if not principal.has(Role.SERVICE, Role.PRODUCT_MANAGER, Role.SALES_ADMIN):
        if data.channel is not UpsellChannel.RM_CALL:
            raise Forbidden("an RM creates RM_CALL upsells only")
        pipelines = await pipelines_service.open_pipelines_of_customer(conn, customer_id=data.user_id)
        if not any(p.rm_id == principal.sub for p in pipelines):
            raise CustomerNotFound(f"customer {data.user_id} not found")
    target = await catalog_service.get_plan_facts(conn, data.target_plan_id)
    if target is None:
        raise InvalidInput(("target_plan_id",), f"unknown plan {data.target_plan_id}")
    if not target.active:
        raise InvalidInput(("target_plan_id",), "the plan is not on sale")
    if target.user_type != data.user_type:
        raise InvalidInput(("target_plan_id",), f"a {target.user_type.value} plan cannot be offered to a "
                                                f"{data.user_type.value} user")
    current = await current_plan(conn, user_id=data.user_id, user_type=data.user_type.value, now=now)
    current_tier = current.tier if current is not None else rules.FREE_TIER
    if target.tier <= current_tier:
        raise InvalidInput(("target_plan_id",), f"the plan (tier {target.tier}) is not above the user's current "
                                                f"plan (tier {current_tier})")
    return await decide(conn, principal, user_id=data.user_id, user_type=data.user_type.value,
                        trigger_event=data.trigger_event, target_plan_id=target.id,
                        current_plan_id=current.id if current else None, channel=data.channel,
                        trigger_context=data.trigger_context, experiment_variant=data.experiment_variant,
                        source=f"api:{principal.primary_role}", now=now)


# --- reads ---------------------------------------------------------------------------------------

async def _sells_to(conn: AsyncConnection, principal: Principal, user_id: UUID) -> bool:
    """An RM / SUPERVISOR reads the upsells of customers they (their teams) have a pipeline with."""
    return (principal.has(Role.RM, Role.SUPERVISOR)
            and await pipelines_service.works_with_customer(conn, principal, customer_id=user_id))


async def _scope(conn: AsyncConnection, principal: Principal, user_id: UUID | None, column: Any) -> Any:
    """Org-wide readers: everything; a CUSTOMER: their own; an RM / SUPERVISOR: one customer they work with
    (named by user_id), else nothing."""
    if principal.has(*UPSELLS_ORG_WIDE) or principal.has(Role.CUSTOMER):
        return repository.readable(principal, column)
    if user_id is not None and await _sells_to(conn, principal, user_id):
        return column == user_id
    return repository.readable(principal, column)


async def get_upsell(conn: AsyncConnection, principal: Principal, *, upsell_id: UUID) -> UpsellRead:
    row = await repository.get(conn, upsell_id, scope=repository.readable(principal))
    if row is None and principal.has(Role.RM, Role.SUPERVISOR):
        row = await repository.get(conn, upsell_id)
        if row is not None and not await _sells_to(conn, principal, row.user_id):
            row = None
    if row is None:
        raise UpsellNotFound(f"upsell {upsell_id} not found")
    return _read(row)


async def list_upsells(conn: AsyncConnection, principal: Principal, *, filters: dict[str, Any], limit: int,
                       cursor: list[Any] | None) -> list[UpsellRead]:
    """Upsells in the caller's scope; an RM / SUPERVISOR names the customer (user_id) they work with."""
    after = cursor_after(cursor, AFTER_TIME_AND_ID)
    scope = await _scope(conn, principal, filters.get("user_id"), upsells.c.user_id)
    rows = await repository.list_(conn, scope=scope, filters=filters, limit=limit, after=after)
    return [_read(r) for r in rows]


def cursor_of(upsell: UpsellRead) -> tuple[datetime, UUID]:
    return upsell.created_at, upsell.id


async def list_decisions(conn: AsyncConnection, principal: Principal, *, user_id: UUID, limit: int,
                         cursor: list[Any] | None) -> list[DecisionRead]:
    """A user's gating decisions, newest first; a CUSTOMER only their own, an RM / SUPERVISOR those of customers
    they work with (others: 404)."""
    scope = await _scope(conn, principal, user_id, upsell_decisions.c.user_id)
    allowed = (principal.has(*UPSELLS_ORG_WIDE) or (principal.has(Role.CUSTOMER) and user_id == principal.sub)
               or await _sells_to(conn, principal, user_id))
    if not allowed:
        raise CustomerNotFound(f"customer {user_id} not found")
    rows = await repository.decisions_of(conn, user_id=user_id, limit=limit,
                                         scope=scope,
                                         after=cursor_after(cursor, AFTER_TIME_AND_ID))
    return [_decision(r) for r in rows]


def decision_cursor(decision: DecisionRead) -> tuple[datetime, UUID]:
    return decision.decided_at, decision.id


# --- responses -----------------------------------------------------------------------------------

async def respond_to(conn: AsyncConnection, principal: Principal, *, upsell_id: UUID, response: UpsellResponse,
                     now: datetime) -> UpsellRead:
    """PATCH /upsells/{id}/response: forward-only (PENDING -> PRESENTED -> CLICKED; DISMISSED from any open
    status). PRESENTED emits sales.upsell.presented. A closed upsell (CONVERTED, EXPIRED, DISMISSED) is 409."""
    before = await get_upsell(conn, principal, upsell_id=upsell_id)
    if before.status.value in rules.FINAL:
        raise UpsellClosed(f"the upsell is {before.status.value}")
    from_ = rules.RESPONSE_FROM[response.value]
    stamp = {UpsellResponse.PRESENTED: "presented_at", UpsellResponse.CLICKED: "clicked_at",
             UpsellResponse.DISMISSED: "dismissed_at"}[response]
    row = await repository.move(conn, upsell_id, from_=from_, values={
        "status": response.value, "response": response.value, stamp: now, "updated_at": now})
    if row is None:
        current = await repository.get(conn, upsell_id)
        if current.status in rules.FINAL:
            raise UpsellClosed(f"the upsell is {current.status}")
        raise InvalidResponse(f"{response.value} is not allowed from {current.status}")
    after = _read(row)
    await audit.record(conn, principal, action=f"upsell.{response.value.lower()}", entity_type="upsell",
                       entity_id=upsell_id, at=now, before=before, after=after)
    if response is UpsellResponse.PRESENTED:
        await outbox.record(conn, type_=PRESENTED_EVENT, subject=upsell_id, at=now, data={
            "upsell_id": upsell_id, "user_id": after.user_id, "plan_id": after.target_plan_id,
            "channel": after.channel, "trigger_event": after.trigger_event,
            "experiment_variant": after.experiment_variant, "presented_at": now})
    return after


# --- triggers (consumed events) --------------------------------------------------------------------

async def fire(conn: AsyncConnection, trigger: rules.Trigger, *, user_id: UUID, user_type: str, source: str,
               now: datetime) -> tuple[DecisionRead, UpsellRead | None] | None:
    """Gate a trigger's upsell unless this cause already produced one for the user (None then). The cause is
    kept only when an upsell was created: a suppressed trigger may fire again on a later event."""
    await repository.lock_user(conn, user_id, now)
    if await repository.has_fired(conn, user_id, trigger.cause):
        return None
    decision, upsell = await decide(conn, None, user_id=user_id, user_type=user_type,
                                    trigger_event=trigger.trigger_event, target_plan_id=trigger.target_plan_id,
                                    current_plan_id=trigger.current_plan_id, channel=trigger.channel,
                                    trigger_context=trigger.context, experiment_variant=None, source=source,
                                    now=now)
    if upsell is not None:
        await repository.record_fire(conn, {"user_id": user_id, "cause": trigger.cause[:200],
                                            "upsell_id": upsell.id, "fired_at": now})
    return decision, upsell


async def on_usage(conn: AsyncConnection, *, user_id: UUID, plan_id: UUID, order_id: UUID | None, quota_name: str,
                   quota: int | None, used: int, at: datetime, source: str,
                   now: datetime) -> tuple[DecisionRead, UpsellRead | None] | None:
    """QUOTA_THRESHOLD (UPR-002, US-SALE-001) from one usage measurement of the user's current plan. A
    measurement older than the stored one, or of a plan the user no longer holds, triggers nothing."""
    config = await trigger_config(conn)
    if TriggerName.QUOTA_THRESHOLD not in config.enabled_triggers:
        return None
    plan = await catalog_service.get_plan_facts(conn, plan_id)
    if plan is None:
        raise UnknownPlan(plan_id)
    stored = [u for u in await usage_service.usage_for(conn, user_id)
              if u.plan_id == plan_id and u.quota_name == quota_name]
    if stored and stored[0].at > at:
        return None
    current = await current_plan(conn, user_id=user_id, user_type=plan.user_type.value, now=now)
    if current is not None and current.id != plan.id:
        return None
    trigger = rules.quota_threshold(
        percent=usage_rules.percent_used(quota=quota, used=used), used=used, quota=quota, quota_name=quota_name,
        current=facts(plan), cause_scope=str(order_id or plan_id), threshold=config.quota_threshold_percent,
        catalogue=[facts(p) for p in await catalog_service.plans_on_sale(conn, plan.user_type.value)])
    if trigger is None:
        return None
    return await fire(conn, trigger, user_id=user_id, user_type=plan.user_type.value, source=source, now=now)


VIEWER_TYPES = ("BUYER", "TENANT")


async def on_view(conn: AsyncConnection, *, user_id: UUID, source: str,
                  now: datetime) -> tuple[DecisionRead, UpsellRead | None] | None:
    """VIEWS_WITHOUT_CONTACT (UPR-003) after a property view is stored: 5 views without a contact since the
    user's last upsell -> IN_APP_BANNER for the next plan up. The viewer is a BUYER when they hold a live BUYER
    plan, else a TENANT."""
    config = await trigger_config(conn)
    if TriggerName.VIEWS_WITHOUT_CONTACT not in config.enabled_triggers:
        return None
    last = await repository.last_upsell(conn, user_id)
    since = last.created_at if last is not None else EPOCH
    views = await customers_service.views_without_contact_since(conn, user_id, since)
    if views < config.views_without_contact:
        return None
    live = {o.user_type.value for o in await orders_service.active_orders_for(conn, user_id, now)}
    user_type = next((t for t in VIEWER_TYPES if t in live), "TENANT")
    current = await current_plan(conn, user_id=user_id, user_type=user_type, now=now)
    catalogue = [facts(p) for p in await catalog_service.plans_on_sale(conn, user_type)]
    current_facts = facts(current) if current else None
    trigger = rules.views_without_contact(
        views=views, since=last.created_at if last is not None else None,
        since_upsell_id=last.id if last is not None else None, current=current_facts,
        target=rules.upgrade_target(current_facts, catalogue, user_type=user_type),
        threshold=config.views_without_contact)
    if trigger is None:
        return None
    return await fire(conn, trigger, user_id=user_id, user_type=user_type, source=source, now=now)


async def on_plan_expired(conn: AsyncConnection, *, user_id: UUID, plan_id: UUID, order_id: UUID,
                          expired_at: datetime, source: str,
                          now: datetime) -> tuple[DecisionRead, UpsellRead | None] | None:
    """PLAN_EXPIRED: renewal of the expired plan, once per order, unless the order did not end by expiry
    (refunded, cancelled) or the user already holds a live plan of that type at the same tier or above."""
    if TriggerName.PLAN_EXPIRED not in (await trigger_config(conn)).enabled_triggers:
        return None
    plan = await catalog_service.get_plan_facts(conn, plan_id)
    if plan is None:
        raise UnknownPlan(plan_id)
    order = await orders_service.get_order_facts(conn, order_id)
    if order is None or order.status.value != "EXPIRED" or order.user_id != user_id:
        return None
    current = await current_plan(conn, user_id=user_id, user_type=plan.user_type.value, now=now)
    if current is not None and current.tier >= plan.tier:
        return None
    trigger = rules.plan_expired(plan=facts(plan), order_id=order_id, expired_at=expired_at)
    if trigger is None:
        return None
    if current is not None:
        trigger = dataclasses.replace(trigger, current_plan_id=current.id)
    return await fire(conn, trigger, user_id=user_id, user_type=plan.user_type.value, source=source, now=now)


async def on_listing_stats(conn: AsyncConnection, principal: Principal, *, listing_id: UUID, source: str,
                           now: datetime) -> tuple[DecisionRead, UpsellRead | None] | None:
    """LOW_LISTING_VIEWS (US-SALE-002) after a listing's 7-day views are stored: a listing boost for its owner
    when the listing is at least 7 days old and below its city's average; once per listing."""
    config = await trigger_config(conn)
    if TriggerName.LOW_LISTING_VIEWS not in config.enabled_triggers:
        return None
    listing = await inventory_service.get_listing(conn, principal, listing_id=listing_id)
    current = await current_plan(conn, user_id=listing.owner_id, user_type="OWNER", now=now)
    trigger = rules.low_listing_views(
        listing_id=listing.id, status=listing.status.value, listed_at=listing.listed_at, views_7d=listing.views_7d,
        city_average=listing.city_avg_views_7d, now=now, current=facts(current) if current else None,
        catalogue=[facts(p) for p in await catalog_service.plans_on_sale(conn, "OWNER")],
        expected_extra_views=config.boost_expected_extra_views)
    if trigger is None:
        return None
    return await fire(conn, trigger, user_id=listing.owner_id, user_type="OWNER", source=source, now=now)


# --- expiry ------------------------------------------------------------------------------------------

async def expire_offers(conn: AsyncConnection, *, now: datetime, limit: int = EXPIRY_BATCH) -> int:
    """Job upsell-expiry: PENDING / PRESENTED / CLICKED upsells past their offer window (expires_at <= now)
    become EXPIRED, at most `limit` per run (one conditional UPDATE: a concurrent response wins or loses whole)."""
    rows = await repository.expire_due(conn, now=now, open_=rules.OPEN, limit=limit)
    for row in rows:
        await audit.record(conn, None, action="upsell.expired", entity_type="upsell", entity_id=row.id, at=now,
                           after=_read(row))
    return len(rows)


# --- conversion --------------------------------------------------------------------------------------

async def convert_from_payment(conn: AsyncConnection, *, upsell_id: UUID, user_id: UUID, payment_id: UUID,
                               order_id: UUID, plan_id: UUID, amount: Decimal, paid_at: datetime, now: datetime,
                               attribution: str = "NAMED") -> UpsellRead | None:
    """Issue 11, conversion only from money: a completed payment naming the upsell makes it CONVERTED with
    `converted_at` = the payment time and `conversion_value` = the amount paid, and emits
    sales.upsell.converted {upsell_id, user_id, revenue}. Once: a second payment naming it changes nothing; a
    payment by another user converts nothing. An upsell id this service never made converts nothing either
    (upsells are Sales' own records: retrying cannot make one appear, and the order must not wait for it)."""
    row = await repository.get(conn, upsell_id)
    if row is None or row.user_id != user_id:
        log.warning("upsell.conversion_ignored", upsell_id=str(upsell_id), payment_id=str(payment_id),
                    reason="unknown upsell" if row is None else "another user's upsell")
        return None
    before = _read(row)
    converted = await repository.move(conn, upsell_id, from_=CONVERTIBLE, values={
        "status": UpsellStatus.CONVERTED.value, "converted_at": paid_at, "conversion_value": amount,
        "updated_at": now})
    if converted is None:
        return None
    after = _read(converted)
    await audit.record(conn, None, action="upsell.converted", entity_type="upsell", entity_id=upsell_id, at=now,
                       before=before, after=after)
    await outbox.record(conn, type_=CONVERTED_EVENT, subject=upsell_id, at=now, data={
        "upsell_id": upsell_id, "user_id": user_id, "revenue": amount, "plan_id": plan_id,
        "target_plan_id": after.target_plan_id, "payment_id": payment_id, "converted_at": paid_at,
        "trigger_event": after.trigger_event, "channel": after.channel,
        "experiment_variant": after.experiment_variant, "attribution": attribution})
    # US-SALE-001: immediate entitlement activation, and a confirmation on the user's preferred channel.
    await outbox.record(conn, type_=ACTIVATION_EVENT, subject=upsell_id, at=now, data={
        "upsell_id": upsell_id, "user_id": user_id, "plan_id": plan_id, "order_id": order_id,
        "payment_id": payment_id})
    await notifications_service.notify(
        conn, recipient_type="CUSTOMER", recipient_id=user_id, template="upsell_converted",
        data={"upsell_id": str(upsell_id), "plan_id": str(plan_id), "order_id": str(order_id),
              "amount": str(amount)},
        dedupe_key=f"upsell_converted:{upsell_id}", transactional=True, now=now)
    return after


async def attribute_payment(conn: AsyncConnection, *, user_id: UUID, order_id: UUID, payment_id: UUID,
                            plan_id: UUID, amount: Decimal, paid_at: datetime, now: datetime) -> UpsellRead | None:
    """Issue 11: a payment naming no upsell converts the user's latest upsell recommending that plan when it is
    the user's first payment for the plan within the attribution window (7 days from the upsell's creation)."""
    window = timedelta(days=(await trigger_config(conn)).attribution_window_days)
    candidate = await repository.attributable(conn, user_id=user_id, plan_id=plan_id, paid_at=paid_at,
                                              window=window, statuses=CONVERTIBLE)
    if candidate is None:
        return None
    earlier = [o for o in await orders_service.orders_of_user(conn, user_id)
               if o.plan_id == plan_id and o.order_id != order_id and candidate.created_at <= o.paid_at <= paid_at]
    if earlier:
        return None
    return await convert_from_payment(conn, upsell_id=candidate.id, user_id=user_id, payment_id=payment_id,
                                      order_id=order_id, plan_id=plan_id, amount=amount, paid_at=paid_at, now=now,
                                      attribution="WINDOW")


# --- recommendations ---------------------------------------------------------------------------------

async def recommendations(conn: AsyncConnection, principal: Principal, *, user_id: UUID, user_type: str | None,
                          now: datetime) -> Recommendations:
    """GET /upsells/recommendations/{user_id}: the plans above the user's current one, ranked (plans raising a
    quota the user has used 80% or more of first, then by tier and price), each with the reason, price and
    gains, and whether gating allows showing one now (IN_APP_BANNER) and why not. A CUSTOMER: their own only."""
    if not (principal.has(*UPSELLS_ORG_WIDE) or (principal.has(Role.CUSTOMER) and user_id == principal.sub)
            or await _sells_to(conn, principal, user_id)):
        raise CustomerNotFound(f"customer {user_id} not found")
    live = await orders_service.active_orders_for(conn, user_id, now)
    types = [user_type] if user_type else sorted({o.user_type.value for o in live}) or ["TENANT"]
    usage = await usage_service.usage_for(conn, user_id)
    items: list[tuple[tuple[Any, ...], RecommendationRead]] = []
    for kind in types:
        current = await current_plan(conn, user_id=user_id, user_type=kind, now=now)
        current_facts = facts(current) if current else None
        pressed = {u.quota_name: u.percent for u in usage
                   if current is not None and u.plan_id == current.id and u.percent is not None
                   and u.percent >= rules.QUOTA_THRESHOLD_PERCENT}
        for plan in await catalog_service.plans_on_sale(conn, kind):
            if plan.tier <= (current.tier if current is not None else rules.FREE_TIER):
                continue
            target = facts(plan)
            raised = sorted(q for q in pressed if rules.next_tier_up(current_facts, [target], quota_name=q)
                            is not None) if current_facts else []
            if current_facts is not None:
                gains = [g for g in rules.comparison(current_facts, target)["features"]
                         if g["current"] != g["target"]]
            else:
                gains = [{"name": n, "current": None, "target": v} for n, v in sorted(plan.features.items())]
            reason = (f"QUOTA_THRESHOLD: {', '.join(f'{q} at {pressed[q]}%' for q in raised)} (UPR-002)" if raised
                      else "UPGRADE: next plan up" if current else "UPGRADE: no paid plan held")
            items.append(((0 if raised else 1, plan.tier, plan.price, plan.code), RecommendationRead(
                plan_id=plan.id, code=plan.code, name=plan.name, user_type=plan.user_type, tier=plan.tier,
                price=plan.price, current_plan_id=current.id if current else None, reason=reason, gains=gains)))
    gate = await gate_for(conn, user_id=user_id, channel=UpsellChannel.IN_APP_BANNER, now=now)
    return Recommendations(
        user_id=user_id, as_of=now,
        items=[item for _, item in sorted(items, key=lambda pair: pair[0])],
        gate=GateRead(allowed=gate.allowed, channel=gate.channel, blocking_rules=gate.blocking,
                      rules=[r.as_dict() for r in gate.results]))


# --- funnel ------------------------------------------------------------------------------------------

FUNNEL_DEFAULT_DAYS = 30


def _group(key: str | None, created: int, presented: int, clicked: int, converted: int, dismissed: int,
           expired: int, revenue: Decimal) -> FunnelGroup:
    return FunnelGroup(key=key, created=created, presented=presented, clicked=clicked, converted=converted,
                       dismissed=dismissed, expired=expired, presentation_rate=rules.rate(presented, created),
                       click_rate=rules.rate(clicked, presented), conversion_rate=rules.rate(converted, presented),
                       revenue=Decimal(revenue).quantize(Decimal("0.01")))


async def funnel(conn: AsyncConnection, *, since: datetime | None, until: datetime | None, group_by: str | None,
                 now: datetime) -> Funnel:
    """GET /upsells/funnel: the upsells created in [from, to) (default: the 30 days up to now) counted through
    the funnel, per group and in total, with rates and revenue (conversion = converted / presented, PRD §9)."""
    until = until or now
    since = since or until - timedelta(days=FUNNEL_DEFAULT_DAYS)
    if since >= until:
        raise InvalidInput.query(("from",), "must be before `to`")
    rows = await repository.funnel(conn, since=since, until=until, group_by=group_by)
    groups = [_group(None if r.key is None else str(r.key), int(r.created), int(r.presented), int(r.clicked),
                     int(r.converted), int(r.dismissed), int(r.expired), Decimal(r.revenue)) for r in rows]
    fields = ("created", "presented", "clicked", "converted", "dismissed", "expired")
    sums = {f: sum(getattr(g, f) for g in groups) for f in fields}
    total = _group("ALL", **sums, revenue=sum((g.revenue for g in groups), Decimal("0")))
    return Funnel(from_=since, to=until, group_by=group_by, groups=groups, total=total)


# --- checkout ----------------------------------------------------------------------------------------

def _checkout(row: Any) -> CheckoutRead:
    return CheckoutRead(payment_request_id=row.payment_request_id, upsell_id=row.id, user_id=row.user_id,
                        plan_id=row.target_plan_id, amount=row.checkout_amount, requested_at=row.checkout_at)


async def checkout(conn: AsyncConnection, principal: Principal, *, upsell_id: UUID,
                   now: datetime) -> tuple[CheckoutRead, bool]:
    """POST /upsells/{id}/checkout (US-SALE-001 one-click upgrade): ask Billing for the payment of the recommended
    plan at its price (sales.payment.requested), once per upsell: a repeat returns the same request (False).
    Only an open upsell (PENDING / PRESENTED / CLICKED) of an active plan; the CUSTOMER who owns it."""
    current = await get_upsell(conn, principal, upsell_id=upsell_id)
    row = await repository.get(conn, upsell_id)
    if row.payment_request_id is not None:
        return _checkout(row), False
    if current.status.value not in rules.OPEN:
        raise UpsellClosed(f"the upsell is {current.status.value}")
    plan = await catalog_service.get_plan_facts(conn, current.target_plan_id)
    if plan is None or not plan.active:
        raise UpsellClosed("the recommended plan is no longer on sale")
    request_id = uuid.uuid4()
    claimed = await repository.claim_checkout(conn, upsell_id, open_=rules.OPEN, values={
        "payment_request_id": request_id, "checkout_amount": plan.price, "checkout_at": now, "updated_at": now})
    if claimed is None:  # a concurrent checkout got there first, or the upsell closed meanwhile
        row = await repository.get(conn, upsell_id)
        if row.payment_request_id is not None:
            return _checkout(row), False
        raise UpsellClosed(f"the upsell is {row.status}")
    result = _checkout(claimed)
    await audit.record(conn, principal, action="upsell.checkout", entity_type="upsell", entity_id=upsell_id,
                       at=now, after=result)
    await outbox.record(conn, type_=PAYMENT_REQUESTED_EVENT, subject=upsell_id, at=now, data={
        "payment_request_id": request_id, "upsell_id": upsell_id, "user_id": result.user_id,
        "plan_id": result.plan_id, "amount": result.amount, "currency": "INR"})
    return result, True


# --- trigger configuration -------------------------------------------------------------------------------

def _config_read(row: Any) -> TriggerConfigRead:
    if row is None:
        return TriggerConfigRead(version=0, **TriggerConfig().model_dump(), updated_by=None, updated_at=None)
    return TriggerConfigRead(version=row.version, **TriggerConfig.model_validate(row.config).model_dump(),
                             updated_by=row.created_by, updated_at=row.created_at)


async def trigger_config(conn: AsyncConnection) -> TriggerConfigRead:
    """The configuration in force: the highest version, or the PRD defaults (version 0)."""
    return _config_read(await repository.latest_config(conn))


async def put_trigger_config(conn: AsyncConnection, principal: Principal, *, data: TriggerConfigWrite,
                             now: datetime) -> TriggerConfigRead:
    """PUT /upsells/triggers: store the configuration as the next version (audited). With `version`, only if
    that is still the version in force (409 otherwise); two concurrent PUTs never both win one version."""
    before = await trigger_config(conn)
    if data.version is not None and data.version != before.version:
        raise TriggerConfigChanged(f"version {before.version} is in force, not {data.version}")
    config = TriggerConfig.model_validate(data.model_dump(exclude={"version"}))
    stored = {**config.model_dump(), "enabled_triggers": sorted(set(config.enabled_triggers))}
    if not await repository.insert_config(conn, {"version": before.version + 1, "config": stored,
                                                 "created_by": principal.sub, "created_at": now}):
        raise TriggerConfigChanged(f"version {before.version + 1} was just stored by someone else")
    after = await trigger_config(conn)
    await audit.record(conn, principal, action="upsell.triggers.updated", entity_type="upsell_trigger_config",
                       entity_id=after.version, at=now, before=before, after=after)
    return after


# --- experiments (issue 16) ------------------------------------------------------------------------------

async def experiment_arms(conn: AsyncConnection, *, experiment_id: UUID, after: datetime | None = None,
                          through: datetime | None = None) -> list[Any]:
    """Per variant, over the experiment's upsells created in (after, through]: exposed (PRESENTED) users, converted
    users, revenue, dismissing and opting-out users."""
    return await repository.experiment_arms(conn, experiment_id=experiment_id, after=after, through=through)


async def experiment_exposures(conn: AsyncConnection, *, experiment_id: UUID, after: datetime | None = None,
                               through: datetime | None = None) -> list[Any]:
    """Per exposed user and variant: first exposure time and whether the user converted."""
    return await repository.experiment_exposures(conn, experiment_id=experiment_id, after=after, through=through)
