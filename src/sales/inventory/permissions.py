from typing import Annotated

from fastapi import Depends

from sales.core.auth import Principal, Role
from sales.core.http import require

_STAFF = (Role.RM, Role.SUPERVISOR, Role.SALES_ADMIN, Role.FINANCE_ADMIN, Role.SUPPORT_AGENT,
          Role.PRODUCT_MANAGER, Role.SERVICE)

ListingsRead = Annotated[Principal, Depends(require(*_STAFF))]
ListingsWrite = Annotated[Principal, Depends(require(Role.SERVICE, Role.SALES_ADMIN))]
