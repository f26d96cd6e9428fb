"""The raw-SQL baseline runs exactly what the service runs (issue 19, step 6).

`capture` serves requests of one benchmarked operation in process (the real app, over ASGI, on the benchmark
database) with a `before_cursor_execute` listener on its engine: every statement SQLAlchemy sends, with its
parameters, in order, and where the driver opens and ends a transaction (BEGIN is sent lazily before the first
statement of a transaction; reads on PostgreSQL run without one, `core/db.py`). The first request warms the
per-process caches (rules, tokens, compiled statements); the second one is the capture.

`pgbench_script` turns a capture into a pgbench script: the same statements in the same order, inside the same
BEGIN/COMMIT. Parameters become literals, except what must vary per transaction:
- ids the request brings or the service generates (lead id, allocation, pipeline, outbox and audit ids): a
  pgbench random number per id and transaction, `md5(:gN::text)::uuid`, the same in every statement using it;
- the RM whose rows the request reads or writes: `(SELECT id FROM bench_rm_ids WHERE n = :r)`, a random RM per
  transaction, so that clients do not queue on one `rms` row (bench_rm_ids is filled by `sales bench run`);
- the lead's city and locality (allocation): a random (city, locality) pair from `bench_localities`.
String literals are written as E'' strings with `:` escaped, so pgbench never takes part of a value for a
variable.
"""
from __future__ import annotations

import asyncio
import json
import random
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

from sales.bench.server import BENCH_JWT_SECRET
from sales.settings import Settings

API = "/api/v1/sales"
CAPTURED_OPERATIONS = ("allocation", "pipeline_list")


@dataclass
class Statement:
    sql: str
    params: tuple
    names: tuple = ()  # the bind parameters' names, in the order of $1, $2, ... (when SQLAlchemy compiled it)


@dataclass
class Capture:
    """One request's database work: `items` are Statement, "BEGIN" or "COMMIT"/"ROLLBACK" in order."""
    operation: str
    status: int
    items: list = field(default_factory=list)
    # what varies per transaction: captured value -> kind ("new_id", "rm", "city", "locality")
    varying: dict[Any, str] = field(default_factory=dict)

    @property
    def statements(self) -> list[Statement]:
        return [i for i in self.items if isinstance(i, Statement)]

    def counts(self) -> dict[str, int]:
        return {"statements": len(self.statements), "transactions": sum(1 for i in self.items if i == "BEGIN")}


def _recorder(items: list) -> tuple[Any, Any]:
    def before(conn: Any, _cursor: Any, statement: str, parameters: Any, context: Any, _many: bool) -> None:
        dbapi = conn.connection.dbapi_connection
        # asyncpg adapter: BEGIN goes out right before the first statement when not in autocommit mode
        if not dbapi.autocommit and getattr(dbapi, "_transaction", None) is None:
            items.append("BEGIN")
        compiled = getattr(context, "compiled", None)
        names = tuple(getattr(compiled, "positiontup", None) or ())
        items.append(Statement(statement, tuple(parameters or ()), names))

    def ended(kind: str) -> Any:
        def listener(conn: Any) -> None:
            dbapi = conn.connection.dbapi_connection
            if getattr(dbapi, "_transaction", None) is not None:
                items.append(kind)
        return listener

    return before, ended


def _app_settings(settings: Settings) -> Settings:
    """The benchmarked service's settings (`bench.server.service_env`), for the app in this process."""
    from sales.settings import Environment

    return settings.model_copy(update={"env": Environment.PRODUCTION, "jwt_secret": BENCH_JWT_SECRET,
                                       "log_level": "WARNING", "rate_limits_enabled": False})


