"""Experiment rules (issue 16), pure.

Assignment is GrowthBook's, so that an experiment here buckets users exactly as a GrowthBook SDK would:
- hash version 2: `fnv1a32(str(fnv1a32(seed + user_id))) % 10000 / 10000` (FNV-1a 32-bit over UTF-16 code
  units, as the JS SDK's `charCodeAt` loop), a number in [0, 1) stable across processes and restarts;
- bucket ranges: variant i covers [cumulative weight before i, that + coverage x weight_i); a hash outside every
  range is not in the experiment.
The staged rollout of a winner reuses the same hash: a user is served the winner while hash < rollout share, so a
user who got the winner at 10% keeps it at 50% and 100%.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sales.experiments.enums import ExperimentStatus

FNV_OFFSET = 0x811C9DC5
FNV_PRIME = 0x01000193
ROLLOUT_STAGES = (10, 50, 100)  # percent of the trigger's users served the winner, in order
TRANSITIONS = {ExperimentStatus.DRAFT: (ExperimentStatus.RUNNING,),
               ExperimentStatus.RUNNING: (ExperimentStatus.STOPPED,)}  # CONCLUDED only by POST .../conclude


def fnv1a32(value: str) -> int:
    """FNV-1a 32-bit over the UTF-16 code units of `value` (bytes for ASCII), as GrowthBook's SDKs hash."""
    data = value.encode("utf-16-le", "surrogatepass")
    h = FNV_OFFSET
    for i in range(0, len(data), 2):
        h = ((h ^ (data[i] | data[i + 1] << 8)) * FNV_PRIME) & 0xFFFFFFFF
    return h


def gb_hash(seed: str, value: str) -> float:
    """GrowthBook `hash(seed, value, 2)`."""
    return (fnv1a32(str(fnv1a32(seed + value))) % 10000) / 10000


def bucket_ranges(weights: Sequence[float], coverage: float) -> list[tuple[float, float]]:
    """GrowthBook `getBucketRanges`: each range starts at its cumulative weight and spans coverage x weight."""
    coverage = min(max(coverage, 0.0), 1.0)
    ranges, cumulative = [], 0.0
    for weight in weights:
        ranges.append((cumulative, cumulative + coverage * weight))
        cumulative += weight
    return ranges


def choose_variation(n: float, ranges: Sequence[tuple[float, float]]) -> int:
    """GrowthBook `chooseVariation`: the index of the range holding n, -1 outside every range."""
    return next((i for i, (low, high) in enumerate(ranges) if low <= n < high), -1)


def choose_many(hashes: np.ndarray, ranges: Sequence[tuple[float, float]]) -> np.ndarray:
    """`choose_variation` for many hashes at once (simulations)."""
    chosen = np.full(hashes.shape, -1)
    for i in reversed(range(len(ranges))):
        low, high = ranges[i]
        chosen[(hashes >= low) & (hashes < high)] = i
    return chosen


@dataclass(frozen=True)
class VariantSpec:
    key: str
    weight: float
    control: bool


def assign(*, seed: str, user_id: str, variants: Sequence[VariantSpec], coverage: float) -> VariantSpec | None:
    """The user's variant, or None when the user's hash falls outside the experiment's coverage."""
    index = choose_variation(gb_hash(seed, user_id), bucket_ranges([v.weight for v in variants], coverage))
    return variants[index] if index >= 0 else None


def rollout_serves_winner(*, seed: str, user_id: str, percent: int) -> bool:
    """During a staged rollout, the winner is served to users whose hash is below the rollout share."""
    return gb_hash(seed, user_id) < percent / 100


def next_stage(percent: int) -> int | None:
    """The rollout share after `percent` (None at 100%)."""
    later = [p for p in ROLLOUT_STAGES if p > percent]
    return later[0] if later else None


def can_move(current: ExperimentStatus, target: ExperimentStatus) -> bool:
    return target in TRANSITIONS.get(current, ())


def conclusion_blockers(*, winner: str, control: str, enough_data: bool, better: dict[str, bool]) -> list[str]:
    """Why concluding with `winner` is not supported by the data (empty: it is). A treatment must be significantly
    better than the control (frequentist p < 0.05, positive lift); the control wins when no treatment is
    significantly better. Either way only once every variant reached the minimum sample."""
    blockers = []
    if not enough_data:
        blockers.append("the minimum sample per variant is not reached")
    if winner != control and not better.get(winner, False):
        blockers.append(f"{winner} is not significantly better than the control")
    if winner == control and any(better.values()):
        blockers.append("a treatment is significantly better than the control: "
                        + ", ".join(k for k, v in better.items() if v))
    return blockers
