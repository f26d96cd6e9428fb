"""The only place refund SQL lives."""
from __future__ import annotations

from sqlalchemy import ColumnElement, false, true

from sales.core.auth import Principal, Role
from sales.orders.models import orders
from sales.refunds.permissions import REFUNDS_ORG_WIDE


def readable(principal: Principal) -> ColumnElement[bool]:
    """Orders whose refunds the caller may see: every order for refund staff, a CUSTOMER's own (user_id = sub)."""
    if principal.has(*REFUNDS_ORG_WIDE):
        return true()
    if principal.has(Role.CUSTOMER):
        return orders.c.user_id == principal.sub
    return false()
