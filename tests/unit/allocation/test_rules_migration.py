"""Issue 17 migration 0029: rule sets stored as full copies keep their effective rules, now stored as overrides
(SQLite here; PostgreSQL runs the same statements when the suite migrates it)."""
from __future__ import annotations

import json
import sqlite3

from sales.allocation import inheritance
from sales.allocation.config import AllocationRules


def test_full_rule_sets_become_overrides_with_the_same_effective_rules(tmp_path):
    from alembic import command

    from sales.migrate import alembic_config

    path = tmp_path / "sales.db"
    config = alembic_config(f"sqlite+aiosqlite:///{path}")
    command.upgrade(config, "0028")
    star = {**AllocationRules().model_dump(mode="json"), "sla_minutes": 90}
    city = {**star, "max_sla_breaches": 3, "skill_match": {"property_type": True, "segment": False,
                                                           "deal_size": True}}
    with sqlite3.connect(path) as db:
        for n, (name, rules) in enumerate((("*", star), ("bangalore", city))):
            db.execute("INSERT INTO allocation_rule_sets (id, city, version, config, is_current, created_at) "
                       "VALUES (?, ?, 1, ?, 1, '2026-01-10 10:00:00')", (f"{n:032x}", name, json.dumps(rules)))
    command.upgrade(config, "0029")
    with sqlite3.connect(path) as db:
        stored = dict(db.execute("SELECT city, config FROM allocation_rule_sets").fetchall())
    star_now, city_now = json.loads(stored["*"]), json.loads(stored["bangalore"])
    assert star_now == {"sla_minutes": 90}
    assert city_now == {"max_sla_breaches": 3, "skill_match": {"segment": False}}
    assert inheritance.effective(star_now, city_now) == AllocationRules.model_validate(city)
