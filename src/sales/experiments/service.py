"""Upsell experiment use cases (issue 16): lifecycle, assignment, results, conclusion and the staged rollout of
the winner. Never commits."""
from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.core import audit, outbox
from sales.core.auth import Principal
from sales.core.errors import InvalidInput
from sales.core.http import AFTER_TIME_AND_ID, cursor_after
from sales.experiments import assignment, repository, rules, stats
from sales.experiments.enums import ExperimentStatus, Guardrail, RolloutStatus
from sales.experiments.errors import (ConclusionRefused, ExperimentChanged, ExperimentNotDraft, ExperimentNotFound,
                                      InvalidTransition, TriggerBusy)
from sales.experiments.schemas import (ArmRead, AssignmentRead, ComparisonRead, ConcludeRequest, ExperimentCreate,
                                       ExperimentRead, ExperimentUpdate, GuardrailRead, PointRead, ResultsRead,
                                       RolloutRead, variant_dicts)
from sales.upsell import service as upsell_service

ROLLOUT_EVENT = "sales.experiment.rollout_changed"
DRAFT_ONLY = ("trigger", "seed", "variants", "coverage")


def _read(row: Any) -> ExperimentRead:
    data = dict(row._mapping)
    rollout = None
    if row.rollout_status is not None:
        started = row.rollout_stage_started_at
        next_at = (started + timedelta(hours=row.rollout_stage_hours)
                   if row.rollout_status == RolloutStatus.ROLLING_OUT and started is not None else None)
        rollout = RolloutRead(status=row.rollout_status, percent=row.rollout_percent, stage_started_at=started,
                              next_stage_at=next_at)
    for name in ("rollout_status", "rollout_percent", "rollout_stage_started_at"):
        data.pop(name)
    return ExperimentRead.model_validate({**data, "rollout": rollout})


def _check_effect(baseline: float, effect: float) -> None:
    if baseline * (1 + effect) >= 1:
        raise InvalidInput(("minimum_detectable_effect",),
                           "baseline_rate x (1 + minimum_detectable_effect) must stay below 1")


async def _load(conn: AsyncConnection, experiment_id: UUID) -> Any:
    row = await repository.get(conn, experiment_id)
    if row is None:
        raise ExperimentNotFound(f"experiment {experiment_id} not found")
    return row


# --- lifecycle -------------------------------------------------------------------------------------------

async def create_experiment(conn: AsyncConnection, principal: Principal, *, data: ExperimentCreate,
                            now: datetime) -> ExperimentRead:
    """A DRAFT experiment with its minimum sample per variant (power calculation); audited."""
    _check_effect(data.baseline_rate, data.minimum_detectable_effect)
    experiment_id = uuid.uuid4()
    row = await repository.insert(conn, {
        "id": experiment_id, "name": data.name, "hypothesis": data.hypothesis, "trigger": data.trigger,
        "seed": data.seed or str(experiment_id), "variants": variant_dicts(data.variants),
        "coverage": data.coverage, "primary_metric": data.primary_metric.value,
        "guardrails": sorted({g.value for g in data.guardrails}), "baseline_rate": data.baseline_rate,
        "minimum_detectable_effect": data.minimum_detectable_effect,
        "minimum_sample_per_variant": stats.minimum_sample(data.baseline_rate, data.minimum_detectable_effect),
        "rollout_stage_hours": data.rollout_stage_hours, "status": ExperimentStatus.DRAFT.value,
        "rollout_percent": 0, "version": 1, "created_by": principal.sub, "created_at": now, "updated_at": now})
    created = _read(row)
    await audit.record(conn, principal, action="experiment.created", entity_type="upsell_experiment",
                       entity_id=experiment_id, at=now, after=created)
    return created


async def get_experiment(conn: AsyncConnection, *, experiment_id: UUID) -> ExperimentRead:
    return _read(await _load(conn, experiment_id))


async def list_experiments(conn: AsyncConnection, *, status: ExperimentStatus | None, trigger: str | None,
                           limit: int, cursor: list[Any] | None) -> list[ExperimentRead]:
    rows = await repository.list_(conn, status=status.value if status else None, trigger=trigger, limit=limit,
                                  after=cursor_after(cursor, AFTER_TIME_AND_ID))
    return [_read(r) for r in rows]


def cursor_of(experiment: ExperimentRead) -> tuple[datetime, UUID]:
    return experiment.created_at, experiment.id


def _changes(before: Any, data: ExperimentUpdate) -> dict[str, Any]:
    """The stored values the update really changes (a full PUT repeating the current values changes nothing)."""
    given = data.model_dump(exclude_unset=True, exclude={"status", "version"})
    values: dict[str, Any] = {}
    for name, value in given.items():
        if value is None and name != "hypothesis":
            continue
        if name == "variants":
            value = variant_dicts(data.variants or [])
        elif name == "guardrails":
            value = sorted({g.value if hasattr(g, "value") else g for g in value})
        elif hasattr(value, "value"):
            value = value.value
        current = getattr(before, name)
        if name == "variants":  # the JSON column gives weights back as Decimal
            current = [{**v, "weight": float(v["weight"])} for v in current]
        if current != value:
            values[name] = value
    return values


