from typing import Annotated

from fastapi import Depends

from sales.core.auth import Principal, Role
from sales.core.http import require

# Every experiment route (issue 16): product managers and sales admins; experiments are org-wide records.
ExperimentsManage = Annotated[Principal, Depends(require(Role.PRODUCT_MANAGER, Role.SALES_ADMIN))]
