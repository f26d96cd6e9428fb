"""Issue 19 step 6: the pgbench script generated from a captured request runs the same statements, in the same
order and transactions, with what must vary per transaction turned into pgbench variables."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from decimal import Decimal

from sales.bench.capture import Capture, Statement, literal, pgbench_script, script_counts

LEAD = uuid.UUID("58e00e8c-64be-4012-b312-41a982f11ec0")
ALLOCATION = uuid.UUID("e0ec03d1-3da4-4586-a329-8634e72c53ff")
RM = uuid.UUID("7b8b8e57-4058-4301-b6c1-44ea9ed845f2")
ACTOR = uuid.UUID("ce3dd27c-0f9d-41b1-a880-cefb9f98d9db")


def _capture() -> Capture:
    items = [
        "BEGIN",
        Statement("SELECT rms.id FROM rms JOIN rm_localities ON rm_localities.rm_id = rms.id "
                  "WHERE rm_localities.city = $1::VARCHAR AND rm_localities.locality = $2::VARCHAR",
                  ("ahmedabad", "bodakdev"), ("city_1", "locality_1")),
        Statement("UPDATE rms SET active_leads=(rms.active_leads + $1::INTEGER) WHERE rms.id = $2::UUID",
                  (1, RM), ("active_leads_1", "id_1")),
        Statement("INSERT INTO rm_allocations (id, lead_id, rm_id, deal_value, at) "
                  "VALUES ($1::UUID, $2::UUID, $3::UUID, $4::NUMERIC, $5::TIMESTAMP WITH TIME ZONE)",
                  (ALLOCATION, LEAD, RM, Decimal("1500000.00"), datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)),
                  ("id", "lead_id", "rm_id", "deal_value", "at")),
        Statement("UPDATE audit_chain SET length=(audit_chain.length + $1::BIGINT) WHERE audit_chain.partition = "
                  "$2::INTEGER RETURNING audit_chain.length, audit_chain.head_hash",
                  (1, 60), ("length_1", "partition_1")),
        Statement("INSERT INTO audit_log (id, actor_id, partition, chain_pos, prev_hash) "
                  "VALUES ($1::UUID, $2::UUID, $3::INTEGER, $4::BIGINT, $5::VARCHAR)",
                  (uuid.UUID(int=7), ACTOR, 60, 12, "ab" * 32),
                  ("id", "actor_id", "partition", "chain_pos", "prev_hash")),
        Statement("INSERT INTO notifications (dedupe_key, data) VALUES ($1::VARCHAR, $2::JSONB)",
                  (f"lead_assigned:{ALLOCATION}", f'{{"lead_id":"{LEAD}","ok":true}}'), ("dedupe_key", "data")),
        "COMMIT",
    ]
    varying = {LEAD: "new_id", ALLOCATION: "new_id", uuid.UUID(int=7): "new_id", RM: "rm", "ahmedabad": "city",
               "bodakdev": "locality"}
    return Capture("allocation", 201, items, varying=varying)


def test_script_has_the_captured_statements_in_order_inside_the_same_transaction() -> None:
    script = pgbench_script(_capture())
    assert (script.statements, script.transactions) == (6, 1)
    assert script_counts(script.text) == {"statements": 6, "transactions": 1}
    body = [line for line in script.text.splitlines() if line and not line.startswith(("--", "\\set"))]
    assert body[0] == "BEGIN;" and body[-1] == "COMMIT;"
    assert [line.split(" ")[0] for line in body[1:-1]] == ["SELECT", "UPDATE", "INSERT", "UPDATE", "INSERT", "INSERT"]


def test_what_varies_per_transaction_becomes_pgbench_variables() -> None:
    text = pgbench_script(_capture()).text
    assert "\\set g1 random(" in text and "\\set r random(1, :nrm)" in text and "\\set k random(1, :nloc)" in text
    # the lead id is one variable wherever it is used, also inside strings (event envelopes, dedupe keys)
    lead_var = "md5(:g1::text)::uuid"
    assert text.count(lead_var) == 2 and str(LEAD) not in text and str(ALLOCATION) not in text
    assert "(E'lead_assigned\\x3a' || md5(:g2::text)::uuid::text)::VARCHAR" in text
    assert "(SELECT id FROM bench_rm_ids WHERE n = :r)::UUID" in text and str(RM) not in text
    assert "(SELECT city FROM bench_localities WHERE n = :k)::VARCHAR" in text
    # the principal is the same in every request: a literal
    assert f"E'{ACTOR}'::UUID" in text


def test_audit_chain_positions_come_from_the_head_update() -> None:
    text = pgbench_script(_capture()).text
    assert "\\set p random(0, 63)" in text
    head = next(line for line in text.splitlines() if line.startswith("UPDATE audit_chain"))
    assert head.endswith(" \\gset") and "partition = :p::INTEGER" in head
    row = next(line for line in text.splitlines() if line.startswith("INSERT INTO audit_log"))
    assert ":p::INTEGER, :length::BIGINT, :head_hash::VARCHAR" in row


def test_literals_never_look_like_pgbench_variables() -> None:
    assert literal("09:00:00; 'x'\\") == "E'09\\x3a00\\x3a00\\x3b \\'x\\'\\\\'"
    assert literal(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)) == "E'2026-03-02T09\\x3a00\\x3a00+00\\x3a00'"
    assert literal(None) == "NULL" and literal(True) == "true" and literal(3) == "3"
    assert literal(Decimal("1500000.00")) == "1500000.00"
    assert literal([]) == "E'{}'" and literal(["a", "b"]) == "ARRAY[E'a', E'b']"
    assert literal(b"\x01\xff") == "E'\\\\x01ff'"


def test_audit_rows_chained_together_take_the_positions_up_to_the_head() -> None:
    """Issue 19: rows chained in one statement (`audit_chain.deferred`): the last at the head's new length, the ones
    before it below, the first linked to the head's previous hash."""
    items = [
        "BEGIN",
        Statement("UPDATE audit_chain SET length=(audit_chain.length + $1::BIGINT) WHERE audit_chain.partition = "
                  "$2::INTEGER RETURNING audit_chain.length, audit_chain.head_hash",
                  (2, 60), ("advance_by", "head_partition")),
        Statement("WITH audited AS (INSERT INTO audit_log (id, partition, chain_pos, prev_hash) SELECT $1::UUID, "
                  "$2::INTEGER, $3::BIGINT, $4::VARCHAR UNION ALL SELECT $5::UUID, $6::INTEGER, $7::BIGINT, "
                  "$8::VARCHAR) UPDATE audit_chain SET head_hash=$9::VARCHAR "
                  "WHERE audit_chain.partition = $10::INTEGER",
                  (uuid.UUID(int=7), 60, 11, "ab" * 32, uuid.UUID(int=8), 60, 12, "cd" * 32, "ef" * 32, 60),
                  ("a0_id", "a0_partition", "a0_chain_pos", "a0_prev_hash", "a1_id", "a1_partition", "a1_chain_pos",
                   "a1_prev_hash", "new_head", "head_partition")),
        "COMMIT",
    ]
    text = pgbench_script(Capture("allocation", 201, items,
                                  varying={uuid.UUID(int=7): "new_id", uuid.UUID(int=8): "new_id"})).text
    row = next(line for line in text.splitlines() if line.startswith("WITH audited"))
    assert ":p::INTEGER, (:length - 1)::BIGINT, :head_hash::VARCHAR UNION ALL" in row
    assert f":p::INTEGER, :length::BIGINT, E'{'cd' * 32}'::VARCHAR)" in row
    assert row.endswith("WHERE audit_chain.partition = :p::INTEGER;")


