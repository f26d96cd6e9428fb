from typing import Annotated

from fastapi import Depends

from sales.core.auth import Principal, Role
from sales.core.http import require

# The apps' backend (SERVICE) and the CUSTOMER themself (their own user_id) ask for or leave assisted mode;
# SUPPORT_AGENT and SALES_ADMIN on a user's behalf; an RM or SUPERVISOR hands a customer of theirs back to
# self-service (scope checked by the service).
HandoffsCreate = Annotated[Principal, Depends(require(Role.SERVICE, Role.CUSTOMER, Role.SUPPORT_AGENT,
                                                      Role.SALES_ADMIN, Role.RM, Role.SUPERVISOR))]
