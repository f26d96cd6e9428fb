from typing import Annotated

from fastapi import Depends

from sales.core.auth import Principal, Role
from sales.core.http import require

# Plans are made, re-planned and given outcomes by whoever works the pipeline (its RM, their supervisor, admins);
# reads also by the org-wide readers of pipelines. Scope: the pipeline's (out of scope: 404).
VisitPlansWrite = Annotated[Principal, Depends(require(Role.RM, Role.SUPERVISOR, Role.SALES_ADMIN))]
VisitPlansRead = Annotated[Principal, Depends(require(Role.RM, Role.SUPERVISOR, Role.SALES_ADMIN, Role.SUPPORT_AGENT,
                                                      Role.PRODUCT_MANAGER, Role.FINANCE_ADMIN, Role.SERVICE))]