def test_ids_first_seen_in_any_insert_vary_per_transaction() -> None:
    """The allocation's INSERT comes after a CTE (`WITH allocated_lead AS (UPDATE leads ...) INSERT INTO ...`): its
    new id must still vary, or every pgbench transaction inserts the same allocation and waits on the first."""
    from sales.bench.capture import _varying

    statements = [
        Statement("WITH allocated_lead AS (UPDATE leads SET allocation_status=$1::VARCHAR WHERE leads.id = $2::UUID) "
                  "INSERT INTO rm_allocations (id, lead_id, rm_id) VALUES ($3::UUID, $4::UUID, $5::UUID)",
                  ("ALLOCATED", LEAD, ALLOCATION, LEAD, RM), ("a", "b", "c", "d", "e")),
        Statement("WITH audited AS (INSERT INTO audit_log (id, actor_id) VALUES ($1::UUID, $2::UUID)) "
                  "UPDATE audit_chain SET head_hash=$3::VARCHAR", (uuid.UUID(int=7), ACTOR, "ab"), ("f", "g", "h")),
        Statement("SELECT count(*) FROM rm_allocations WHERE rm_id = $1::UUID AND id <> $2::UUID",
                  (RM, uuid.UUID(int=9)), ("i", "j")),
    ]
    body = {"lead_id": str(LEAD), "city": "Ahmedabad", "locality": "Bodakdev"}
    varying = _varying(Capture("allocation", 201, ["BEGIN", *statements, "COMMIT"]), "allocation", body,
                       {"rm_id": str(RM)}, str(RM), {ACTOR})
    assert varying[ALLOCATION] == varying[uuid.UUID(int=7)] == varying[LEAD] == "new_id"
    assert varying[RM] == "rm" and ACTOR not in varying and uuid.UUID(int=9) not in varying  # read, not inserted


