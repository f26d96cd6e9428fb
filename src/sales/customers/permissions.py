from typing import Annotated

from fastapi import Depends

from sales.core.auth import Principal, Role
from sales.core.http import require

# Backfill of the read models: the owning domains' machine clients, or a SALES_ADMIN.
ContextWrite = Annotated[Principal, Depends(require(Role.SERVICE, Role.SALES_ADMIN))]

# The customer context: every role may ask; rules.context_access scopes the answer (out of scope = 404).
ContextRead = Annotated[Principal, Depends(require(*Role))]
