"""Pure dashboard maths (issue 18): medians, compliance and KPI verdicts in Decimal, never a division by zero."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
SECONDS_PER_MINUTE = Decimal(60)


def half_up(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def months_of(start: date, end: date) -> tuple[str, str]:
    """The commission periods ("YYYY-MM") a dashboard period overlaps, as an inclusive range."""
    return f"{start.year:04d}-{start.month:02d}", f"{end.year:04d}-{end.month:02d}"


def median(values: Sequence[Decimal]) -> Decimal | None:
    """The median (the mean of the two middle values for an even count), 2 places half-up; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return half_up(ordered[middle])
    return half_up((ordered[middle - 1] + ordered[middle]) / 2)


def minutes_between(start: datetime, end: datetime) -> Decimal:
    delta = end - start
    return (Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / Decimal(1_000_000)
            ) / SECONDS_PER_MINUTE


def percentage(part: int | Decimal, whole: int | Decimal) -> Decimal | None:
    """part / whole x 100, 2 places half-up; None when there is no whole (nothing to measure)."""
    if not whole:
        return None
    return half_up(Decimal(part) * HUNDRED / Decimal(whole))


@dataclass(frozen=True)
class SlaOutcome:
    """One allocation's first response against its SLA deadline, as known at `now`."""

    allocated_at: datetime
    first_action_at: datetime | None
    sla_deadline: datetime


def sla_compliance(outcomes: Sequence[SlaOutcome], now: datetime) -> tuple[int, int, Decimal | None]:
    """(met, decided, %): an allocation is decided once acted on or once its deadline has passed; it met its SLA
    if first acted on by the deadline. Allocations still within their deadline without an action are not yet
    counted either way."""
    met = decided = 0
    for o in outcomes:
        if o.first_action_at is not None:
            decided += 1
            met += o.first_action_at <= o.sla_deadline
        elif now > o.sla_deadline:
            decided += 1
    return met, decided, percentage(met, decided)


def response_minutes(outcomes: Sequence[SlaOutcome]) -> list[Decimal]:
    return [minutes_between(o.allocated_at, o.first_action_at) for o in outcomes if o.first_action_at is not None]


# --- KPIs (PRD §9.1, §9.3) ------------------------------------------------------------------------

@dataclass(frozen=True)
class Goal:
    """A KPI's target: above `low` (exclusive) and/or below `high` (exclusive); a band when both are set
    (RM utilization 70-85% is inclusive at both ends)."""

    low: Decimal | None = None
    high: Decimal | None = None
    inclusive: bool = False

    def met(self, value: Decimal) -> bool:
        if self.inclusive:
            return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)
        return (self.low is None or value > self.low) and (self.high is None or value < self.high)

    def text(self) -> str:
        if self.low is not None and self.high is not None:
            return f"{self.low}-{self.high}"
        return f"> {self.low}" if self.low is not None else f"< {self.high}"


GOALS: dict[str, Goal] = {
    "upsell_conversion_percentage": Goal(low=Decimal(5)),
    "lead_to_close_percentage": Goal(low=Decimal(15)),
    "deal_cycle_days": Goal(high=Decimal(14)),
    "rm_utilization_percentage": Goal(low=Decimal(70), high=Decimal(85), inclusive=True),
    "sla_compliance_percentage": Goal(low=Decimal(95)),
    "commission_accuracy_percentage": Goal(low=Decimal(99)),
    "refund_rate_percentage": Goal(high=Decimal(3)),
    "lead_response_minutes": Goal(high=Decimal(30)),
    "workload_variance_percentage": Goal(high=Decimal(15)),
    "forecast_accuracy_percentage": Goal(low=Decimal(80)),
}


def mean(values: Sequence[Decimal]) -> Decimal | None:
    return half_up(sum(values, Decimal(0)) / len(values)) if values else None


def days_between(start: datetime, end: datetime) -> Decimal:
    return minutes_between(start, end) / Decimal(1440)


def coefficient_of_variation(loads: Sequence[int]) -> Decimal | None:
    """Population standard deviation / mean x 100 of the members' loads; None without members or load."""
    if not loads or not sum(loads):
        return None
    average = Decimal(sum(loads)) / len(loads)
    variance = sum(((Decimal(x) - average) ** 2 for x in loads), Decimal(0)) / len(loads)
    return half_up(variance.sqrt() / average * HUNDRED)


# --- forecast (issue 18): stage-to-close probabilities learned from closed pipelines -----------------

CLOSED = ("CLOSED_WON", "CLOSED_LOST")
MIN_CELL = 5  # closed pipelines a (city, stage) cell needs before it is trusted; else the stage over all cities
Z_95 = Decimal("1.96")


