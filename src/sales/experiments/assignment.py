"""Which variant a new upsell gets (issue 16): the small, explicit call the upsell engine makes when it creates an
upsell. Imports nothing of the upsell domain (the upsell service imports this module)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from sqlalchemy.ext.asyncio import AsyncConnection

from sales.experiments import repository, rules


@dataclass(frozen=True)
class Served:
    experiment_id: UUID
    variant: str
    message: str
    channel: str | None
    delay_minutes: int | None


def specs(variants: list[dict[str, Any]]) -> list[rules.VariantSpec]:
    return [rules.VariantSpec(key=v["key"], weight=float(v["weight"]), control=bool(v["control"]))
            for v in variants]


def served_variant(experiment: Any, user_id: UUID) -> dict[str, Any] | None:
    """RUNNING: the user's bucket (None outside the coverage). Winner rolling out or rolled out: the winner for
    users under the rollout share, the control for the others. Anything else: None."""
    if experiment.status == "RUNNING":
        chosen = rules.assign(seed=experiment.seed, user_id=str(user_id), variants=specs(experiment.variants),
                              coverage=experiment.coverage)
        return next(v for v in experiment.variants if v["key"] == chosen.key) if chosen else None
    if experiment.rollout_status in ("ROLLING_OUT", "COMPLETED"):
        wins = rules.rollout_serves_winner(seed=experiment.seed, user_id=str(user_id),
                                           percent=experiment.rollout_percent)
        return next(v for v in experiment.variants if (v["key"] == experiment.winner if wins else v["control"]))
    return None


async def serve(conn: AsyncConnection, *, trigger_event: str, user_id: UUID) -> Served | None:
    """The variant (key, message, channel, delay) for a new upsell of `trigger_event` to `user_id`; None when no
    experiment drives the trigger or the user is outside it."""
    experiment = await repository.active_for_trigger(conn, trigger_event)
    if experiment is None:
        return None
    variant = served_variant(experiment, user_id)
    if variant is None:
        return None
    return Served(experiment_id=experiment.id, variant=variant["key"], message=variant["message"],
                  channel=variant.get("channel"), delay_minutes=variant.get("delay_minutes"))
