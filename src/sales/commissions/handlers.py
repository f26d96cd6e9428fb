"""How events reach the commission ledger: through the in-process hooks of the domains that record the facts,
so the ledger reads them as recorded. A sale: `order.recorded` (an order with an RM, after the orders domain
stored it) and `pipeline.stage_changed` (a CLOSED_WON deal). A refund (CMR-002): `order.refunded`, emitted by
the orders domain once per refund id after `billing.refund.completed` is applied to the order, so the refunded
share and the RM's revenue (targets' definition) already count it. A refund the orders domain parks (above the
order amount, mismatching) therefore claws nothing back.

The event registry imports every domain's `handlers` module in the processes that consume events: importing
the service here subscribes those hooks there. There is no handler of the ledger's own."""
from __future__ import annotations

from sales.commissions import service  # noqa: F401  (registers the ledger's hooks)
