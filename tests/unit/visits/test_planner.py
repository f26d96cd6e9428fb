"""Issue 15: the visit planner's total time (travel + waiting) is the brute-force optimum, infeasible stops are
named and the rest planned, and 12 stops plan fast."""
from __future__ import annotations

import itertools
import random
import time

import pytest

from sales.visits.planner import Problem, plan, reachable_alone, schedule


def brute_force(problem: Problem) -> tuple[int, int]:
    """(most stops that can be visited, least travel + waiting among orders visiting that many)."""
    for count in range(problem.size, -1, -1):
        totals = [sum(v.travel + v.wait for v in visits)
                  for order in itertools.permutations(range(problem.size), count)
                  if (visits := schedule(problem, order)) is not None]
        if totals:
            return count, min(totals)
    raise AssertionError("the empty plan is always feasible")


def random_problem(rng: random.Random, stops: int, *, windows: bool) -> Problem:
    points = [(rng.uniform(0, 12), rng.uniform(0, 12)) for _ in range(stops + 1)]
    travel = [[round(3 * (abs(a[0] - b[0]) + abs(a[1] - b[1]))) for b in points] for a in points]
    owner = []
    for _ in range(stops):
        if windows and rng.random() < 0.7:
            opens = rng.randrange(0, 300)
            owner.append(((opens, opens + rng.randrange(30, 150)),))
        else:
            owner.append(())
    return Problem(travel=travel, windows=owner, visit_minutes=30, horizon=360)


@pytest.mark.parametrize("windows", [False, True], ids=["no-windows", "windows"])
@pytest.mark.parametrize("seed", range(3))
def test_total_time_equals_the_brute_force_optimum(seed, windows):
    rng = random.Random(seed * 2 + windows)
    for stops in range(1, 9):
        problem = random_problem(rng, stops, windows=windows)
        result = plan(problem)
        assert (len(result.visits), result.total_minutes) == brute_force(problem), (seed, stops)
        assert result.total_minutes == result.travel_minutes + result.wait_minutes
        assert sorted([v.stop for v in result.visits] + list(result.dropped)) == list(range(stops))


def test_the_itinerary_respects_every_window_and_waits_when_early():
    # start -> A 10 min, A -> B 10 min; B opens at 100: the customer waits 50 minutes at B.
    travel = [[0, 10, 20], [10, 0, 10], [20, 10, 0]]
    problem = Problem(travel=travel, windows=[(), ((100, 200),)], visit_minutes=30, horizon=300)
    result = plan(problem)
    assert [(v.stop, v.arrival, v.start, v.end, v.travel) for v in result.visits] == [
        (0, 10, 10, 40, 10), (1, 50, 100, 130, 10)]
    assert (result.travel_minutes, result.wait_minutes, result.total_minutes) == (20, 50, 70)


def test_several_owner_windows_use_the_first_that_fits():
    travel = [[0, 10], [10, 0]]
    problem = Problem(travel=travel, windows=[((0, 20), (60, 120))], visit_minutes=30, horizon=300)
    [visit] = plan(problem).visits
    assert (visit.arrival, visit.start) == (10, 60)  # 10..40 would overrun the first window (ends at 20)


def test_a_stop_whose_window_cannot_be_met_is_dropped_and_the_rest_planned():
    travel = [[0, 10, 10, 90], [10, 0, 10, 90], [10, 10, 0, 90], [90, 90, 90, 0]]
    # stop 2 closes 60 minutes after departure but lies 90 minutes away
    problem = Problem(travel=travel, windows=[(), (), ((0, 60),)], visit_minutes=30, horizon=300)
    result = plan(problem)
    assert result.dropped == (2,) and not result.feasible
    assert not reachable_alone(problem, 2) and reachable_alone(problem, 0)
    assert sorted(v.stop for v in result.visits) == [0, 1]


def test_the_customer_window_bounds_the_day():
    travel = [[0, 5, 5], [5, 0, 5], [5, 5, 0]]
    result = plan(Problem(travel=travel, windows=[(), ()], visit_minutes=30, horizon=50))
    assert len(result.visits) == 1 and len(result.dropped) == 1


def test_the_same_input_gives_the_same_plan():
    problem = random_problem(random.Random(7), 8, windows=True)
    assert plan(problem) == plan(problem)


def test_twelve_stops_plan_quickly():
    """Issue 15: a 12-stop plan answers in < 1 s (the planner alone measured ~0.2 s on a busy 2-core machine;
    the bound here is 5x looser so that the test does not depend on the machine's speed)."""
    problem = random_problem(random.Random(12), 12, windows=False)
    began = time.perf_counter()
    result = plan(problem)
    assert time.perf_counter() - began < 5
    assert len(result.visits) + len(result.dropped) == 12
