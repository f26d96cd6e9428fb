"""Issue 16: assignment equals GrowthBook's (hash v2, bucket ranges, chooseVariation) for the same seed and user
ids, is stable across processes, and splits one million users within 0.5% of the weights."""
from __future__ import annotations

import functools
import subprocess
import sys
import uuid

import numpy as np
import pytest
from growthbook.core import chooseVariation, gbhash, getBucketRanges

from sales.experiments import rules

USERS = [str(uuid.UUID(int=i * 7919 + 13)) for i in range(2000)] + ["", "1", "user-42", "ünï©ødé", "😀 emoji"]
SEEDS = ["", "banner-2026", str(uuid.UUID(int=16)), "é-seed"]


@pytest.mark.parametrize("seed", SEEDS)
def test_hash_v2_equals_growthbooks(seed):
    assert [rules.gb_hash(seed, u) for u in USERS] == [gbhash(seed, u, 2) for u in USERS]


@pytest.mark.parametrize("weights, coverage", [([0.5, 0.5], 1.0), ([0.2, 0.3, 0.5], 0.6), ([0.7, 0.3], 0.0),
                                               ([0.1, 0.9], 1.0)])
def test_bucket_ranges_and_variation_equal_growthbooks(weights, coverage):
    ranges = rules.bucket_ranges(weights, coverage)
    assert ranges == getBucketRanges(len(weights), coverage, weights)
    for u in USERS:
        n = rules.gb_hash("exp-seed", u)
        assert rules.choose_variation(n, ranges) == chooseVariation(n, ranges)


def test_assignment_is_the_same_in_another_process():
    script = ("from sales.experiments import rules;"
              "print(','.join(str(rules.gb_hash('banner-2026', u)) for u in %r))" % USERS[:50])
    other = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert other.stdout.strip() == ",".join(str(rules.gb_hash("banner-2026", u)) for u in USERS[:50])


PRIME, MASK = np.uint64(0x01000193), np.uint64(0xFFFFFFFF)


def _fnv_decimal(h: np.ndarray, numbers: np.ndarray, width: np.ndarray | int) -> np.ndarray:
    """Continue FNV-1a 32 states `h` over the decimal digits of `numbers`, each written with `width` digits."""
    width = np.broadcast_to(np.asarray(width, dtype=np.int64), numbers.shape)
    for j in range(int(width.max())):
        live = width > j
        digit = (numbers // (10 ** np.maximum(width - 1 - j, 0)).astype(np.uint64)) % np.uint64(10)
        h = np.where(live, ((h ^ (digit + np.uint64(48))) * PRIME) & MASK, h)
    return h


@functools.lru_cache(maxsize=2)
def _hashes(seed: str, count: int) -> np.ndarray:
    """GrowthBook hash v2 of seed + "user-<i:07d>" for i < count, vectorized (no strings built)."""
    start = np.full(count, rules.fnv1a32(f"{seed}user-"), dtype=np.uint64)  # the state after the common prefix
    first = _fnv_decimal(start, np.arange(count, dtype=np.uint64), 7)
    digits = np.floor(np.log10(np.maximum(first, 1).astype(np.float64))).astype(np.int64) + 1
    second = _fnv_decimal(np.full(count, 0x811C9DC5, dtype=np.uint64), first, digits)
    return (second % np.uint64(10000)).astype(np.float64) / 10000


def test_the_vectorized_hash_is_growthbooks():
    hashes = _hashes("seed", 3000)
    assert list(hashes) == [gbhash("seed", f"user-{i:07d}", 2) for i in range(3000)]


@pytest.mark.parametrize("weights, coverage", [([0.5, 0.5], 1.0), ([0.2, 0.3, 0.5], 1.0), ([0.1, 0.9], 0.5)])
def test_one_million_users_split_within_half_a_percent_of_the_weights(weights, coverage):
    hashes = _hashes("million", 1_000_000)
    chosen = rules.choose_many(hashes, rules.bucket_ranges(weights, coverage))
    assigned = chosen[chosen >= 0]
    assert abs(len(assigned) / 1_000_000 - coverage) < 0.005
    for i, weight in enumerate(weights):
        assert abs(np.count_nonzero(assigned == i) / len(assigned) - weight) < 0.005


def test_a_rollout_keeps_its_users_as_it_widens():
    at = {p: {u for u in USERS if rules.rollout_serves_winner(seed="s", user_id=u, percent=p)} for p in (10, 50, 100)}
    assert at[10] <= at[50] <= at[100] == set(USERS)
    assert rules.next_stage(0) == 10 and rules.next_stage(10) == 50 and rules.next_stage(50) == 100
    assert rules.next_stage(100) is None


@pytest.mark.parametrize("winner, enough, better, blockers", [
    ("b", True, {"b": True}, 0), ("b", False, {"b": True}, 1), ("b", True, {"b": False}, 1),
    ("a", True, {"b": False}, 0), ("a", True, {"b": True}, 1), ("a", False, {"b": True}, 2)])
def test_conclusion_blockers(winner, enough, better, blockers):
    assert len(rules.conclusion_blockers(winner=winner, control="a", enough_data=enough, better=better)) == blockers
