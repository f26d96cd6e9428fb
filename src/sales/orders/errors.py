from uuid import UUID

from sales.core.errors import Conflict, NotFound, SalesError


class OrderNotFound(NotFound):
    code, title = "order_not_found", "Order not found"


class UnknownOrder(SalesError):
    """A payload names an order this service has not seen (yet). 422 on the API; a consumed event retries
    (its order's payment event may arrive later), so this is deliberately not an InvalidInput."""

    status_code, code, title = 422, "unknown_order", "Unknown order"

    def __init__(self, order_id: UUID, *, loc: tuple[str | int, ...] = ("order_id",)) -> None:
        super().__init__(f"unknown order {order_id}",
                         extra={"errors": [{"loc": ["body", *loc], "msg": f"unknown order {order_id}"}]})


class RefundExceedsAmount(Conflict):
    code, title = "refund_exceeds_amount", "Refunds above the order amount"


class RefundMismatch(Conflict):
    code, title = "refund_mismatch", "Refund already recorded with other facts"


class OrderMismatch(Conflict):
    code, title = "order_mismatch", "Event does not match the order"


class OrderAmountBelowRefunds(Conflict):
    code, title = "order_amount_below_refunds", "Order amount below what was refunded"


class OrderRefunded(Conflict):
    code, title = "order_refunded", "Order is fully refunded"


class OrderChangedConcurrently(Conflict):
    code, title = "order_changed_concurrently", "Order changed concurrently; retry"
