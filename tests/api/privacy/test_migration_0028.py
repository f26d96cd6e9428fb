"""Migration 0028 (issue 20): rows stored before it are sealed in place, under the active key with its key id,
and a downgrade opens them again (SQLite here; the suite migrates PostgreSQL through the same statements)."""
from __future__ import annotations

import json
import sqlite3
import uuid

from alembic import command

from sales.core.pii import cipher
from sales.migrate import alembic_config

HANDOFF = ("h-1", "wants a call on +91-9123456780")
CONTEXT = {"customer": {"name": "Zubeida Quraishi"}, "budget": 25000.50}


def test_migration_seals_existing_rows_and_downgrade_restores_them(tmp_path):
    path = tmp_path / "sales.db"
    config = alembic_config(f"sqlite+aiosqlite:///{path}")
    command.upgrade(config, "0027")
    shortlist = uuid.uuid4().hex
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO sales_handoffs (id, user_id, direction, reason, context, outcome, pipeline_ids, "
                   "created_by, created_at) VALUES (?, ?, 'TO_ASSISTED', ?, ?, 'QUEUED', '[]', ?, "
                   "'2026-01-10 10:00:00')", (HANDOFF[0], uuid.uuid4().hex, HANDOFF[1], json.dumps(CONTEXT),
                                               uuid.uuid4().hex))
        for version in (1, 2, 3):  # a composite primary key, walked in order
            db.execute("INSERT INTO journey_shortlist_versions (shortlist_id, version, items, notes, diff, created_by, "
                       "created_at) VALUES (?, ?, '[]', ?, '{}', ?, '2026-01-10 10:00:00')",
                       (shortlist, version, f"note {version} for Zubeida", uuid.uuid4().hex))
    command.upgrade(config, "0028")
    with sqlite3.connect(path) as db:
        reason, context = db.execute("SELECT reason, context FROM sales_handoffs").fetchone()
        notes = [n for (n,) in db.execute("SELECT notes FROM journey_shortlist_versions ORDER BY version")]
    assert all(v.startswith("default:") and "Zubeida" not in v and "9123456780" not in v
               for v in (reason, context, *notes))
    assert cipher().decrypt(reason) == HANDOFF[1]
    assert json.loads(cipher().decrypt(context)) == CONTEXT
    assert [cipher().decrypt(n) for n in notes] == [f"note {v} for Zubeida" for v in (1, 2, 3)]
    command.downgrade(config, "0027")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT reason FROM sales_handoffs").fetchone() == (HANDOFF[1],)
        assert json.loads(db.execute("SELECT context FROM sales_handoffs").fetchone()[0]) == CONTEXT
        assert [n for (n,) in db.execute("SELECT notes FROM journey_shortlist_versions ORDER BY version")] == [
            f"note {v} for Zubeida" for v in (1, 2, 3)]
