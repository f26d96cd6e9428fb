"""The dashboards' figures as tables (issue 18): what the console pages show under their charts and what each
table's CSV export holds, from the same read models the API returns. Pure; no I/O."""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sales.dashboards.schemas import ForecastRead, RmDashboard, ScopeDashboard

Cell = str | int | Decimal | bool | None
KPI_LABELS = {
    "upsell_conversion_percentage": "Upsell conversion (%)", "lead_to_close_percentage": "Lead-to-close (%)",
    "deal_cycle_days": "Deal cycle (days)", "rm_utilization_percentage": "RM utilization (%)",
    "sla_compliance_percentage": "SLA compliance (%)", "commission_accuracy_percentage": "Commission accuracy (%)",
    "refund_rate_percentage": "Refund rate (%)", "lead_response_minutes": "Lead response time (minutes)",
    "workload_variance_percentage": "Workload variance (%)",
    "forecast_accuracy_percentage": "Forecast accuracy (%, monthly back-test)",
}
# A spreadsheet reads a cell starting with one of these as a formula (CSV injection, OWASP): such text is
# exported with a leading apostrophe. Numbers are written as numbers.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Table:
    name: str  # the `table=` of its CSV export
    title: str
    headers: tuple[str, ...]
    rows: list[tuple[Cell, ...]]
    numeric: tuple[bool, ...] = ()

    def is_numeric(self, index: int) -> bool:
        return index < len(self.numeric) and self.numeric[index]


def _label(value: Any) -> str:
    raw = str(getattr(value, "value", value))
    return raw.replace("_", " ").capitalize()


def _table(name: str, title: str, headers: tuple[str, ...], rows: list[tuple[Cell, ...]]) -> Table:
    def is_number(value: Cell) -> bool:
        return isinstance(value, int | Decimal) and not isinstance(value, bool)

    numeric = tuple(all(r[i] is None or is_number(r[i]) for r in rows) and any(r[i] is not None for r in rows)
                    for i in range(len(headers)))
    return Table(name, title, headers, rows, numeric)


def rm_tables(board: RmDashboard) -> list[Table]:
    c = board.commissions
    trend_rows = [(_label(t.metric_type), p.period_start.isoformat(), p.period_end.isoformat(), p.achieved_value)
                  for t in board.trend for p in t.points]
    return [
        _table("targets", "Targets vs achieved", ("Metric", "Target", "Achieved", "Achievement (%)", "Status",
                                                  "Team rank", "Ranked RMs"),
               [(_label(t.metric_type), t.target_value, t.achieved_value, t.achievement_percentage, _label(t.status),
                 t.leaderboard_rank, t.leaderboard_size) for t in board.targets]),
        _table("trend", "Trend, last 12 periods", ("Metric", "Period start", "Period end", "Achieved"), trend_rows),
        _table("commissions", "Commissions of the period's months", ("Status", "Amount (INR)"),
               [("Pending", c.pending), ("Approved", c.approved), ("Paid", c.paid), ("Disputed", c.disputed),
                ("Clawed back", c.clawed_back)]),
        _table("sla", "SLA and response time", ("Figure", "Value"),
               [("Allocations met SLA", board.sla.met), ("Allocations decided", board.sla.decided),
                ("SLA compliance (%)", board.sla.compliance_percentage),
                ("Median response (minutes)", board.median_response_minutes)]),
        _table("pipeline", "Open pipeline by stage", ("Stage", "Pipelines", "Deal value (INR)"),
               [(_label(s.stage), s.count, s.deal_value) for s in board.pipeline_by_stage]),
    ]


