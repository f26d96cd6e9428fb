from typing import Annotated

from fastapi import Depends

from sales.core.auth import Principal, Role
from sales.core.http import require

# An RM sees and works their own tasks, a SUPERVISOR their teams', SALES_ADMIN all (scope in the repository).
TasksAccess = Annotated[Principal, Depends(require(Role.RM, Role.SUPERVISOR, Role.SALES_ADMIN))]
