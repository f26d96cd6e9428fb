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


# The statement that chains an audit row (`audit_chain._chain_statement`), cut short.
_CHAINING = ("WITH audit_head AS \n(SELECT audit_chain.length AS length, audit_chain.head_hash AS head_hash \n"
             "FROM audit_chain \nWHERE audit_chain.partition = $1::INTEGER FOR UPDATE), \n"
             "link0 AS \n(SELECT audit_head.length + 1 AS position, audit_head.head_hash AS prev_hash, "
             "encode(sha256(convert_to(audit_head.head_hash || chr(10) || $4::VARCHAR || "
             "CAST(audit_head.length + 1 AS TEXT) || $5::VARCHAR, 'UTF8')), 'hex') AS hash \nFROM audit_head), \n"
             "audited AS \n(INSERT INTO audit_log (id, actor_id, partition, chain_pos, prev_hash, hash) "
             "SELECT $2::UUID, $3::UUID, $1::INTEGER, link0.position, link0.prev_hash, link0.hash FROM link0), \n"
             "advanced AS \n(UPDATE audit_chain SET length=((SELECT audit_head.length FROM audit_head) + 1), "
             "head_hash=(SELECT link0.hash FROM link0) WHERE audit_chain.partition = $1::INTEGER "
             "RETURNING audit_chain.partition)\n SELECT EXISTS (SELECT advanced.partition FROM advanced) AS chained")


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
        Statement(_CHAINING, (60, uuid.UUID(int=7), ACTOR, '{"action":', ',"request_id":null}'),
                  ("head_partition", "a0_id", "a0_actor_id", "a0_before_position", "a0_after_position")),
        Statement("INSERT INTO notifications (dedupe_key, data) VALUES ($1::VARCHAR, $2::JSONB)",
                  (f"lead_assigned:{ALLOCATION}", f'{{"lead_id":"{LEAD}","ok":true}}'), ("dedupe_key", "data")),
        "COMMIT",
    ]
    varying = {LEAD: "new_id", ALLOCATION: "new_id", uuid.UUID(int=7): "new_id", RM: "rm", "ahmedabad": "city",
               "bodakdev": "locality"}
    return Capture("allocation", 201, items, varying=varying)


def test_script_has_the_captured_statements_in_order_inside_the_same_transaction() -> None:
    script = pgbench_script(_capture())
    assert (script.statements, script.transactions) == (5, 1)
    assert script_counts(script.text) == {"statements": 5, "transactions": 1}
    body = "\n".join(line for line in script.text.splitlines() if not line.startswith(("--", "\\set")))
    assert [command.split()[0] for command in body.split(";") if command.strip()] == [
        "BEGIN", "SELECT", "UPDATE", "INSERT", "WITH", "INSERT", "COMMIT"]


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


def test_the_audit_rows_partition_varies_and_the_database_takes_the_positions() -> None:
    """The chaining statement locks a random partition's head (`:p`); positions and hashes come from that head in
    the statement itself (nothing for pgbench to carry from one statement to the next)."""
    text = pgbench_script(_capture()).text
    assert "\\set p random(0, 63)" in text and "\\gset" not in text
    chaining = text[text.index("WITH audit_head"):text.index("INSERT INTO notifications")]
    assert chaining.count(":p::INTEGER") == 3 and "60" not in chaining
    assert "md5(:g3::text)::uuid::UUID" in chaining and str(uuid.UUID(int=7)) not in chaining


def test_literals_never_look_like_pgbench_variables() -> None:
    assert literal("09:00:00; 'x'\\") == "E'09\\x3a00\\x3a00\\x3b \\'x\\'\\\\'"
    assert literal(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)) == "E'2026-03-02T09\\x3a00\\x3a00+00\\x3a00'"
    assert literal(None) == "NULL" and literal(True) == "true" and literal(3) == "3"
    assert literal(Decimal("1500000.00")) == "1500000.00"
    assert literal([]) == "E'{}'" and literal(["a", "b"]) == "ARRAY[E'a', E'b']"
    assert literal(b"\x01\xff") == "E'\\\\x01ff'"


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
