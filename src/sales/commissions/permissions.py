from typing import Annotated

from fastapi import Depends

from sales.core.auth import Principal, Role
from sales.core.http import require

# Plans are written by FINANCE_ADMIN and SALES_ADMIN and readable by staff (US-SALE-041 "structure visibility").
PlansWrite = Annotated[Principal, Depends(require(Role.FINANCE_ADMIN, Role.SALES_ADMIN))]
PlansRead = Annotated[Principal, Depends(require(Role.RM, Role.SUPERVISOR, Role.FINANCE_ADMIN, Role.SALES_ADMIN,
                                                 Role.SUPPORT_AGENT, Role.PRODUCT_MANAGER))]
# Lines: an RM their own, a SUPERVISOR their teams', FINANCE_ADMIN / SALES_ADMIN all (repository.readable).
LinesRead = Annotated[Principal, Depends(require(Role.RM, Role.SUPERVISOR, Role.FINANCE_ADMIN, Role.SALES_ADMIN))]
# Approvals, dispute resolution and payouts are finance's (US-SALE-042).
Finance = Annotated[Principal, Depends(require(Role.FINANCE_ADMIN))]
# CMR-006: the RM who earned the line (a SUPERVISOR earns commissions too).
Disputer = Annotated[Principal, Depends(require(Role.RM, Role.SUPERVISOR))]
