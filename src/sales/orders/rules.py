"""Pure order rules: period, transaction type (PRD §3.2.5), status after refunds, expiry and backfill."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from uuid import UUID

from sales.orders.enums import BackfillStatus, OrderStatus, TransactionType
from sales.orders.errors import OrderRefunded, RefundExceedsAmount

# A plan bought again within this long after its previous period ended is a renewal, not a new sale.
RENEWAL_GRACE = timedelta(days=30)
# Orders whose plan the user holds (or held): refunded and cancelled ones never count.
HELD = frozenset({OrderStatus.ACTIVE, OrderStatus.PARTIALLY_REFUNDED, OrderStatus.EXPIRED})
LIVE = frozenset({OrderStatus.ACTIVE, OrderStatus.PARTIALLY_REFUNDED})


def period(paid_at: datetime, duration_days: int) -> tuple[datetime, datetime]:
    """An order runs from its payment for the plan's duration: starts_at = paid_at, ends_at = + duration."""
    return paid_at, paid_at + timedelta(days=duration_days)


@dataclass(frozen=True, slots=True)
class HeldOrder:
    """One of the user's other orders, with its plan's user type and tier."""

    plan_id: UUID
    user_type: str
    tier: int
    status: OrderStatus
    starts_at: datetime
    ends_at: datetime


def transaction_type(*, plan_id: UUID, user_type: str, tier: int, paid_at: datetime, held: Sequence[HeldOrder],
                     explicit: TransactionType | None = None) -> TransactionType:
    """PRD §3.2.5. Billing's own classification wins when given. Otherwise, among the user's orders of the same
    user type: the same plan live at payment (or ended at most RENEWAL_GRACE before it) -> SUBSCRIPTION_RENEWAL;
    a lower-tier plan live at payment -> SUBSCRIPTION_UPGRADE; else SUBSCRIPTION_NEW (a free plan held without
    an order, a downgrade and a first purchase are all new sales)."""
    if explicit is not None:
        return explicit
    mine = [h for h in held if h.user_type == user_type and h.status in HELD and h.starts_at <= paid_at]
    if any(h.plan_id == plan_id and paid_at <= h.ends_at + RENEWAL_GRACE for h in mine):
        return TransactionType.SUBSCRIPTION_RENEWAL
    if any(h.tier < tier and h.status in LIVE and paid_at < h.ends_at for h in mine):
        return TransactionType.SUBSCRIPTION_UPGRADE
    return TransactionType.SUBSCRIPTION_NEW


def refunded_total(*, amount: Decimal, refunded: Decimal, refund: Decimal) -> Decimal:
    """Refunds add up to at most the order amount; a refund taking the total above it is refused."""
    total = refunded + refund
    if total > amount:
        raise RefundExceedsAmount(f"refunds would total {total:f}, above the order amount {amount:f}")
    return total


def live_status(*, amount: Decimal, refunded: Decimal) -> OrderStatus:
    if refunded <= 0:
        return OrderStatus.ACTIVE
    return OrderStatus.REFUNDED if refunded >= amount else OrderStatus.PARTIALLY_REFUNDED


def status_after_refund(current: OrderStatus, *, amount: Decimal, refunded: Decimal) -> OrderStatus:
    """Fully refunded -> REFUNDED whatever the status. A partial refund marks a live order PARTIALLY_REFUNDED;
    an expired or cancelled one keeps its status (refunded_amount records the refund)."""
    if refunded >= amount:
        return OrderStatus.REFUNDED
    if current in LIVE:
        return live_status(amount=amount, refunded=refunded)
    return current


def status_after_expiry(current: OrderStatus) -> OrderStatus:
    """A live order expires; a refunded or cancelled one never comes back as EXPIRED."""
    return OrderStatus.EXPIRED if current in LIVE else current


def status_after_backfill(current: OrderStatus | None, requested: BackfillStatus | None, *, amount: Decimal,
                          refunded: Decimal) -> OrderStatus:
    """The status a backfill (PUT) leaves. ACTIVE means "live": shown as PARTIALLY_REFUNDED or REFUNDED when
    refunds were received, so re-sending an order's original facts never undoes its refunds. Nothing asked:
    a new or live order stays live, an expired or cancelled one keeps its status. A fully refunded order is
    never made EXPIRED or CANCELLED."""
    if requested is None:
        live = current is None or current in (OrderStatus.ACTIVE, OrderStatus.PARTIALLY_REFUNDED,
                                              OrderStatus.REFUNDED)
        requested = BackfillStatus.ACTIVE if live else BackfillStatus(current.value)  # type: ignore[union-attr]
    if requested == BackfillStatus.ACTIVE:
        return live_status(amount=amount, refunded=refunded)
    if refunded > 0 and refunded >= amount:
        raise OrderRefunded(f"the order is fully refunded; it cannot become {requested.value}")
    return OrderStatus(requested.value)
