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
# A refund's approvers (RFR-003/004): a SUPPORT_AGENT from Rs. 500 to Rs. 5,000, a manager anything.
MANAGERS = (Role.SUPERVISOR, Role.SALES_ADMIN)
RefundDecide = Annotated[Principal, Depends(require(Role.SUPPORT_AGENT, *MANAGERS))]
# GET /refunds, /refunds/{id}: refund staff all, a CUSTOMER their own (others' are 404).
RefundsRead = Annotated[Principal, Depends(require(*REFUNDS_ORG_WIDE, Role.CUSTOMER))]
# POST /refunds/{id}/evidence: the customer who filed the claim (scope: their own) or refund staff.
RefundEvidence = Annotated[Principal, Depends(require(Role.CUSTOMER, Role.SUPPORT_AGENT, *MANAGERS))]
# GET /guarantees: refund staff; PUT: SALES_ADMIN (issue 12).
GuaranteesRead = Annotated[Principal, Depends(require(*REFUNDS_ORG_WIDE))]
GuaranteesWrite = Annotated[Principal, Depends(require(Role.SALES_ADMIN))]
