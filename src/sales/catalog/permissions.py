from typing import Annotated

from fastapi import Depends

from sales.core.auth import Principal, Role
from sales.core.http import require

STAFF = (Role.RM, Role.SUPERVISOR, Role.SALES_ADMIN, Role.FINANCE_ADMIN, Role.SUPPORT_AGENT,
         Role.PRODUCT_MANAGER, Role.SERVICE)

# Every staff role reads the whole catalogue; a CUSTOMER reads the active plans (repository.readable).
PlansRead = Annotated[Principal, Depends(require(*STAFF, Role.CUSTOMER))]
# SALES_ADMIN maintains the catalogue; SERVICE (Entitlements) may write it too, for backfill.
PlansWrite = Annotated[Principal, Depends(require(Role.SALES_ADMIN, Role.SERVICE))]
