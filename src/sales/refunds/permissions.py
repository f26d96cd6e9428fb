from typing import Annotated

from fastapi import Depends

from sales.core.auth import Principal, Role
from sales.core.http import require

# Staff who handle refunds read every order's eligibility: the approvers (SUPPORT_AGENT, and SUPERVISOR /
# SALES_ADMIN as managers, RFR-003/004) and FINANCE_ADMIN. A CUSTOMER reads their own orders' only
# (repository.readable). RM, PRODUCT_MANAGER and SERVICE have no part in refund decisions: 403.
REFUNDS_ORG_WIDE = (Role.SUPPORT_AGENT, Role.SUPERVISOR, Role.SALES_ADMIN, Role.FINANCE_ADMIN)

EligibilityRead = Annotated[Principal, Depends(require(*REFUNDS_ORG_WIDE, Role.CUSTOMER))]
# The customer who owns the order, or a SUPPORT_AGENT on their behalf (issue 12).
RefundRequest = Annotated[Principal, Depends(require(Role.CUSTOMER, Role.SUPPORT_AGENT))]
