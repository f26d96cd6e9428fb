from typing import Annotated

from fastapi import Depends

from sales.core.auth import Principal, Role
from sales.core.http import require

UsageWrite = Annotated[Principal, Depends(require(Role.SERVICE, Role.SALES_ADMIN))]
