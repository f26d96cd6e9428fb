"""One open pipeline per lead (issue 9 item 3): a partial unique index on sales_pipelines.lead_id.

A database that already holds leads with several open pipelines is refused, not repaired: which pipeline a
person keeps working is a business decision, and closing one properly (stage history, events, audit, the
allocation it completes) is what PATCH /pipelines/{id}/stage does. The message names the leads and their
open pipelines; close the extras, then run `sales migrate` again.

Revision ID: 0013
Revises: 0012
"""
import uuid

from alembic import op
import sqlalchemy as sa

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_OPEN = "outcome = 'PENDING'"
_SHOWN = 5  # leads named in the refusal message


class DuplicateOpenPipelines(RuntimeError):
    pass


def upgrade() -> None:
    _refuse_duplicate_open_pipelines()
    op.create_index("uq_sales_pipelines_open_lead", "sales_pipelines", ["lead_id"], unique=True,
                    postgresql_where=sa.text(_OPEN), sqlite_where=sa.text(_OPEN))


def downgrade() -> None:
    op.drop_index("uq_sales_pipelines_open_lead", table_name="sales_pipelines")


def _uuid(value: object) -> str:
    return str(uuid.UUID(str(value)))


def _refuse_duplicate_open_pipelines() -> None:
    rows = op.get_bind().execute(sa.text(
        "SELECT lead_id, id FROM sales_pipelines WHERE outcome = 'PENDING' AND lead_id IN ("
        " SELECT lead_id FROM sales_pipelines WHERE outcome = 'PENDING' GROUP BY lead_id HAVING COUNT(*) > 1)"
        " ORDER BY lead_id, created_at, id")).all()
    if not rows:
        return
    open_by_lead: dict[str, list[str]] = {}
    for lead_id, pipeline_id in rows:  # UUIDs on PostgreSQL, 32 hex digits on SQLite
        open_by_lead.setdefault(_uuid(lead_id), []).append(_uuid(pipeline_id))
    shown = "; ".join(f"lead {lead}: {', '.join(ids)}" for lead, ids in list(open_by_lead.items())[:_SHOWN])
    more = f" and {len(open_by_lead) - _SHOWN} more" if len(open_by_lead) > _SHOWN else ""
    raise DuplicateOpenPipelines(
        f"migration 0013 refused: {len(open_by_lead)} lead(s) have more than one open pipeline ({shown}{more}); "
        "close all but one per lead (PATCH /api/v1/sales/pipelines/{id}/stage to CLOSED_LOST, keeping the one "
        "the lead's live allocation names), then run `sales migrate` again")
