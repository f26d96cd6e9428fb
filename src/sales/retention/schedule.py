"""The retention schedule of every table of the service, as data (issue 20, PRD §8.5). docs/retention.md is
this table in prose; `tests/unit/retention` holds the two together and checks that every table is listed.

Disposal:
- ARCHIVE: the `archive` job moves rows older than `keep` (by `column`, and matching `only`) to gzip JSON-lines
  files under SALES_ARCHIVE_DIR and deletes them, children before parents (a row another row still refers to by
  a foreign key waits for it).
- PRUNE: another job deletes the rows (`by`); they are transient operational state, never archived.
- KEEP: current state or configuration, kept while in use (overwritten in place, not accumulating).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import ColumnElement, Table

from sales.models import metadata

SEVEN_YEARS = timedelta(days=7 * 365 + 2)   # PRD §8.5: sales communication records and audit, 7 years
EIGHT_YEARS = timedelta(days=8 * 365 + 2)   # Companies Act 2013 s.128(5): books of account 8 financial years

COMMUNICATION = "sales communication record: kept 7 years (PRD §8.5)"
FINANCIAL = ("financial record: kept 8 years (Companies Act 2013 s.128(5) books of account; covers the Income Tax "
             "Act and GST periods; commissions auditable for tax, refunds per RBI, PRD §8.5)")
STATE = "current state or configuration, kept while in use; customer data in it is erased with the customer"


class Disposal(StrEnum):
    ARCHIVE = "ARCHIVE"
    PRUNE = "PRUNE"
    KEEP = "KEEP"


@dataclass(frozen=True)
class Retention:
    table: str
    disposal: Disposal
    why: str
    keep: timedelta | None = None      # ARCHIVE: age after which a row is moved out
    column: str | None = None          # ARCHIVE: the timestamp the age is measured from
    only: str | None = None            # ARCHIVE: a further condition (column IN values), "column=V1|V2"
    by: str | None = None              # PRUNE: the job (and setting) that deletes the rows

    def condition(self, table: Table) -> list[ColumnElement[bool]]:
        if not self.only:
            return []
        name, _, values = self.only.partition("=")
        return [table.c[name].in_(values.split("|"))]


def _archive(table: str, keep: timedelta, column: str, why: str, only: str | None = None) -> Retention:
    return Retention(table, Disposal.ARCHIVE, why, keep=keep, column=column, only=only)


def _keep(table: str, why: str = STATE) -> Retention:
    return Retention(table, Disposal.KEEP, why)


SCHEDULE: tuple[Retention, ...] = (
    # --- audit (PRD §8.5): archived in chain order; the archived anchor keeps `sales audit verify` working
    _archive("audit_log", SEVEN_YEARS, "at", "audit trail: kept 7 years (PRD §8.5); archived per hash-chain "
             "partition from its start, the last archived hash kept as the partition's anchor"),
    _keep("audit_chain", "the audit chains' heads and archived anchors (64 rows); needed to verify the trail"),
    # --- sales communication records, 7 years after their last change
    _archive("leads", SEVEN_YEARS, "updated_at", COMMUNICATION),
    _archive("rm_allocations", SEVEN_YEARS, "updated_at", COMMUNICATION),
    _archive("sales_pipelines", SEVEN_YEARS, "updated_at", COMMUNICATION),
    _archive("pipeline_stage_history", SEVEN_YEARS, "changed_at", COMMUNICATION),
    _archive("forecast_learning", SEVEN_YEARS, "closed_at", "the forecast's learning rows of closed pipelines "
             "(derived from their history): archived with it, 7 years after the close"),
    _archive("sales_tasks", SEVEN_YEARS, "updated_at", COMMUNICATION),
    _archive("deal_checklists", SEVEN_YEARS, "updated_at", COMMUNICATION),
    _archive("deal_documents", SEVEN_YEARS, "uploaded_at", COMMUNICATION + "; the stored file stays under the "
             "key the archived row names"),
    _archive("journey_requirements", SEVEN_YEARS, "created_at", COMMUNICATION),
    _archive("journey_shortlists", SEVEN_YEARS, "updated_at", COMMUNICATION),
    _archive("journey_shortlist_versions", SEVEN_YEARS, "created_at", COMMUNICATION),
    _archive("journey_shares", SEVEN_YEARS, "created_at", COMMUNICATION),
    _archive("journey_feedback", SEVEN_YEARS, "created_at", COMMUNICATION),
    _archive("visit_plans", SEVEN_YEARS, "updated_at", COMMUNICATION),
    _archive("visit_stops", SEVEN_YEARS, "updated_at", COMMUNICATION),
    _archive("sales_handoffs", SEVEN_YEARS, "created_at", COMMUNICATION),
    _archive("upsells", SEVEN_YEARS, "updated_at", COMMUNICATION),
    _archive("upsell_decisions", SEVEN_YEARS, "decided_at", COMMUNICATION),
    _archive("notifications", SEVEN_YEARS, "created_at", COMMUNICATION + " (messages to customers and staff)"),
    _archive("target_csat_scores", SEVEN_YEARS, "at", COMMUNICATION + " (customer feedback)"),
    # --- financial records, 8 years
    _archive("orders", EIGHT_YEARS, "updated_at", FINANCIAL),
    _archive("order_refunds", EIGHT_YEARS, "received_at", FINANCIAL),
    _archive("refunds", EIGHT_YEARS, "updated_at", FINANCIAL),
    _archive("refund_events", EIGHT_YEARS, "at", FINANCIAL),
    _archive("refund_evidence", EIGHT_YEARS, "uploaded_at", FINANCIAL + "; the stored file stays under its key"),
    _archive("commissions", EIGHT_YEARS, "updated_at", FINANCIAL),
    _archive("commission_payouts", EIGHT_YEARS, "created_at", FINANCIAL),
    _archive("sales_targets", EIGHT_YEARS, "updated_at", FINANCIAL + " (targets tier commissions)"),
    # --- operational records, shorter
    _archive("customer_property_views", timedelta(days=2 * 365), "viewed_at",
             "behavioural context (views) used for suggestions and upsell triggers: 2 years, data minimisation"),
    _archive("console_sessions", timedelta(days=180), "last_seen_at",
             "console sign-in sessions: 180 days after last use, for security investigations"),
    _archive("console_login_attempts", timedelta(days=180), "at",
             "console sign-in attempts: 180 days, for security investigations (lockout needs minutes)"),
    _archive("rm_leaves", timedelta(days=3 * 365), "created_at", "RM leave periods: 3 years (capacity history)"),
    Retention("outbox_events", Disposal.PRUNE, "events we published: deleted once published (or served by the "
              "feed) and older than SALES_EVENTS_RETENTION_DAYS (30)", by="events-prune"),
    Retention("inbox_events", Disposal.PRUNE, "events we consumed: PROCESSED/IGNORED rows deleted after "
              "SALES_EVENTS_RETENTION_DAYS (30); PARKED/FAILED rows stay until an operator resolves them",
              by="events-prune"),
    Retention("idempotency_keys", Disposal.PRUNE, "retry replays: deleted after SALES_IDEMPOTENCY_TTL_HOURS (24)",
              by="idempotency-prune"),
    Retention("dashboard_snapshots", Disposal.PRUNE, "the console's cached dashboard figures (recomputable from the "
              "records): deleted once unread for a week", by="dashboards-refresh"),
    _keep("forecast_learning_counts", "the forecast's learning counted per past cut (recomputable; its triggers "
          "delete a cut's counts when a change can alter them; a few rows a month)"),
    # --- current state and configuration
    _keep("clock_state", "the business clock (one row)"),
    _keep("worker_jobs", "one row per periodic job: its next slot and last result"),
    _keep("console_users"),
    _keep("teams"), _keep("rms"), _keep("rm_localities"),
    _keep("allocation_rule_sets", "versioned allocation rules: they explain every allocation, kept with them"),
    _keep("allocation_queue_alerts", "one row per RM or team queue: whether it is over its alert threshold now"),
    _keep("commission_plans", "versioned commission plans: they explain every commission, kept with them"),
    _keep("plans"), _keep("plan_guarantees"), _keep("plan_usage"),
    _keep("inventory_listings"), _keep("owner_availability"), _keep("customer_preferences"),
    _keep("upsell_trigger_configs", "versioned trigger configuration: explains upsell decisions, kept with them"),
    _keep("upsell_experiments", "experiments: explain upsell decisions, kept with them"),
    _keep("upsell_trigger_fires", "the last firing of each trigger per user (de-duplication state)"),
    _keep("upsell_user_gates"), _keep("sales_handoff_users"),
    _keep("archive_manifests", "the archive's manifests: what each run moved where, with counts and sha256"),
)

BY_TABLE: dict[str, Retention] = {entry.table: entry for entry in SCHEDULE}


def archived_in_order() -> list[tuple[Table, Retention]]:
    """ARCHIVE tables, children before parents (a parent row waits until no row refers to it)."""
    return [(table, BY_TABLE[table.name]) for table in reversed(metadata.sorted_tables)
            if BY_TABLE.get(table.name) and BY_TABLE[table.name].disposal is Disposal.ARCHIVE]