async def update_experiment(conn: AsyncConnection, principal: Principal, *, experiment_id: UUID,
                            data: ExperimentUpdate, now: datetime) -> ExperimentRead:
    """PUT: change the given fields and/or move DRAFT -> RUNNING -> STOPPED; trigger, seed, variants and coverage
    only in DRAFT (409); one experiment drives a trigger at a time (409); audited."""
    before = await _load(conn, experiment_id)
    if data.version is not None and data.version != before.version:
        raise ExperimentChanged(f"the experiment is at version {before.version}, not {data.version}")
    values = _changes(before, data)
    current = ExperimentStatus(before.status)
    if current is not ExperimentStatus.DRAFT and any(name in values for name in DRAFT_ONLY):
        raise ExperimentNotDraft(f"the experiment is {current.value}: "
                                 f"{', '.join(n for n in DRAFT_ONLY if n in values)} change only in DRAFT")
    if "baseline_rate" in values or "minimum_detectable_effect" in values:
        baseline = values.get("baseline_rate", before.baseline_rate)
        effect = values.get("minimum_detectable_effect", before.minimum_detectable_effect)
        _check_effect(baseline, effect)
        values["minimum_sample_per_variant"] = stats.minimum_sample(baseline, effect)
    target = data.status
    if target is not None and target is not current:
        if not rules.can_move(current, target):
            raise InvalidTransition(f"{current.value} -> {target.value} is not allowed"
                                    + (" (conclude with POST .../conclude)" if target is ExperimentStatus.CONCLUDED
                                       else ""))
        values["status"] = target.value
        values["started_at" if target is ExperimentStatus.RUNNING else "ended_at"] = now
    if not values:
        return _read(before)
    row, taken = await repository.change(conn, experiment_id, version=before.version,
                                         values={**values, "updated_at": now}, where=None)
    if taken:
        raise TriggerBusy(f"another experiment is running (or rolling out its winner) on trigger "
                          f"{values.get('trigger', before.trigger)}")
    if row is None:
        raise ExperimentChanged("the experiment was changed meanwhile; read it and try again")
    after = _read(row)
    action = {"RUNNING": "experiment.started", "STOPPED": "experiment.stopped"}.get(values.get("status", ""),
                                                                                  "experiment.updated")
    await audit.record(conn, principal, action=action, entity_type="upsell_experiment", entity_id=experiment_id,
                       at=now, before=_read(before), after=after)
    return after


# --- assignment ------------------------------------------------------------------------------------------

async def get_assignment(conn: AsyncConnection, *, experiment_id: UUID, user_id: UUID) -> AssignmentRead:
    """The user's variant by GrowthBook's hash and bucket ranges (deterministic: no state, same in every process),
    and what a new upsell of the trigger would be served now."""
    row = await _load(conn, experiment_id)
    chosen = rules.assign(seed=row.seed, user_id=str(user_id), variants=assignment.specs(row.variants),
                          coverage=row.coverage)
    served = assignment.served_variant(row, user_id)
    return AssignmentRead(experiment_id=row.id, user_id=user_id, in_experiment=chosen is not None,
                          variant=chosen.key if chosen else None, hash=rules.gb_hash(row.seed, str(user_id)),
                          served=served["key"] if served else None)


# --- results ---------------------------------------------------------------------------------------------

def _arms(row: Any, counts: list[Any]) -> dict[str, Any]:
    by_key = {c.variant: c for c in counts}
    return {v["key"]: by_key.get(v["key"]) for v in row.variants}


def _stat(count: Any, field: str) -> stats.Arm:
    return stats.Arm(users=int(count.users) if count else 0, conversions=int(getattr(count, field)) if count else 0)


def _comparison(key: str, control: stats.Arm, arm: stats.Arm, minimum: int) -> ComparisonRead:
    result = stats.compare(control, arm)
    enough = min(control.users, arm.users) >= minimum
    reason = result.reason
    if reason is None and not enough:
        reason = f"MINIMUM_SAMPLE_NOT_REACHED: {min(control.users, arm.users)} of {minimum} users per variant"
    return ComparisonRead(
        variant=key, relative_lift=result.relative_lift,
        confidence_interval=list(result.ci) if result.ci else None, p_value=result.p_value,
        significant=result.p_value is not None and result.p_value < stats.ALPHA,
        sequential_p_value=result.sequential_p_value,
        sequential_interval=list(result.sequential_ci) if result.sequential_ci else None,
        chance_to_win=result.chance_to_win,
        credible_interval=list(result.credible_interval) if result.credible_interval else None,
        enough_data=enough, reason=reason)


