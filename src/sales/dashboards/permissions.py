from typing import Annotated

from fastapi import Depends

from sales.core.auth import Principal, Role
from sales.core.http import require

# Dashboards: SALES_ADMIN everything; a SUPERVISOR their teams (and their RMs); an RM their own dashboard. Others
# 403; an RM or team outside the caller's reach is 404.
DashboardRead = Annotated[Principal, Depends(require(Role.SALES_ADMIN, Role.SUPERVISOR, Role.RM))]
# Team and city dashboards: SALES_ADMIN any; a SUPERVISOR their teams and their teams' cities.
DashboardManage = Annotated[Principal, Depends(require(Role.SALES_ADMIN, Role.SUPERVISOR))]
