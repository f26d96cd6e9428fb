from typing import Annotated

from fastapi import Depends

from sales.core.auth import Principal, Role
from sales.core.http import require

# The pipeline's RM, their SUPERVISOR and SALES_ADMIN (scope: pipelines.repository.readable -> 404); others 403.
JourneyWork = Annotated[Principal, Depends(require(Role.RM, Role.SUPERVISOR, Role.SALES_ADMIN))]