@dataclass(frozen=True)
class Journey:
    """A pipeline's path: created in `city` at `created_at` (in NEW), then `moves` [(stage, at)] in order."""

    city: str
    deal_value: Decimal
    created_at: datetime
    moves: tuple[tuple[str, datetime], ...]

    def stage_at(self, at: datetime) -> str | None:
        """Its stage at `at` (None before it existed)."""
        if self.created_at > at:
            return None
        stage = "NEW"
        for to_stage, when in self.moves:
            if when <= at:
                stage = to_stage
        return stage

    def entered(self) -> dict[str, datetime]:
        """When it first entered each stage (NEW at creation)."""
        first = {"NEW": self.created_at}
        for stage, when in self.moves:
            first.setdefault(stage, when)
        return first

    def closing(self) -> tuple[str, datetime] | None:
        """Its first closing move (stage, at); None while open. Worked out once: the forecast and each back-test
        period ask for it."""
        return self._closing

    @cached_property
    def _closing(self) -> tuple[str, datetime] | None:
        return next(((s, when) for s, when in self.moves if s in CLOSED), None)


@dataclass(frozen=True)
class Cell:
    reached: int
    won: int
    days_to_win: tuple[Decimal, ...]  # from first entering the stage to winning, of the won ones

    def probability(self) -> Decimal:
        return Decimal(self.won) / Decimal(self.reached)

    def won_within(self, days: Decimal) -> Decimal:
        """Of the won ones, the share won within `days` of entering the stage."""
        if not self.days_to_win:
            return Decimal(0)
        return Decimal(sum(1 for d in self.days_to_win if d <= days)) / Decimal(len(self.days_to_win))


@dataclass(frozen=True)
class CountedCell:
    """A cell counted by the database for one horizon (`repository.learned`): the same figures as `Cell` for
    `horizon_days` only (wins within it counted, not listed)."""

    reached: int
    won: int
    won_in_horizon: int
    horizon_days: Decimal

    def probability(self) -> Decimal:
        return Decimal(self.won) / Decimal(self.reached)

    def won_within(self, days: Decimal) -> Decimal:
        if days != self.horizon_days:
            raise ValueError(f"this cell was counted for {self.horizon_days} days, not {days}")
        return Decimal(self.won_in_horizon) / Decimal(self.won) if self.won else Decimal(0)


def counted_model(rows: Sequence[tuple[str, str, int, int, int]], horizon_days: Decimal) -> Model:
    """A Model from per (city lower-case, stage) counts (reached, won, won within the horizon), with the per-stage
    totals over all cities as the fallback cells."""
    totals: dict[str, list[int]] = {}
    cells: dict[tuple[str, str], Any] = {}
    for city, stage, reached, won, within in rows:
        if not reached:
            continue
        cells[(city, stage)] = CountedCell(reached, won, within, horizon_days)
        total = totals.setdefault(stage, [0, 0, 0])
        total[0] += reached
        total[1] += won
        total[2] += within
    for stage, (reached, won, within) in totals.items():
        cells[("*", stage)] = CountedCell(reached, won, within, horizon_days)
    return Model(cells)


@dataclass(frozen=True)
class Model:
    cells: dict[tuple[str, str], Any]  # (city lower-case or "*", stage) -> Cell or CountedCell

    def cell(self, city: str, stage: str) -> tuple[Cell, str] | None:
        """The (city, stage) cell with at least MIN_CELL closed pipelines, else the stage over all cities; None
        without any closed pipeline that reached the stage."""
        own = self.cells.get((city.lower(), stage))
        if own is not None and own.reached >= MIN_CELL:
            return own, "city"
        every = self.cells.get(("*", stage))
        return (every, "all_cities") if every is not None and every.reached else None


def learn(journeys: Sequence[Journey], before: datetime) -> Model:
    """P(won | reached the stage) and the days from entering it to winning, per (city, stage) and per stage over
    all cities, from the pipelines closed before `before`."""
    counts: dict[tuple[str, str], list[Any]] = {}
    for journey in journeys:
        closing = journey.closing()
        if closing is None or closing[1] >= before:
            continue
        outcome, closed_at = closing
        for stage, entered in journey.entered().items():
            if stage in CLOSED:
                continue
            for key in ((journey.city.lower(), stage), ("*", stage)):
                cell = counts.setdefault(key, [0, 0, []])
                cell[0] += 1
                if outcome == "CLOSED_WON":
                    cell[1] += 1
                    cell[2].append(days_between(entered, closed_at))
    return Model({key: Cell(r, w, tuple(d)) for key, (r, w, d) in counts.items()})


@dataclass(frozen=True)
class Forecast:
    expected: Decimal
    low: Decimal
    high: Decimal
    pipelines: int
    unscored: int  # open pipelines at a stage no closed pipeline ever reached


