from typing import Annotated

from fastapi import Depends

from sales.core.auth import Principal, Role
from sales.core.http import require

PipelinesRead = Annotated[Principal, Depends(require(
    Role.RM, Role.SUPERVISOR, Role.SALES_ADMIN, Role.FINANCE_ADMIN, Role.SUPPORT_AGENT, Role.PRODUCT_MANAGER,
    Role.SERVICE))]
PipelinesCreate = Annotated[Principal, Depends(require(Role.RM, Role.SUPERVISOR, Role.SALES_ADMIN, Role.SERVICE))]
PipelinesWrite = Annotated[Principal, Depends(require(Role.RM, Role.SUPERVISOR, Role.SALES_ADMIN))]