HEADLINE = ("relative_lift", "confidence_interval", "p_value", "chance_to_win", "credible_interval",
            "sequential_p_value")


def _arm_read(variant: dict[str, Any], count: Any, comparison: ComparisonRead | None) -> ArmRead:
    """A variant's figures; a treatment's also carry its headline comparison against the control."""
    arm = _stat(count, "conversions")
    return ArmRead(key=variant["key"], control=variant["control"], weight=variant["weight"], users=arm.users,
                   conversions=arm.conversions, conversion_rate=arm.rate if arm.users else None,
                   revenue=Decimal(count.revenue) if count is not None else Decimal("0.00"),
                   **({f: getattr(comparison, f) for f in HEADLINE} if comparison else {}))


GUARDRAIL_FIELDS = {Guardrail.dismissal_rate.value: "dismissals", Guardrail.opt_out_rate.value: "opt_outs"}


def _guardrails(row: Any, arms: dict[str, Any], control_key: str, keys: list[str]) -> list[GuardrailRead]:
    out = []
    for metric in row.guardrails:
        field = GUARDRAIL_FIELDS[metric]
        for key in keys:
            g = stats.guardrail(_stat(arms[control_key], field), _stat(arms[key], field))
            state = "NOT_ENOUGH_DATA" if g.p_value is None else ("WORSE" if g.worse else "OK")
            out.append(GuardrailRead(metric=metric, variant=key, control_rate=g.control_rate,
                                     variant_rate=g.variant_rate, p_value=g.p_value, state=state))
    return out


def _timeline(exposures: list[Any]) -> list[PointRead]:
    daily: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for e in exposures:
        day = daily[(e.exposed_at.date().isoformat(), e.variant)]
        day[0] += 1
        day[1] += int(e.converted)
    points, totals = [], defaultdict(lambda: [0, 0])
    for (day, key) in sorted(daily):
        total = totals[key]
        total[0] += daily[(day, key)][0]
        total[1] += daily[(day, key)][1]
        points.append(PointRead(date=day, variant=key, users=total[0], conversions=total[1],
                                conversion_rate=total[1] / total[0] if total[0] else None))
    return points


async def results(conn: AsyncConnection, *, experiment_id: UUID, now: datetime) -> ResultsRead:
    """Per variant exposed users, conversions, rate and revenue; each treatment against the control as gbstats
    computes it; SRM; guardrails; whether the minimum sample is reached. Over the experiment's own phase (upsells
    created until its conclusion), never the rollout after it."""
    row = await _load(conn, experiment_id)
    through = row.ended_at if row.status == ExperimentStatus.CONCLUDED else None
    arms = _arms(row, await upsell_service.experiment_arms(conn, experiment_id=experiment_id, through=through))
    control_key = next(v["key"] for v in row.variants if v["control"])
    keys = [v["key"] for v in row.variants if not v["control"]]
    minimum = row.minimum_sample_per_variant
    control = _stat(arms[control_key], "conversions")
    comparisons = {key: _comparison(key, control, _stat(arms[key], "conversions"), minimum) for key in keys}
    variants = [_arm_read(v, arms[v["key"]], comparisons.get(v["key"])) for v in row.variants]
    srm = stats.srm_p_value([a.users for a in variants], [v["weight"] for v in row.variants])
    exposures = await upsell_service.experiment_exposures(conn, experiment_id=experiment_id, through=through)
    return ResultsRead(
        experiment_id=row.id, status=row.status, primary_metric=row.primary_metric, minimum_sample_per_variant=minimum,
        enough_data=all(a.users >= minimum for a in variants), srm_p_value=srm,
        sample_ratio_mismatch=stats.is_srm(srm), variants=variants, comparisons=list(comparisons.values()),
        guardrails=_guardrails(row, arms, control_key, keys), timeline=_timeline(exposures), computed_at=now)


# --- conclusion and rollout ------------------------------------------------------------------------------