def forecast(journeys: Sequence[Journey], model: Model, at: datetime, until: datetime) -> Forecast:
    """Expected won deal value in [at, until) from the pipelines open at `at`: each deal value x P(won | its
    stage) x the share of such wins that came within the days left; a 95% interval from the variance of those
    independent Bernoulli outcomes, floored at 0."""
    days_left = days_between(at, until)
    expected = variance = Decimal(0)
    pipelines = unscored = 0
    chances: dict[tuple[str, str], Decimal | None] = {}  # the same for every pipeline of a (city, stage)
    for journey in journeys:
        stage = journey.stage_at(at)
        if stage is None or stage in CLOSED:
            continue
        pipelines += 1
        key = (journey.city, stage)
        if key not in chances:
            found = model.cell(journey.city, stage)
            chances[key] = None if found is None else found[0].probability() * found[0].won_within(days_left)
        p = chances[key]
        if p is None:
            unscored += 1
            continue
        expected += journey.deal_value * p
        variance += journey.deal_value ** 2 * p * (1 - p)
    margin = Z_95 * variance.sqrt()
    return Forecast(half_up(expected), half_up(max(expected - margin, Decimal(0))), half_up(expected + margin),
                    pipelines, unscored)


EXACT = 200  # digits: sums of deal values and their squares never round


def open_groups(journeys: Sequence[Journey], at: datetime) -> list[tuple[str, str, Decimal, int]]:
    """The pipelines open at `at` per (city, stage at `at`, deal value): (city, stage, deal value, how many), as
    `repository.walk` counts them in SQL (here for the tests, from journeys)."""
    counts: dict[tuple[str, str, Decimal], int] = {}
    for journey in journeys:
        stage = journey.stage_at(at)
        if stage is None or stage in CLOSED:
            continue
        key = (journey.city, stage, journey.deal_value)
        counts[key] = counts.get(key, 0) + 1
    return [(city, stage, value, n) for (city, stage, value), n in counts.items()]


def forecast_grouped(groups: Sequence[tuple[str, str, Decimal, int]], model: Model, at: datetime, until: datetime
                     ) -> Forecast:
    """`forecast` from the open pipelines counted per (city, stage, deal value) (`open_groups`,
    `repository.walk`): per (city, stage), the exact sum of the deal values x the chance, and of their squares x
    p(1 - p). The same figures to the cent (the products are rounded to 28 digits once per cell instead of once
    per pipeline)."""
    days_left = days_between(at, until)
    cells: dict[tuple[str, str], list[Any]] = {}
    with localcontext() as exact:
        exact.prec = EXACT
        for city, stage, value, n in groups:
            cell = cells.setdefault((city, stage), [0, Decimal(0), Decimal(0)])
            cell[0] += n
            cell[1] += value * n
            cell[2] += value * value * n
    expected = variance = Decimal(0)
    pipelines = unscored = 0
    for (city, stage), (n, total, squares) in cells.items():
        pipelines += n
        found = model.cell(city, stage)
        if found is None:
            unscored += n
            continue
        p = found[0].probability() * found[0].won_within(days_left)
        expected += total * p
        variance += squares * p * (1 - p)
    margin = Z_95 * variance.sqrt()
    return Forecast(half_up(expected), half_up(max(expected - margin, Decimal(0))), half_up(expected + margin),
                    pipelines, unscored)


def won_grouped(groups: Sequence[tuple[Decimal, int]]) -> Decimal:
    """`won_value` from the won pipelines counted per deal value (`repository.walk`)."""
    with localcontext() as exact:
        exact.prec = EXACT
        total = sum((value * n for value, n in groups), Decimal(0))
    return half_up(total)


def won_value(journeys: Sequence[Journey], start: datetime, end: datetime) -> Decimal:
    """The deal value actually won in [start, end)."""
    return half_up(sum((j.deal_value for j in journeys if (c := j.closing()) is not None
                        and c[0] == "CLOSED_WON" and start <= c[1] < end), Decimal(0)))


def accuracy(forecast_value: Decimal, actual: Decimal) -> Decimal | None:
    """100 - |forecast - actual| / actual x 100, floored at 0; None when nothing was won (no base)."""
    if not actual:
        return None
    return max(half_up(HUNDRED - abs(forecast_value - actual) * HUNDRED / actual), Decimal("0.00"))


def overall_accuracy(pairs: Sequence[tuple[Decimal, Decimal]]) -> Decimal | None:
    """A back-test's accuracy over its periods (forecast, actual): 100 - sum |f - a| / sum a x 100, floored at 0
    (big periods weigh more); None when nothing was won in any of them."""
    actual = sum((a for _, a in pairs), Decimal(0))
    if not actual:
        return None
    error = sum((abs(f - a) for f, a in pairs), Decimal(0))
    return max(half_up(HUNDRED - error * HUNDRED / actual), Decimal("0.00"))
