"""Consumed events of the commission ledger (CMR-002).

Sales themselves reach the ledger through the `order.recorded` hook (commissions.service): this module's
handlers run before `sales.orders.handlers` (handlers of one event run in module order), when the order of a
new payment is not recorded yet; the hook runs right after the orders domain records it, in the same
transaction. A refund needs no order row: the order id is the sale's transaction id."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.commissions import service
from sales.events.payloads import object_data
from sales.events.registry import ConsumedEvent, handles
from sales.orders.schemas import RefundCompleted


@handles("billing.refund.completed")
async def claw_back_refunded_sale(conn: AsyncConnection, event: ConsumedEvent) -> None:
    """CMR-002: a refund completed within 45 days of the sale claws its commission back."""
    data = RefundCompleted.model_validate(object_data(event))
    await service.claw_back(conn, transaction_id=data.order_id, at=data.completed_at,
                            reason=f"refund {data.refund_id} of {data.amount:f} completed", now=event.now)