async def conclude(conn: AsyncConnection, principal: Principal, *, experiment_id: UUID, data: ConcludeRequest,
                   now: datetime) -> ExperimentRead:
    """CONCLUDED with a winner, RUNNING only. Refused (409) before the minimum sample or when the winner is not
    significantly better than the control (a control winner: when a treatment is), unless `reason` overrides;
    a treatment winner then rolls out to 10% of the trigger's users (sales.experiment.rollout_changed)."""
    before = await _load(conn, experiment_id)
    if before.status != ExperimentStatus.RUNNING:
        raise InvalidTransition(f"only a RUNNING experiment is concluded (it is {before.status})")
    keys = [v["key"] for v in before.variants]
    if data.winner not in keys:
        raise InvalidInput(("winner",), f"the winner must be one of the variants: {', '.join(keys)}")
    found = await results(conn, experiment_id=experiment_id, now=now)
    blockers = rules.conclusion_blockers(winner=data.winner, control=next(a.key for a in found.variants
                                                                          if a.control),
                                         enough_data=found.enough_data,
                                         better={c.variant: c.significant and (c.relative_lift or 0) > 0
                                                 for c in found.comparisons})
    if blockers and data.reason is None:
        raise ConclusionRefused("; ".join(blockers) + " (give a reason to conclude anyway)",
                                extra={"blockers": blockers})
    is_control = next(v for v in before.variants if v["key"] == data.winner)["control"]
    values = {"status": ExperimentStatus.CONCLUDED.value, "winner": data.winner, "conclusion_reason": data.reason,
              "conclusion_overridden": bool(blockers), "ended_at": now, "updated_at": now}
    if not is_control:
        values |= {"rollout_status": RolloutStatus.ROLLING_OUT.value, "rollout_percent": rules.ROLLOUT_STAGES[0],
                   "rollout_stage_started_at": now}
    row, taken = await repository.change(conn, experiment_id, version=before.version, values=values,
                                         where=repository.experiments.c.status == ExperimentStatus.RUNNING.value)
    if row is None:
        raise ExperimentChanged("the experiment was changed meanwhile; read it and try again")
    after = _read(row)
    await audit.record(conn, principal, action="experiment.concluded", entity_type="upsell_experiment",
                       entity_id=experiment_id, at=now, before=_read(before),
                       after={**after.model_dump(mode="json"), "blockers_overridden": blockers})
    if not is_control:
        await _rollout_changed(conn, principal, after, from_percent=0, reason="concluded", now=now)
    return after


async def _rollout_changed(conn: AsyncConnection, principal: Principal | None, experiment: ExperimentRead, *,
                           from_percent: int, reason: str, now: datetime, figures: Any = None) -> None:
    assert experiment.rollout is not None
    data = {"experiment_id": experiment.id, "trigger": experiment.trigger, "winner": experiment.winner,
            "from_percent": from_percent, "to_percent": experiment.rollout.percent,
            "status": experiment.rollout.status.value, "reason": reason, "changed_at": now}
    await audit.record(conn, principal, action="experiment.rollout_changed", entity_type="upsell_experiment",
                       entity_id=experiment.id, at=now, after={**data, "guardrails": figures})
    await outbox.record(conn, type_=ROLLOUT_EVENT, subject=experiment.id, at=now, data=data)


async def _rollout_guardrails(conn: AsyncConnection, row: Any) -> list[GuardrailRead]:
    """The guardrails of the rollout so far: winner-served against control-served users since the conclusion."""
    arms = _arms(row, await upsell_service.experiment_arms(conn, experiment_id=row.id, after=row.ended_at))
    control_key = next(v["key"] for v in row.variants if v["control"])
    return _guardrails(row, arms, control_key, [row.winner])


async def advance_rollouts(conn: AsyncConnection, *, now: datetime) -> dict[str, int]:
    """Job experiment-rollout: a rollout whose guardrail is significantly worse for the winner rolls back to the
    control (0%); else one whose stage has run `rollout_stage_hours` moves 10 -> 50 -> 100% (COMPLETED at 100)."""
    advanced = rolled_back = 0
    for row in await repository.rolling_out(conn):
        worse = [g for g in await _rollout_guardrails(conn, row) if g.state == "WORSE"]
        if worse:
            values = {"rollout_status": RolloutStatus.ROLLED_BACK.value, "rollout_percent": 0,
                      "rollout_stage_started_at": now, "updated_at": now}
            reason = "guardrail worse: " + ", ".join(f"{g.metric.value} (p={g.p_value:.4g})" for g in worse)
        elif now >= row.rollout_stage_started_at + timedelta(hours=row.rollout_stage_hours):
            percent = rules.next_stage(row.rollout_percent)
            assert percent is not None
            values = {"rollout_percent": percent, "rollout_stage_started_at": now, "updated_at": now,
                      "rollout_status": (RolloutStatus.COMPLETED if percent == 100
                                         else RolloutStatus.ROLLING_OUT).value}
            reason = "stage completed"
        else:
            continue
        changed, _ = await repository.change(
            conn, row.id, version=row.version, values=values,
            where=repository.experiments.c.rollout_status == RolloutStatus.ROLLING_OUT.value)
        if changed is None:
            continue  # another worker moved it first
        await _rollout_changed(conn, None, _read(changed), from_percent=row.rollout_percent, reason=reason,
                               now=now, figures=[g.model_dump(mode="json") for g in worse] or None)
        if worse:
            rolled_back += 1
        else:
            advanced += 1
    return {"processed": advanced + rolled_back, "advanced": advanced, "rolled_back": rolled_back}
