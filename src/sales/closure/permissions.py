from typing import Annotated

from fastapi import Depends

from sales.core.auth import Principal, Role
from sales.core.http import require

# Whoever works the pipeline (its RM, their supervisor, SALES_ADMIN) keeps its checklist and documents; scope is
# the pipeline's (out of scope: 404). Read-only org roles may read the checklist.
ClosureWrite = Annotated[Principal, Depends(require(Role.RM, Role.SUPERVISOR, Role.SALES_ADMIN))]
ClosureRead = Annotated[Principal, Depends(require(Role.RM, Role.SUPERVISOR, Role.SALES_ADMIN, Role.FINANCE_ADMIN,
                                                   Role.SUPPORT_AGENT))]
