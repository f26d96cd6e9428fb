from typing import Annotated

from fastapi import Depends

from sales.core.auth import Principal, Role
from sales.core.http import require

_STAFF = (Role.RM, Role.SUPERVISOR, Role.SALES_ADMIN, Role.FINANCE_ADMIN, Role.SUPPORT_AGENT,
          Role.PRODUCT_MANAGER, Role.SERVICE)

DirectoryRead = Annotated[Principal, Depends(require(*_STAFF))]
DirectoryAdmin = Annotated[Principal, Depends(require(Role.SALES_ADMIN))]
# The RM themself or their supervisor; the service checks which RM.
AvailabilityWrite = Annotated[Principal, Depends(require(Role.RM, Role.SUPERVISOR, Role.SALES_ADMIN))]
