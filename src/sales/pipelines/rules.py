"""Pure pipeline rules: stage machine, default probabilities, SLA deadline. No I/O."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

from sales.core.auth import Role
from sales.core.errors import InvalidInput
from sales.pipelines.enums import Outcome, Stage
from sales.pipelines.errors import PipelineClosed, StageChangeNotAllowed

DEFAULT_PROBABILITY: dict[Stage, int] = {
    Stage.NEW: 20,
    Stage.CONTACTED: 30,
    Stage.REQUIREMENTS_CAPTURED: 40,
    Stage.SHORTLIST_SENT: 50,
    Stage.VISIT_SCHEDULED: 60,
    Stage.VISIT_COMPLETED: 70,
    Stage.NEGOTIATION: 80,
    Stage.AGREEMENT_PENDING: 90,
    Stage.CLOSED_WON: 100,
    Stage.CLOSED_LOST: 0,
}

FIRST_ACTION_SLA = timedelta(hours=2)  # LAR-006: first action within two hours
SUPERVISING_ROLES = frozenset({Role.SUPERVISOR, Role.SALES_ADMIN})


def sla_deadline(created_at: datetime, sla: timedelta = FIRST_ACTION_SLA) -> datetime:
    """LAR-006: a new pipeline must see its first action within the SLA (2 h by default)."""
    return created_at + sla


def outcome_for(stage: Stage) -> Outcome:
    return {Stage.CLOSED_WON: Outcome.WON, Stage.CLOSED_LOST: Outcome.LOST}.get(stage, Outcome.PENDING)


def check_stage_change(current: Stage, target: Stage, *, actor_roles: frozenset[Role], reason: str | None,
                       loss_reason: str | None, deal_value: Decimal | None) -> None:
    """Forward moves (skipping allowed) for whoever works the pipeline; backward moves need a supervisor
    and a reason; CLOSED_LOST needs a loss reason; CLOSED_WON needs a deal value; closed is final."""
    if current.is_closed:
        raise PipelineClosed(f"pipeline is closed at {current}; its stage can no longer change")
    if target == current:
        raise StageChangeNotAllowed(f"pipeline is already at {current}")
    if target.order < current.order:
        if actor_roles.isdisjoint(SUPERVISING_ROLES):
            raise StageChangeNotAllowed(f"moving back from {current} to {target} needs a supervisor")
        if not (reason and reason.strip()):
            raise InvalidInput(("reason",), "a reason is required to move a pipeline back")
    if target is Stage.CLOSED_LOST and not (loss_reason and loss_reason.strip()):
        raise InvalidInput(("loss_reason",), "loss_reason is required to close a pipeline as lost")
    if target is Stage.CLOSED_WON and deal_value is None:
        raise InvalidInput(("deal_value",), "deal_value is required to close a pipeline as won")


def should_advance(current: Stage, target: Stage) -> bool:
    """Consumed events (lead qualified, visit completed) only move an open pipeline forward, never back."""
    return not current.is_closed and current.order < target.order
