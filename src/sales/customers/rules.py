"""Pure rules of the customer context (issue 10 §3): who sees what, which plans are held, activity windows."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from sales.catalog.schemas import PlanRead
from sales.core.auth import Principal, Role
from sales.customers.schemas import ActivePlanRead, QuotaUsageRead
from sales.orders.permissions import ORDERS_ORG_WIDE
from sales.orders.schemas import OrderRead
from sales.usage.schemas import UsageRead

ACTIVITY_WINDOWS = (7, 30)


@dataclass(frozen=True, slots=True)
class Access:
    """What one caller may see of one customer's context."""

    staff: bool              # staff view (internal details); False = the customer's own view
    contact_unmasked: bool   # phone and email in full (ARCHITECTURE §2.2 PII)
    orders: bool             # orders and refunds


def context_access(principal: Principal, *, user_id: UUID, works_with: bool) -> Access | None:
    """Who may read a customer's context (ARCHITECTURE §2.2 scoping, PRD §8.4):
    - an RM with a pipeline (open or closed) with the customer, a SUPERVISOR whose team's RM has one
      (`works_with`): staff view, contacts in full;
    - org-wide readers (SALES_ADMIN, FINANCE_ADMIN, SUPPORT_AGENT, PRODUCT_MANAGER, SERVICE): staff view, contacts
      masked except for SALES_ADMIN; orders only for the org-wide readers of orders (not PRODUCT_MANAGER);
    - the CUSTOMER whose `sub` is the id: their own view, in full;
    - anyone else: None (404, existence not revealed)."""
    own = principal.has(Role.CUSTOMER) and principal.sub == user_id
    if works_with or principal.reads_org_wide:
        return Access(staff=True, contact_unmasked=works_with or own or principal.is_admin,
                      orders=works_with or own or principal.has(*ORDERS_ORG_WIDE))
    if own:
        return Access(staff=False, contact_unmasked=True, orders=True)
    return None


def may_read_pipeline(principal: Principal, *, rm_id: UUID, team_id: UUID | None) -> bool:
    """A pipeline's details (value, probability, source) go to those who may read the pipeline itself: org-wide
    readers, its RM and their supervisor (pipelines.repository.readable)."""
    return principal.reads_org_wide or principal.sub == rm_id or principal.supervises(team_id)


def activity_since(now: datetime, days: int) -> datetime:
    """Start (exclusive) of the window 'last `days` days' ending at `now` (inclusive) on the business clock."""
    return now - timedelta(days=days)


def held_plans(*, live_orders: Sequence[OrderRead], usage: Iterable[UsageRead],
               plans: dict[UUID, PlanRead]) -> list[ActivePlanRead]:
    """The plans a customer holds now, each with its quotas' latest usage (UPR-002 reads the percentages):
    - every live order's plan; a usage measurement belongs to it when it names the same plan and that order
      (or no order): usage of an earlier order of the same plan is stale and left out;
    - a free plan (tier 0) the customer has usage for but no order of, unless they hold a live order of the
      same user type (then they moved off the free plan).
    Live orders keep their order (user type, then payment); free plans follow."""
    usage = list(usage)
    held: list[ActivePlanRead] = []
    for order in live_orders:
        plan = plans.get(order.plan_id)
        if plan is None:
            continue  # cannot happen (orders reference known plans); never fail the whole context on it
        quotas = [_quota(u) for u in usage
                  if u.plan_id == order.plan_id and (u.order_id is None or u.order_id == order.order_id)]
        held.append(ActivePlanRead(order_id=order.order_id, plan_id=plan.id, code=plan.code, name=plan.name,
                                   tier=plan.tier, user_type=plan.user_type, starts_at=order.starts_at,
                                   ends_at=order.ends_at, usage=quotas))
    ordered_types = {order.user_type for order in live_orders}
    free: dict[UUID, list[QuotaUsageRead]] = {}
    for u in usage:
        plan = plans.get(u.plan_id)
        if plan is not None and plan.tier == 0 and u.order_id is None and plan.user_type not in ordered_types:
            free.setdefault(plan.id, []).append(_quota(u))
    for plan_id in sorted(free, key=lambda p: (plans[p].user_type.value, plans[p].code)):
        plan = plans[plan_id]
        held.append(ActivePlanRead(order_id=None, plan_id=plan.id, code=plan.code, name=plan.name, tier=plan.tier,
                                   user_type=plan.user_type, starts_at=None, ends_at=None, usage=free[plan_id]))
    return held


def _quota(u: UsageRead) -> QuotaUsageRead:
    return QuotaUsageRead(quota_name=u.quota_name, quota=u.quota, used=u.used, percent=u.percent, at=u.at)
