"""The visit route planner (issue 15): pure, no I/O.

Times are whole minutes counted from the customer's departure (`window_start`); the customer's window is
`[0, horizon]`. A stop is visited for `visit_minutes`, and the whole visit must fit in one of its owner windows
and before the horizon. The order minimizes the total time: travel + waiting (the visits themselves take the
same time in every order, so this is also the end time of the last visit). Stops that cannot all be met are
dropped, as few as possible, and named.

The order is found exactly by a dynamic program (`_solve`); `schedule()` lays it out at the earliest times,
which for a fixed order is optimal for every later stop. (OR-Tools was tried first, issue 15: its routing
solver with guided local search under a deterministic solution limit missed the brute-force optimum on 1-3 of
80 random instances of up to 8 stops and ran into its time limit, and CP-SAT with one deterministic worker did
not prove 12 stops optimal within a second on this machine; the exact program does both.)
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

Window = tuple[int, int]

MAX_STOPS = 12  # a day's visits; the exact program stays well under a second at this size


@dataclass(frozen=True)
class Problem:
    """`travel[i][j]`: minutes from point i to point j; point 0 is the start, point k the stop k-1.
    `windows[k]`: the owner windows of stop k (empty: any time within the customer's window)."""

    travel: Sequence[Sequence[int]]
    windows: Sequence[Sequence[Window]]
    visit_minutes: int
    horizon: int

    @property
    def size(self) -> int:
        return len(self.windows)


@dataclass(frozen=True)
class Visit:
    stop: int
    travel: int
    arrival: int
    start: int
    end: int

    @property
    def wait(self) -> int:
        return self.start - self.arrival


@dataclass(frozen=True)
class Plan:
    visits: tuple[Visit, ...]
    dropped: tuple[int, ...]

    @property
    def travel_minutes(self) -> int:
        return sum(v.travel for v in self.visits)

    @property
    def wait_minutes(self) -> int:
        return sum(v.wait for v in self.visits)

    @property
    def total_minutes(self) -> int:
        """Travel + waiting: the objective."""
        return self.travel_minutes + self.wait_minutes

    @property
    def feasible(self) -> bool:
        return not self.dropped


def _earliest_start(problem: Problem, stop: int, arrival: int) -> int | None:
    return _first_start(_stop_start_windows(problem, stop), arrival)


def schedule(problem: Problem, order: Sequence[int]) -> tuple[Visit, ...] | None:
    """The visits of `order` at their earliest possible times, or None when a window is missed."""
    visits, at, point = [], 0, 0
    for stop in order:
        travel = problem.travel[point][stop + 1]
        arrival = at + travel
        start = _earliest_start(problem, stop, arrival)
        if start is None:
            return None
        visits.append(Visit(stop=stop, travel=travel, arrival=arrival, start=start,
                            end=start + problem.visit_minutes))
        at, point = start + problem.visit_minutes, stop + 1
    return tuple(visits)


def reachable_alone(problem: Problem, stop: int) -> bool:
    """Whether the stop can be visited at all, straight from the start."""
    return schedule(problem, [stop]) is not None


def plan(problem: Problem) -> Plan:
    """The order of the stops with the least total time, dropping as few stops as the windows demand."""
    if problem.size == 0:
        return Plan(visits=(), dropped=())
    order = _solve(problem)
    visits = schedule(problem, order)
    if visits is None:  # cannot happen: the solver honours the same windows; kept loud rather than wrong
        raise AssertionError(f"solver order {order} breaks a window")
    visited = {v.stop for v in visits}
    return Plan(visits=visits, dropped=tuple(s for s in range(problem.size) if s not in visited))


def _start_windows(problem: Problem) -> list[list[Window]]:
    """Per stop, the sorted intervals in which its visit may start (owner windows within the customer's)."""
    return [_stop_start_windows(problem, stop) for stop in range(problem.size)]


def _stop_start_windows(problem: Problem, stop: int) -> list[Window]:
    latest = problem.horizon - problem.visit_minutes
    windows = problem.windows[stop] or ((0, problem.horizon),)
    spans = [(max(a, 0), min(b - problem.visit_minutes, latest)) for a, b in windows]
    return sorted((a, b) for a, b in spans if a <= b)


def _solve(problem: Problem) -> list[int]:
    """The optimal order, exactly: a dynamic program over (stops visited, last stop) keeping the earliest end of
    each (Held-Karp with time windows). The earliest end dominates: every later visit can only start later
    from a later end. Ties on the end go to the least travel. States that miss a window are never made, so
    tight windows shrink the work; 12 stops without windows make 24,576 states."""
    n, visit = problem.size, problem.visit_minutes
    travel = [list(map(int, row)) for row in problem.travel]
    starts = _start_windows(problem)
    size = n << n
    end_of, travel_of, parent = [-1] * size, [0] * size, [-1] * size  # state = mask * n + last
    level: list[int] = []
    for stop in range(n):
        start = _first_start(starts[stop], travel[0][stop + 1])
        if start is not None:
            state = (1 << stop) * n + stop
            end_of[state], travel_of[state] = start + visit, travel[0][stop + 1]
            level.append(state)
    last_level: list[int] = []
    while level:
        last_level, grown = level, set()
        for state in level:
            mask, last = divmod(state, n)
            end, travelled, row = end_of[state], travel_of[state], travel[last + 1]
            for stop in range(n):
                if mask >> stop & 1:
                    continue
                start = _first_start(starts[stop], end + row[stop + 1])
                if start is None:
                    continue
                target = (mask | 1 << stop) * n + stop
                label = (start + visit, travelled + row[stop + 1])
                known = end_of[target]
                if known < 0 or label < (known, travel_of[target]):
                    end_of[target], travel_of[target], parent[target] = label[0], label[1], state
                    grown.add(target)
        level = sorted(grown)
    if not last_level:
        return []
    final = min(last_level, key=lambda s: (end_of[s], travel_of[s], s))
    order: list[int] = []
    while final >= 0:
        order.append(final % n)
        final = parent[final]
    return order[::-1]


def _first_start(windows: list[Window], arrival: int) -> int | None:
    for a, b in windows:
        if arrival <= b:
            return max(arrival, a)
    return None
