from typing import Annotated

from fastapi import Depends

from sales.core.auth import Principal, Role
from sales.core.http import require

# Org-wide readers of orders. PRODUCT_MANAGER is not one: product work reads aggregates, not a customer's
# purchases. RM and SUPERVISOR read the orders they (their teams) sold; a CUSTOMER their own
# (repository.readable).
ORDERS_ORG_WIDE = (Role.SALES_ADMIN, Role.FINANCE_ADMIN, Role.SUPPORT_AGENT, Role.SERVICE)

OrdersRead = Annotated[Principal, Depends(require(*ORDERS_ORG_WIDE, Role.RM, Role.SUPERVISOR, Role.CUSTOMER))]
# Billing's backfill (SERVICE) and SALES_ADMIN corrections.
OrdersWrite = Annotated[Principal, Depends(require(Role.SERVICE, Role.SALES_ADMIN))]
