"""The retention schedule (issue 20, PRD §8.5) covers every table, once, and matches docs/retention.md."""
from __future__ import annotations

import re
from pathlib import Path

from sales.core.jobs import JOBS
from sales.models import metadata
from sales.retention import jobs as _jobs  # noqa: F401  (registers archive)
from sales.retention.schedule import (
    BY_TABLE, EIGHT_YEARS, SCHEDULE, SEVEN_YEARS, Disposal, archived_in_order,
)
from sales.worker import discover_jobs

DOC = Path(__file__).resolve().parents[3] / "docs" / "retention.md"


def test_every_table_has_exactly_one_entry():
    names = [entry.table for entry in SCHEDULE]
    assert len(names) == len(set(names))
    assert set(names) == set(metadata.tables)


def test_archived_tables_name_a_timestamp_and_an_age():
    for entry in SCHEDULE:
        if entry.disposal is Disposal.ARCHIVE:
            assert entry.keep is not None and entry.column in metadata.tables[entry.table].c, entry.table
        else:
            assert entry.keep is None and entry.column is None, entry.table
        assert entry.why


def test_pruned_tables_name_a_registered_job():
    discover_jobs()
    for entry in SCHEDULE:
        if entry.disposal is Disposal.PRUNE:
            assert entry.by in JOBS, entry.table


def test_prd_8_5_audit_and_communication_records_are_kept_seven_years():
    for table in ("audit_log", "leads", "sales_pipelines", "pipeline_stage_history", "rm_allocations",
                  "notifications", "upsells", "journey_shortlists", "journey_feedback", "visit_stops"):
        assert BY_TABLE[table].keep == SEVEN_YEARS, table
    for table in ("orders", "refunds", "refund_events", "commissions", "commission_payouts", "order_refunds"):
        assert BY_TABLE[table].keep == EIGHT_YEARS, table
    assert SEVEN_YEARS.days >= 7 * 365 + 1


def test_children_are_archived_before_their_parents():
    order = [table.name for table, _ in archived_in_order()]
    for table, _ in archived_in_order():
        for fk in table.foreign_keys:
            parent = fk.column.table.name
            if parent in order and parent != table.name:
                assert order.index(table.name) < order.index(parent), (table.name, parent)


def test_the_documented_schedule_lists_every_table_with_its_disposal():
    rows = dict(re.findall(r"^\| `([a-z_]+)` \| ([A-Z]+) \|", DOC.read_text(), flags=re.MULTILINE))
    assert rows == {entry.table: entry.disposal.value for entry in SCHEDULE}


def test_the_archive_job_is_registered():
    assert "archive" in discover_jobs()
