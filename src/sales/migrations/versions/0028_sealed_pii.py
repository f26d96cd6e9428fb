"""data protection (issue 20): customer PII columns sealed with AES-256-GCM (key id per value)

Free text and documents that hold what a customer said or where they are (refund reasons and timeline notes,
evidence and deal document file names, evidence notes, requirements, shortlist notes, feedback comments, pipeline/task/visit notes,
handoff reasons and context, shortlist titles: "Shortlist for <name>") become TEXT holding `<key id>:<base64>` (sales.core.sealed). Existing rows are
sealed in place, in batches, under the active key. PostgreSQL changes the column types; SQLite keeps its
declared types (it stores any text in them).

Revision ID: 0028
Revises: 0027
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from sales.core.pii import cipher

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

BATCH = 500
JSON = postgresql.JSONB(astext_type=sa.Text())
# (table, primary key columns, column, its type before, nullable)
SEALED = [
    ("refunds", ("id",), "reason", sa.String(1000), False),
    ("refunds", ("id",), "decision_reason", sa.String(1000), True),
    ("refund_events", ("seq",), "note", sa.String(1000), True),
    ("refund_evidence", ("seq",), "note", sa.String(1000), True),
    ("refund_evidence", ("seq",), "filename", sa.String(255), False),
    ("deal_documents", ("id",), "filename", sa.String(255), False),
    ("journey_requirements", ("id",), "data", JSON, False),
    ("journey_shortlists", ("id",), "title", sa.String(200), False),
    ("journey_shortlists", ("id",), "notes", sa.Text(), True),
    ("journey_shortlist_versions", ("shortlist_id", "version"), "notes", sa.Text(), True),
    ("journey_feedback", ("seq",), "comment", sa.String(1000), True),
    ("sales_pipelines", ("id",), "notes", sa.Text(), True),
    ("sales_tasks", ("id",), "notes", sa.Text(), True),
    ("visit_stops", ("id",), "notes", sa.Text(), True),
    ("sales_handoffs", ("id",), "reason", sa.Text(), False),
    ("sales_handoffs", ("id",), "context", JSON, True),
]


def _rewrite(table_name: str, keys: tuple[str, ...], column: str, change) -> None:  # type: ignore[no-untyped-def]
    """Apply `change` to every non-null value of the column, keyset-batched on the primary key."""
    bind = op.get_bind()
    table = sa.table(table_name, *(sa.column(k) for k in keys), sa.column(column, sa.Text()))
    key = sa.tuple_(*(table.c[k] for k in keys)) if len(keys) > 1 else table.c[keys[0]]
    last = None
    while True:
        query = sa.select(*(table.c[k] for k in keys), table.c[column]).where(table.c[column].is_not(None))
        if last is not None:
            query = query.where(key > (sa.tuple_(*(sa.literal(v) for v in last)) if len(keys) > 1 else last[0]))
        rows = bind.execute(query.order_by(*(table.c[k] for k in keys)).limit(BATCH)).all()
        if not rows:
            return
        for row in rows:
            where = sa.and_(*(table.c[k] == row[i] for i, k in enumerate(keys)))
            bind.execute(sa.update(table).where(where).values({column: change(row[-1])}))
        last = tuple(rows[-1][:len(keys)])


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    aead = cipher()
    for table, keys, column, before, _nullable in SEALED:
        if postgres and not isinstance(before, sa.Text):
            op.execute(f'ALTER TABLE {table} ALTER COLUMN "{column}" TYPE TEXT USING "{column}"::text')
        _rewrite(table, keys, column, aead.encrypt)


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    aead = cipher()
    for table, keys, column, before, _nullable in SEALED:
        _rewrite(table, keys, column, aead.decrypt)
        if postgres and not isinstance(before, sa.Text):
            target = "JSONB" if before is JSON else f"VARCHAR({before.length})"
            op.execute(f'ALTER TABLE {table} ALTER COLUMN "{column}" TYPE {target} USING "{column}"::{target}')