def test_a_head_advance_carrying_riders_sets_the_positions_too() -> None:
    """Issue 19: with riders (`audit_chain.Rider`: the RM's notification) the head's advance is a CTE of a SELECT
    that gives the head back: pgbench still takes `:length` and `:head_hash` from it."""
    items = [
        "BEGIN",
        Statement("WITH advanced AS \n(UPDATE audit_chain SET length=(audit_chain.length + $1::BIGINT) WHERE "
                  "audit_chain.partition = $2::INTEGER RETURNING audit_chain.length, audit_chain.head_hash), \n"
                  "rider0 AS \n(INSERT INTO notifications (id) VALUES ($3::UUID) ON CONFLICT (dedupe_key) DO NOTHING "
                  "RETURNING notifications.id)\n SELECT (SELECT advanced.length FROM advanced) AS length, "
                  "(SELECT advanced.head_hash FROM advanced) AS head_hash, EXISTS (SELECT rider0.id FROM rider0) "
                  "AS rider0",
                  (1, 60, uuid.UUID(int=9)), ("advance_by", "head_partition", "r0_id")),
        Statement("WITH audited AS (INSERT INTO audit_log (id, partition, chain_pos, prev_hash) SELECT $1::UUID, "
                  "$2::INTEGER, $3::BIGINT, $4::VARCHAR) UPDATE audit_chain SET head_hash=$5::VARCHAR "
                  "WHERE audit_chain.partition = $6::INTEGER",
                  (uuid.UUID(int=7), 60, 11, "ab" * 32, "ef" * 32, 60),
                  ("a_id", "a_partition", "a_chain_pos", "a_prev_hash", "new_head", "head_partition")),
        "COMMIT",
    ]
    text = pgbench_script(Capture("allocation", 201, items,
                                  varying={uuid.UUID(int=7): "new_id", uuid.UUID(int=9): "new_id"})).text
    head = text[text.index("WITH advanced"):text.index("WITH audited")].rstrip()  # one command over its lines
    assert head.endswith(" \\gset") and "partition = :p::INTEGER" in head and str(uuid.UUID(int=9)) not in head
    row = next(line for line in text.splitlines() if line.startswith("WITH audited"))
    assert ":p::INTEGER, :length::BIGINT, :head_hash::VARCHAR)" in row
