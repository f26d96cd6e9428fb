"""billing.refund.completed on refund requests (issue 12): the money went back, the request is COMPLETED.

Runs after the orders handler of the same event (module order), which adds the refund to its order. Billing's
contract (PRD §5.4, ARCHITECTURE §2.5) has no failure event: a refund Billing could not make is not announced,
so nothing here moves a request to FAILED."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.events.payloads import object_data
from sales.events.registry import ConsumedEvent, Unprocessable, handles
from sales.orders.schemas import RefundCompleted
from sales.refunds import service
from sales.refunds.errors import RefundNotPending


@handles("billing.refund.completed")
async def refund_completed(conn: AsyncConnection, event: ConsumedEvent) -> None:
    """The PROCESSING request named by `refund_id` -> COMPLETED with `sales.refund.processed` and the customer
    told; the same refund again changes nothing. A refund Billing made without a request here (unknown id) is
    the orders handler's only; one naming a request of another order, or one never sent to Billing, is parked."""
    data = RefundCompleted.model_validate(object_data(event))
    try:
        await service.complete(conn, refund=data, now=event.now)
    except RefundNotPending as exc:
        raise Unprocessable(exc.detail) from exc
