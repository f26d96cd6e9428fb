from typing import Annotated

from fastapi import Depends

from sales.core.auth import Principal, Role
from sales.core.http import require

# POST / PUT /targets: SALES_ADMIN anything; a SUPERVISOR the targets of their teams and their teams' RMs (the
# service checks which).
TargetsWrite = Annotated[Principal, Depends(require(Role.SALES_ADMIN, Role.SUPERVISOR))]
# Reads: SALES_ADMIN and FINANCE_ADMIN everything; a SUPERVISOR their teams; an RM their own targets and their
# team's leaderboard (others 404).
TargetsRead = Annotated[Principal, Depends(require(Role.SALES_ADMIN, Role.FINANCE_ADMIN, Role.SUPERVISOR,
                                                   Role.RM))]
