"""Issue 19: a large pool's trace summary (`rules.PoolSummary`). The database writes the pool's weights as the JSON
object the trace carries; the engine passes it through unread, and rounds its own candidates' weights the same way
(`rules.trace_weight`), so a weight reads the same in `candidates` and in `pool.weights`."""
from __future__ import annotations

import uuid

import orjson
import pytest

from sales.allocation import rules

A, B = str(uuid.UUID(int=1)), str(uuid.UUID(int=2))


def _counts(**eligible: int) -> rules.PoolCounts:
    return rules.PoolCounts(size=40, excluded={"LOCALITY": {"AVAILABILITY": 3}, "CITY": {"LAR-003": 2}},
                            eligible=eligible, weights=f'{{"{A}":1.2,"{B}":1.0}}')


def test_the_summary_counts_the_pool_chosen_from_and_the_eligible_groups_left_out():
    summary = rules.summarize(_counts(LOCALITY=2, CITY=5, BACKUP=4), pool_groups=["LOCALITY"],
                              excluded_groups={"ZONE": "LAR-001", "CITY": "LAR-001", "BACKUP": "LAR-007"})
    assert (summary.size, summary.eligible) == (40, 2)
    # LAR-001: the city level's eligible beyond the level reached; LAR-007: the backups, unused
    assert summary.excluded == {"AVAILABILITY": 3, "LAR-003": 2, "LAR-001": 5, "LAR-007": 4}
    trace = orjson.loads(orjson.dumps(summary.as_trace(listed=2)))
    assert trace == {"candidates": 40, "eligible": 2, "listed": 2, "excluded": summary.excluded,
                     "weights": {A: 1.2, B: 1.0}}


def test_an_rm_that_lost_a_race_for_its_last_slot_leaves_the_pool_as_excluded_by_lar_002():
    summary = rules.summarize(_counts(LOCALITY=2), pool_groups=["LOCALITY"], excluded_groups={})
    summary.drop(uuid.UUID(A))
    summary.drop(uuid.UUID(int=3))  # not in the pool: nothing changes
    assert (summary.eligible, summary.excluded["LAR-002"]) == (1, 1)
    assert orjson.loads(orjson.dumps(summary.as_trace(listed=1)))["weights"] == {B: 1.0}


@pytest.mark.parametrize(("weight", "written"), [
    (1.2, 1.2), (1.0, 1.0), (0.26544, 0.2654), (1.584, 1.584), (1e-6, 0.0),
    # ties at the fifth decimal round half away from zero, as PostgreSQL's round(numeric, 4) does
    (1.00125, 1.0013), (0.03125, 0.0313), (0.12345, 0.1235),
])
def test_a_weight_is_written_to_four_decimals_as_the_database_rounds_it(weight, written):
    assert rules.trace_weight(weight) == written