async def _capture(settings: Settings, operation: str, world: dict, rng: random.Random) -> Capture:
    from sales.app import create_app
    from sales.core.db import create_engine

    app_settings = _app_settings(settings)
    engine = create_engine(app_settings)
    app = create_app(app_settings, engine=engine)
    items: list = []
    before, ended = _recorder(items)
    rm = world["rms"][0]
    try:
        await _audit_partitions(engine)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:
            async def one() -> tuple[httpx.Response, dict]:
                if operation == "pipeline_list":
                    return await client.get(f"{API}/pipelines?limit=250",
                                            headers={"Authorization": f"Bearer {rm['token']}"}), {}
                body = _lead(world, rng)
                return await client.post(f"{API}/allocations", json=body,
                                         headers={"Authorization": f"Bearer {world['intake']['token']}"}), body

            event.listen(engine.sync_engine, "before_cursor_execute", before)
            event.listen(engine.sync_engine, "commit", ended("COMMIT"))
            event.listen(engine.sync_engine, "rollback", ended("ROLLBACK"))
            warm, _ = await one()  # per-process caches filled: the capture is a steady-state request
            if warm.status_code >= 400:
                raise RuntimeError(f"{operation} answered {warm.status_code}: {warm.text[:300]}")
            warm_items = list(items)
            items.clear()
            response, body = await one()
    finally:
        await engine.dispose()
    if response.status_code >= 400:
        raise RuntimeError(f"{operation} answered {response.status_code}: {response.text[:300]}")
    capture = Capture(operation, response.status_code, items)
    constant = {v for i in warm_items if isinstance(i, Statement) for v in _flat(i.params) if isinstance(v, uuid.UUID)}
    capture.varying = _varying(capture, operation, body, response.json(), rm["id"], constant)
    return capture


async def _audit_partitions(engine: Any) -> None:
    """Every audit chain partition has its head row, as the service leaves it after the partition's first write:
    the capture is then a steady-state request (not the first write of a partition) and pgbench's random
    partition always has a head to advance."""
    from sqlalchemy import text

    from sales.core.audit_chain import GENESIS, PARTITIONS

    async with engine.begin() as conn:
        await conn.execute(text("INSERT INTO audit_chain (partition, length, head_hash) "
                                "SELECT g, 0, :genesis FROM generate_series(0, :last) g "
                                "ON CONFLICT (partition) DO NOTHING"), {"genesis": GENESIS, "last": PARTITIONS - 1})


def _lead(world: dict, rng: random.Random) -> dict:
    loc = world["localities"][0]
    return {"lead_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "customer": {"name": "Bench Lead", "phone": f"+91-9{rng.randrange(10**8, 10**9)}",
                         "email": f"bench.{rng.randrange(10**6)}@example.com"},
            "city": loc["city"], "zone": loc["zone"], "locality": loc["locality"],
            "property_type": loc["property_types"][0], "segment": loc["segments"][0],
            "expected_deal_value": "1500000.00", "source": "WEBSITE"}


def _varying(capture: Capture, operation: str, body: dict, answer: Any, rm_id: str,
             constant: set) -> dict[Any, str]:
    """`constant`: the UUIDs the warm-up request used too (the caller's principal, rule sets): not per request."""
    varying: dict[Any, str] = {}
    if operation == "pipeline_list":
        varying[uuid.UUID(rm_id)] = "rm"
        return varying
    varying[uuid.UUID(body["lead_id"])] = "new_id"
    for kind in ("city", "locality"):  # as the request sent it and as the service normalizes it
        varying[body[kind]] = varying[body[kind].strip().lower()] = kind
    chosen = answer.get("rm_id") if isinstance(answer, dict) else None
    if chosen:
        varying[uuid.UUID(chosen)] = "rm"
    # ids the service generated for this request: UUIDs first seen as a parameter of an INSERT
    seen: set = set(constant)
    for stmt in capture.statements:
        is_insert = _INSERTS.search(stmt.sql) is not None
        for value in _flat(stmt.params):
            if isinstance(value, uuid.UUID):
                if is_insert and value not in seen and value not in varying:
                    varying[value] = "new_id"
                seen.add(value)
    return varying


