"""Row scoping in one place (ARCHITECTURE.md §2.2): what a principal may read of RM-owned records."""
from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, or_, true

from sales.core.auth import Principal, Role


def owned_or_supervised(principal: Principal, *, owner: Any, team: Any) -> ColumnElement[bool]:
    """Org-wide roles read everything; a SUPERVISOR the records of their teams; an RM (or a supervisor who
    also works leads) their own; anyone else nothing. `owner` is the RM id column, `team` the RM's team."""
    if principal.reads_org_wide:
        return true()
    clauses = []
    if principal.supervised_teams:
        clauses.append(team.in_(principal.supervised_teams))
    if principal.has(Role.RM, Role.SUPERVISOR):
        clauses.append(owner == principal.sub)
    return or_(*clauses) if clauses else false()