def scope_tables(board: ScopeDashboard) -> list[Table]:
    kpis = board.kpis.model_dump()
    health = board.pipeline_health
    return [
        _table("kpis", "KPIs against the PRD's targets", ("KPI", "Value", "Target", "Met", "Why no value"),
               [(KPI_LABELS[key], k["value"], k["target"], None if k["met"] is None else ("yes" if k["met"] else "no"),
                 k["reason"]) for key, k in kpis.items()]),
        _table("funnel", "Funnel: pipelines moved into each stage in the period", ("Stage", "Pipelines"),
               [(_label(s.stage), s.count) for s in board.funnel]),
        _table("health", f"Pipeline health now (stuck: over {health.stuck_after_days} days in the stage)",
               ("Stage", "Open pipelines", "Average age (days)", "Stuck"),
               [(_label(s.stage), s.count, s.average_age_days, s.stuck) for s in health.stages]
               + [("All open stages", sum(s.count for s in health.stages), None, health.stuck),
                  ("Past their expected close date", health.overdue_expected_close, None, None)]),
        _table("workload", "Workload balance", ("RM", "Open pipelines", "Capacity", "Utilization (%)"),
               [(m.rm_name, m.open_pipelines, m.capacity, m.utilization_percentage) for m in board.workload]),
    ]


def forecast_tables(found: ForecastRead) -> list[Table]:
    figures = [("Month", found.month), ("Quarter", found.quarter)]
    return [
        _table("forecast", "Expected won deal value (95% interval)",
               ("Horizon", "Period start", "Period end", "Won to date", "Expected from open", "Expected total",
                "Low", "High", "Open pipelines", "Unscored pipelines"),
               [(name, f.period_start.isoformat(), f.period_end.isoformat(), f.won_to_date, f.expected_from_open,
                 f.expected_total, f.low, f.high, f.open_pipelines, f.unscored_pipelines) for name, f in figures]),
        _table("backtest", f"Back-test: the forecast made at each {found.backtest_period_type.value.lower()} "
                           "period's start vs what was won",
               ("Period start", "Period end", "Forecast", "Actual", "Accuracy (%)"),
               [(b.period_start.isoformat(), b.period_end.isoformat(), b.forecast, b.actual, b.accuracy_percentage)
                for b in found.backtest]),
    ]


def _csv_cell(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | Decimal):
        return str(value)
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def to_csv(table: Table) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(table.headers)
    for row in table.rows:
        writer.writerow([_csv_cell(v) for v in row])
    return out.getvalue()


def number(value: Any) -> float:
    """A figure for a chart (display only; the tables and CSVs keep the exact Decimal)."""
    return float(value) if value is not None else 0.0


def rm_charts(board: RmDashboard) -> dict[str, Any]:
    trend = {"kind": "lines", "axis": "Achieved",
             "labels": [p.period_start.isoformat() for p in board.trend[0].points] if board.trend else [],
             "datasets": [{"label": _label(t.metric_type), "data": [number(p.achieved_value) for p in t.points]}
                          for t in board.trend]}
    stages = {"labels": [_label(s.stage) for s in board.pipeline_by_stage],
              "counts": [s.count for s in board.pipeline_by_stage],
              "values": [round(number(s.deal_value) / 100_000, 2) for s in board.pipeline_by_stage]}
    return {"trend": trend, "stages": stages}


def scope_charts(board: ScopeDashboard) -> dict[str, Any]:
    funnel = {"labels": [_label(s.stage) for s in board.funnel], "axis": "Pipelines",
              "datasets": [{"label": "Moved into the stage", "data": [s.count for s in board.funnel]}]}
    workload = {"labels": [m.rm_name for m in board.workload], "axis": "Pipelines",
                "datasets": [{"label": "Open pipelines", "data": [m.open_pipelines for m in board.workload]},
                             {"label": "Capacity", "data": [m.capacity for m in board.workload]}]}
    return {"funnel": funnel, "workload": workload}


def forecast_charts(found: ForecastRead) -> dict[str, Any]:
    backtest = {"labels": [b.period_start.isoformat() for b in found.backtest], "axis": "INR",
                "datasets": [{"label": "Forecast at the period's start",
                              "data": [number(b.forecast) for b in found.backtest]},
                             {"label": "Actually won", "data": [number(b.actual) for b in found.backtest]}]}
    horizons = {"labels": ["Month", "Quarter"], "axis": "INR",
                "datasets": [{"label": "Won to date", "data": [number(found.month.won_to_date),
                                                                 number(found.quarter.won_to_date)]},
                             {"label": "Expected from open", "data": [number(found.month.expected_from_open),
                                                                       number(found.quarter.expected_from_open)]}]}
    return {"backtest": backtest, "horizons": horizons}