# The RM of a transaction (the one request's RM in the capture)
_RANDOM_RM = "(SELECT id FROM bench_rm_ids WHERE n = :r)"
# The allocation's claim holds while the RM's row is as the candidates statement read it
# (`allocation.repository.Claim`): in the script, its row as it is when the statement runs.
_SEEN_RM_COLUMNS = {"claim_seen_active_leads": "active_leads", "claim_seen_last_allocated_at": "last_allocated_at"}

# plain, inside a CTE, or after one (`WITH x AS (UPDATE ...) INSERT INTO ...`: the allocation's INSERT)
_INSERTS = re.compile(r"\bINSERT\s+INTO\b", re.IGNORECASE)


def _flat(params: tuple) -> list:
    out: list = []
    for value in params:
        out.extend(value if isinstance(value, (list, tuple)) else [value])
    return out


async def show_statements(one: Any, client: Any, statements: list[str], codes: Any) -> dict[str, Any]:
    """The in-process benches' `--show-statements`: serve one request with `one(client)` and print the statements
    it sent (collected into `statements` by the caller's listener), one per line."""
    statements.clear()
    await one(client)
    for sql in statements:
        print(" ".join(sql.split())[:400])
    return {"statements": len(statements), "codes": dict(codes)}


def capture(settings: Settings, operation: str, world: dict, *, seed: int = 19) -> Capture:
    """Serve two requests of `operation` in process on settings.database_url; the second one's statements."""
    if operation not in CAPTURED_OPERATIONS:
        raise ValueError(f"no capture for {operation}")
    return asyncio.run(_capture(settings, operation, world, random.Random(seed)))


# --- the pgbench script -------------------------------------------------------------------------------

_PLACEHOLDER = re.compile(r"\$(\d+)")


def _string(text: str) -> str:
    escaped = (text.replace("\\", "\\\\").replace("'", "\\'").replace(":", "\\x3a").replace("\n", "\\n")
               .replace("\r", "\\r").replace(";", "\\x3b"))
    return f"E'{escaped}'"


