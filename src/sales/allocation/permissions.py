from typing import Annotated

from fastapi import Depends

from sales.core.auth import Principal, Role
from sales.core.http import require

AllocationsCreate = Annotated[Principal, Depends(require(Role.SERVICE, Role.SUPERVISOR, Role.SALES_ADMIN))]
AllocationsRead = Annotated[Principal, Depends(require(
    Role.RM, Role.SUPERVISOR, Role.SALES_ADMIN, Role.FINANCE_ADMIN, Role.SUPPORT_AGENT, Role.PRODUCT_MANAGER,
    Role.SERVICE))]
AllocationsRespond = Annotated[Principal, Depends(require(Role.RM))]
AllocationsManage = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.SALES_ADMIN))]
WorkloadRead = Annotated[Principal, Depends(require(Role.SUPERVISOR, Role.SALES_ADMIN, Role.PRODUCT_MANAGER))]
RulesAdmin = Annotated[Principal, Depends(require(Role.SALES_ADMIN))]
