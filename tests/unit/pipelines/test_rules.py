"""Stage machine, default probabilities, outcome mapping and SLA deadline (pure rules, no database)."""
from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sales.core.auth import Role
from sales.core.errors import InvalidInput
from sales.pipelines import rules
from sales.pipelines.enums import Outcome, Stage
from sales.pipelines.errors import PipelineClosed, StageChangeNotAllowed

OPEN = [s for s in Stage if not s.is_closed]
CLOSED = [Stage.CLOSED_WON, Stage.CLOSED_LOST]
RM = frozenset({Role.RM})
SUPERVISOR = frozenset({Role.SUPERVISOR})
ADMIN = frozenset({Role.SALES_ADMIN})
VALUE = Decimal("25000.00")


def _check(current: Stage, target: Stage, roles: frozenset[Role] = RM, *, reason: str | None = None,
           loss_reason: str | None = "budget", deal_value: Decimal | None = VALUE) -> None:
    rules.check_stage_change(current, target, actor_roles=roles, reason=reason, loss_reason=loss_reason,
                             deal_value=deal_value)


def _pairs(predicate):  # type: ignore[no-untyped-def]
    return [pytest.param(a, b, id=f"{a}->{b}") for a, b in itertools.product(Stage, Stage) if predicate(a, b)]


FORWARD = _pairs(lambda a, b: not a.is_closed and b.order > a.order)
BACKWARD = _pairs(lambda a, b: not a.is_closed and b.order < a.order)
FROM_CLOSED = _pairs(lambda a, b: a.is_closed)


def test_stage_order_follows_the_prd_funnel():
    assert [s.order for s in OPEN] == list(range(8))
    assert Stage.CLOSED_WON.order == Stage.CLOSED_LOST.order == 8


@pytest.mark.parametrize(("current", "target"), FORWARD)
@pytest.mark.parametrize("roles", [RM, SUPERVISOR, ADMIN], ids=["RM", "SUPERVISOR", "SALES_ADMIN"])
def test_forward_moves_and_skips_are_allowed_for_everyone_who_works_the_pipeline(current, target, roles):
    _check(current, target, roles)


@pytest.mark.parametrize(("current", "target"), BACKWARD)
def test_rm_may_not_move_back(current, target):
    with pytest.raises(StageChangeNotAllowed) as caught:
        _check(current, target, RM, reason="customer went quiet")
    assert caught.value.status_code == 409 and caught.value.code == "stage_change_not_allowed"


@pytest.mark.parametrize(("current", "target"), BACKWARD)
@pytest.mark.parametrize("roles", [SUPERVISOR, ADMIN], ids=["SUPERVISOR", "SALES_ADMIN"])
def test_supervisor_and_admin_move_back_with_a_reason(current, target, roles):
    _check(current, target, roles, reason="visit cancelled by customer")


@pytest.mark.parametrize(("current", "target"), BACKWARD)
@pytest.mark.parametrize("reason", [None, "", "   "], ids=["missing", "empty", "blank"])
def test_moving_back_without_a_reason_is_invalid(current, target, reason):
    with pytest.raises(InvalidInput) as caught:
        _check(current, target, SUPERVISOR, reason=reason)
    assert caught.value.status_code == 422
    assert caught.value.extra["errors"][0]["loc"] == ["body", "reason"]


@pytest.mark.parametrize("stage", OPEN)
def test_staying_on_the_same_stage_is_not_a_change(stage):
    with pytest.raises(StageChangeNotAllowed):
        _check(stage, stage, ADMIN, reason="again")


@pytest.mark.parametrize(("current", "target"), FROM_CLOSED)
@pytest.mark.parametrize("roles", [RM, SUPERVISOR, ADMIN], ids=["RM", "SUPERVISOR", "SALES_ADMIN"])
def test_closed_pipelines_are_final(current, target, roles):
    with pytest.raises(PipelineClosed) as caught:
        _check(current, target, roles, reason="reopen")
    assert caught.value.status_code == 409 and caught.value.code == "pipeline_closed"


@pytest.mark.parametrize("current", OPEN)
@pytest.mark.parametrize("loss_reason", [None, "", "  "], ids=["missing", "empty", "blank"])
def test_closed_lost_needs_a_loss_reason(current, loss_reason):
    with pytest.raises(InvalidInput) as caught:
        _check(current, Stage.CLOSED_LOST, loss_reason=loss_reason)
    assert caught.value.extra["errors"][0]["loc"] == ["body", "loss_reason"]


@pytest.mark.parametrize("current", OPEN)
def test_closed_won_needs_a_deal_value(current):
    with pytest.raises(InvalidInput) as caught:
        _check(current, Stage.CLOSED_WON, deal_value=None)
    assert caught.value.extra["errors"][0]["loc"] == ["body", "deal_value"]


def test_closed_won_accepts_a_zero_deal_value():
    _check(Stage.NEGOTIATION, Stage.CLOSED_WON, deal_value=Decimal("0.00"))


@pytest.mark.parametrize(("stage", "probability"), [
    (Stage.NEW, 20), (Stage.CONTACTED, 30), (Stage.REQUIREMENTS_CAPTURED, 40), (Stage.SHORTLIST_SENT, 50),
    (Stage.VISIT_SCHEDULED, 60), (Stage.VISIT_COMPLETED, 70), (Stage.NEGOTIATION, 80),
    (Stage.AGREEMENT_PENDING, 90), (Stage.CLOSED_WON, 100), (Stage.CLOSED_LOST, 0),
])
def test_default_probability_per_stage(stage, probability):
    assert rules.DEFAULT_PROBABILITY[stage] == probability


def test_default_probabilities_rise_along_the_open_funnel():
    values = [rules.DEFAULT_PROBABILITY[s] for s in OPEN]
    assert values == sorted(values) and len(set(values)) == len(values)
    assert all(0 < v < 100 for v in values)


@pytest.mark.parametrize(("stage", "outcome"), [
    *[(s, Outcome.PENDING) for s in OPEN], (Stage.CLOSED_WON, Outcome.WON), (Stage.CLOSED_LOST, Outcome.LOST),
])
def test_outcome_for_stage(stage, outcome):
    assert rules.outcome_for(stage) is outcome


def test_lar_006_sla_deadline_is_two_hours_after_creation():
    created = datetime(2026, 1, 17, 10, 30, tzinfo=UTC)
    assert rules.sla_deadline(created) == datetime(2026, 1, 17, 12, 30, tzinfo=UTC)
    assert rules.sla_deadline(created, timedelta(minutes=30)) == datetime(2026, 1, 17, 11, 0, tzinfo=UTC)