def literal(value: Any) -> str:
    """A SQL literal pgbench passes through untouched (no `:` outside escapes)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, (datetime, date, time)):
        return _string(value.isoformat())
    if isinstance(value, timedelta):
        return _string(f"{value.total_seconds()} seconds")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _string("\\x" + bytes(value).hex())
    if isinstance(value, (list, tuple)):
        return _string("{}") if not value else "ARRAY[" + ", ".join(literal(v) for v in value) + "]"
    if isinstance(value, (dict,)):
        return _string(json.dumps(value))
    return _string(str(value))


@dataclass
class Script:
    text: str
    statements: int
    transactions: int


# The audit chain (core/audit_chain.py): a transaction's partition is a hash of its first audited entity (a new
# id, so random over the partitions); the statement that chains its rows (`WITH audit_head AS ...`) locks that
# partition's head and takes the positions and hashes from it.
_AUDIT_HEAD = re.compile(r"\baudit_head AS\s*\(")


def pgbench_script(cap: Capture) -> Script:
    from sales.core.audit_chain import PARTITIONS

    names: dict[Any, str] = {}
    for value, kind in cap.varying.items():
        if kind == "new_id":
            names[value] = f"g{len(names) + 1}"
    texts = {str(v): v for v in cap.varying if isinstance(v, uuid.UUID)}
    uses_audit = any(_AUDIT_HEAD.search(st.sql) for st in cap.statements)

    def varying(value: Any) -> str:
        kind = cap.varying[value]
        if kind == "new_id":
            return f"md5(:{names[value]}::text)::uuid"
        if kind == "rm":
            return _RANDOM_RM
        return f"(SELECT {kind} FROM bench_localities WHERE n = :k)"

    def expr(value: Any, name: str) -> str:
        base = re.sub(r"_\d+$", "", name)
        if uses_audit and base == "head_partition":
            return ":p"
        if base in _SEEN_RM_COLUMNS:  # the claim's RM as the candidates statement read it: as it is now
            return f"(SELECT {_SEEN_RM_COLUMNS[base]} FROM rms WHERE id = {_RANDOM_RM})"
        if isinstance(value, (uuid.UUID, str)) and value in cap.varying:
            return varying(value)
        if isinstance(value, (list, tuple)):
            return "ARRAY[" + ", ".join(expr(v, "") for v in value) + "]" if value else literal(value)
        if isinstance(value, str) and texts:
            # a string that embeds a varying id (an event envelope, a dedupe key, an alert key): the same text
            # around the id of this transaction
            parts = re.split("(" + "|".join(map(re.escape, texts)) + ")", value)
            if len(parts) > 1:
                return "(" + " || ".join(f"{varying(texts[p])}::text" if p in texts else literal(p)
                                         for p in parts if p) + ")"
        return literal(value)

    kinds = set(cap.varying.values())
    lines = [f"-- {cap.operation}: the statements the service ran for one request, captured by "
             "`sales.bench.capture` (generated by `sales bench run`; do not edit)."]
    for name in names.values():
        lines.append(f"\\set {name} random(1, 4611686018427387903)")
    if "rm" in kinds:
        lines.append("\\set r random(1, :nrm)")
    if kinds & {"city", "locality"}:
        lines.append("\\set k random(1, :nloc)")
    if uses_audit:
        lines.append(f"\\set p random(0, {PARTITIONS - 1})")
    statements = transactions = 0
    for item in cap.items:
        if item == "BEGIN":
            transactions += 1
            lines.append("BEGIN;")
        elif item in ("COMMIT", "ROLLBACK"):
            lines.append(f"{item};")
        else:
            bind = item.names if len(item.names) == len(item.params) else ("",) * len(item.params)
            sql = _PLACEHOLDER.sub(lambda m: expr(item.params[int(m.group(1)) - 1], bind[int(m.group(1)) - 1]),
                                   item.sql.strip().rstrip(";"))
            lines.append(sql + ";")
            statements += 1
    return Script("\n".join(lines) + "\n", statements, transactions)


def script_counts(text: str) -> dict[str, int]:
    """Statements and transactions of a pgbench script as pgbench runs them (meta-commands and comments aside)."""
    commands = [c.strip() for c in re.sub(r"^\s*(\\.*|--.*)$", "", text, flags=re.M).split(";") if c.strip()]
    control = [c for c in commands if c.upper() in ("BEGIN", "COMMIT", "ROLLBACK", "END")]
    return {"statements": len(commands) - len(control),
            "transactions": sum(1 for c in control if c.upper() == "BEGIN")}


def write_scripts(settings: Settings, world: dict, directory: Path) -> dict[str, dict]:
    """Capture each benchmarked operation and write its pgbench script to `directory/pgbench-<op>.sql`;
    the statement counts of service and script side by side (they must be equal)."""
    directory.mkdir(parents=True, exist_ok=True)
    out: dict[str, dict] = {}
    for op in CAPTURED_OPERATIONS:
        cap = capture(settings, op, world)
        script = pgbench_script(cap)
        path = directory / f"pgbench-{op}.sql"
        path.write_text(script.text)
        out[op] = {"service": cap.counts(), "script": script_counts(script.text), "path": str(path)}
    return out


def counts_table(counts: dict[str, dict]) -> str:
    lines = [f"    {'operation':15s} {'service statements':>19s} {'script statements':>18s} {'transactions':>13s}"]
    for op, c in counts.items():
        lines.append(f"    {op:15s} {c['service']['statements']:19d} {c['script']['statements']:18d} "
                     f"{c['service']['transactions']:>6d} / {c['script']['transactions']:<5d}")
    return "\n".join(lines)
