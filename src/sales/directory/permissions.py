from typing import Annotated
from uuid import UUID

from fastapi import Depends

from sales.core.auth import Principal, Role
from sales.core.http import require

_STAFF = (Role.RM, Role.SUPERVISOR, Role.SALES_ADMIN, Role.FINANCE_ADMIN, Role.SUPPORT_AGENT,
          Role.PRODUCT_MANAGER, Role.SERVICE)

DirectoryRead = Annotated[Principal, Depends(require(*_STAFF))]
DirectoryAdmin = Annotated[Principal, Depends(require(Role.SALES_ADMIN))]
# The RM themself or their supervisor; the service checks which RM.
AvailabilityWrite = Annotated[Principal, Depends(require(Role.RM, Role.SUPERVISOR, Role.SALES_ADMIN))]


def manages_rm(principal: Principal, *, rm_id: UUID, team_id: UUID | None) -> bool:
    """The RM themself, their team's supervisor or SALES_ADMIN: they see and change the RM's whole record."""
    return principal.is_admin or principal.sub == rm_id or principal.supervises(team_id)


def sees_rm_salary(principal: Principal, *, rm_id: UUID, team_id: UUID | None) -> bool:
    """Whoever manages the RM, and FINANCE_ADMIN: commissions are capped at 3x base salary (CMR-005)."""
    return manages_rm(principal, rm_id=rm_id, team_id=team_id) or principal.has(Role.FINANCE_ADMIN)
