"""`sales bench run`: the ISSUE 6 harness, in one run on one seeded database.

1. reset what earlier runs added (rows created after the seed), so every run starts from the seeded state;
2. start the service as in production (`sales serve --workers 2`, plus `sales worker` when it exists);
3. mixed load: 500 virtual users with ~1 s think time (load generator in its own process);
4. closed-loop saturation per operation (allocation, pipeline_list), resetting in between;
5. cost per operation (issue 19): 4 clients back to back per operation, `GET /healthz` (the HTTP stack's floor)
   and `GET /pipelines?limit=50` included; `cpu_ms` = CPU seconds of the `sales serve` processes / requests;
6. stop the service; the statements the service runs for one allocation and one pipeline list are captured in
   process (`bench.capture`) and pgbench runs exactly those, as scripts generated from the capture, on the same
   database (statement counts of service and script side by side in the output);
7. write bench/results/latest.json (the issue's keys, `cpu_ms` per operation, `floor_cpu_ms`) and a detailed JSON
   beside it in tmp/.

`--cost-only` runs step 5 alone (a minute or two) and writes bench/results/tmp/cost-<scale>-<time>.json.
"""
from __future__ import annotations

import asyncio
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse

import asyncpg

from sales.bench import capture
from sales.bench.seed import SCALES, asyncpg_dsn, upsell_customers
from sales.bench.server import bench_token, process_tree_cpu, running_service
from sales.core.clock import wall_now
from sales.settings import Settings

OPERATIONS = ("allocation", "pipeline_list", "pipeline_get", "stage_change", "queue", "workload", "stats",
              "upsell_create")
READS = ("pipeline_list", "pipeline_get", "queue", "workload", "stats")
WRITES = ("allocation", "stage_change", "upsell_create")
# Cost runs: the mixed operations, the 50-row list, a lead in a locality no RM lists (the engine's city stage) and
# the floor (issue 19).
COST_OPERATIONS = ("healthz", "pipeline_get", "queue", "pipeline_list_50", "pipeline_list", "stage_change",
                   "allocation", "allocation_city", "workload", "stats", "upsell_create")


@dataclass
class Options:
    scale: str
    users: int = 500
    duration: float = 60.0
    ramp: float = 10.0
    saturation_seconds: float = 20.0
    saturation_concurrency: int = 32
    pgbench_seconds: float = 20.0
    pgbench_clients: int = 16
    cost_seconds: float = 8.0  # per operation, closed loop at low concurrency: service CPU per request
    service_workers: int = 2
    upsell_customers: int = 2000  # customers POST /upsells offers plans to (upsell_create, issue 11)
    results_dir: Path = Path("bench/results")
    write_latest: bool = True
    cost_only: bool = False  # only the cost runs (service CPU per request), nothing written to latest.json

    @classmethod
    def smoke(cls, results_dir: Path) -> "Options":
        return cls(scale="smoke", users=20, duration=2, ramp=0.5, saturation_seconds=1, saturation_concurrency=4,
                   service_workers=1, upsell_customers=40,
                   pgbench_seconds=1, pgbench_clients=2, cost_seconds=1.0, results_dir=results_dir,
                   write_latest=False)


# --- database helpers -----------------------------------------------------------------------------

async def _db_now(dsn: str) -> datetime:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval("SELECT clock_timestamp()")
    finally:
        await conn.close()


RESET_ATTEMPTS = 5


async def reset(dsn: str, since: datetime) -> dict[str, int]:
    """Delete what was created at or after `since` (by the service or pgbench) and recount live leads per RM,
    so capacity freed by deleting those allocations is free again. The recount touches every RM: a worker job
    locking some of them in another order (the SLA sweep) can make PostgreSQL pick this transaction as a deadlock
    victim; it is then run again."""
    conn = await asyncpg.connect(dsn)
    try:
        for attempt in range(RESET_ATTEMPTS):
            try:
                return await _reset_once(conn, since)
            except asyncpg.exceptions.DeadlockDetectedError:
                if attempt == RESET_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")
    finally:
        await conn.close()


async def _reset_once(conn: asyncpg.Connection, since: datetime) -> dict[str, int]:
    counts = {}
    async with conn.transaction():
        # Stage changes of seeded pipelines stay (with their history): the data ages a little per run.
        for table, column in (("rm_allocations", "created_at"), ("sales_pipelines", "created_at"), ("leads", "created_at"),
                              ("outbox_events", "created_at"), ("audit_log", "at"),
                              ("upsells", "created_at"), ("upsell_decisions", "decided_at"),
                              ("notifications", "created_at")):
            status = await conn.execute(f"DELETE FROM {table} WHERE {column} >= $1", since)
            counts[table] = int(status.split()[-1])
        await conn.execute("""
            UPDATE rms SET active_leads = coalesce(l.n, 0), override_leads = 0
            FROM rms r0 LEFT JOIN (SELECT rm_id, count(*) AS n FROM rm_allocations
                                  WHERE status IN ('PENDING','ACCEPTED','ACTIVE','ESCALATED') GROUP BY rm_id) l
                 ON l.rm_id = r0.id
            WHERE rms.id = r0.id AND (rms.active_leads <> coalesce(l.n, 0) OR rms.override_leads <> 0)""")
    return counts


async def build_world(dsn: str, n_rms: int, rng: random.Random) -> dict[str, Any]:
    """RMs (with their pipelines), supervisors and demand by locality for the load generator; the helper
    tables pgbench draws from (bench_rm_ids: the same RMs; bench_localities)."""
    conn = await asyncpg.connect(dsn)
    try:
        active = [r["id"] for r in await conn.fetch(
            "SELECT id FROM rms WHERE status = 'ACTIVE' AND EXISTS (SELECT 1 FROM sales_pipelines p "
            "WHERE p.rm_id = rms.id) ORDER BY id")]
        chosen = rng.sample(active, min(n_rms, len(active)))
        pipelines: dict[Any, list] = {rm: [] for rm in chosen}
        for row in await conn.fetch("SELECT rm_id, id, stage FROM sales_pipelines WHERE rm_id = ANY($1::uuid[])",
                                    chosen):
            pipelines[row["rm_id"]].append([str(row["id"]), row["stage"]])
        teams = await conn.fetch("SELECT id, supervisor_id FROM teams WHERE supervisor_id IS NOT NULL ORDER BY id")
        localities = await conn.fetch("""
            SELECT r.city, r.zone, loc AS locality, count(*) AS weight,
                   array_agg(DISTINCT pt) AS property_types, array_agg(DISTINCT sg) AS segments
            FROM rms r, jsonb_array_elements_text(r.localities) loc, jsonb_array_elements_text(r.property_types) pt,
                 jsonb_array_elements_text(r.segments) sg
            WHERE r.status = 'ACTIVE' GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""")
        await conn.execute("DROP TABLE IF EXISTS bench_rm_ids, bench_localities")
        await conn.execute("CREATE TABLE bench_rm_ids (n int PRIMARY KEY, id uuid NOT NULL)")
        await conn.execute("CREATE TABLE bench_localities (n int PRIMARY KEY, city text NOT NULL, "
                           "locality text NOT NULL)")
        await conn.copy_records_to_table("bench_rm_ids", records=list(enumerate(chosen, 1)))
        pairs = await conn.fetch("SELECT DISTINCT city, locality FROM rm_localities ORDER BY 1, 2")
        await conn.copy_records_to_table("bench_localities",
                                         records=[(i, p["city"], p["locality"]) for i, p in enumerate(pairs, 1)])
        await conn.execute("ANALYZE bench_rm_ids; ANALYZE bench_localities")
    finally:
        await conn.close()
    return {
        "rms": [{"id": str(rm), "token": bench_token(rm, ["RM"]), "pipelines": pipelines[rm]} for rm in chosen],
        "supervisors": [{"team_id": str(t["id"]), "token": bench_token(t["supervisor_id"], ["SUPERVISOR"],
                                                                       team_ids=[t["id"]])} for t in teams],
        "intake": {"token": bench_token(uuid.UUID(int=rng.getrandbits(128)), ["SERVICE"])},
        "localities": [{"city": r["city"], "zone": r["zone"], "locality": r["locality"], "weight": r["weight"],
                        "property_types": list(r["property_types"]), "segments": list(r["segments"])}
                       for r in localities],
        "nrm": len(chosen), "nloc": len(pairs),
    }


# --- the runs ---------------------------------------------------------------------------------------

def _load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _machine_busy() -> tuple[float, float]:
    fields = [float(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return sum(fields) - idle, sum(fields)


def load_run(plan: dict, *, service_pids: list[int], workdir: Path) -> dict:
    """Run the load generator in its own process; add service and whole-machine CPU use.

    `service_pids`: `sales serve` first (its uvicorn workers are its children), then `sales worker` if any."""
    plan_path, out_path = workdir / f"plan-{plan['name']}.json", workdir / f"result-{plan['name']}.json"
    plan_path.write_text(json.dumps(plan))
    server0 = process_tree_cpu(service_pids[:1])
    cpu0, (busy0, total0), t0 = process_tree_cpu(service_pids), _machine_busy(), time.perf_counter()
    subprocess.run([sys.executable, "-m", "sales.bench.load", str(plan_path), str(out_path)], check=True)
    wall = time.perf_counter() - t0
    cpu1, (busy1, total1) = process_tree_cpu(service_pids), _machine_busy()
    server1 = process_tree_cpu(service_pids[:1])
    result = json.loads(out_path.read_text())
    requests = max(1, result["requests_total"])
    # Issue 19's figure: CPU of the server processes (uvicorn) per request served; the worker's share apart.
    result["cpu_ms"] = round(1000 * (server1 - server0) / requests, 3)
    result["worker_cpu_ms"] = round(1000 * ((cpu1 - cpu0) - (server1 - server0)) / requests, 3)
    result["load_average"] = _load_average()
    result["service_cpu_s"] = round(cpu1 - cpu0, 3)
    result["load_run_wall_s"] = round(wall, 3)
    result["service_cpu_pct_of_one_core"] = round(100 * (cpu1 - cpu0) / wall, 1)
    # CPU per request does not depend on what else runs on the machine, unlike latency and rps.
    result["service_cpu_ms_per_request"] = round(1000 * (cpu1 - cpu0) / max(1, result["requests_total"]), 2)
    result["machine_cpu_busy_pct"] = round(100 * (busy1 - busy0) / max(1.0, total1 - total0), 1)
    return result


# pgbench's allocations land on random RMs and are not removed until the run ends: thousands a second would fill
# every RM within seconds, and a claim that finds no slot writes nothing else (the allocation's statement takes the
# claim first, `allocation.repository.insert_allocation`), which would flatter PostgreSQL. The service's own runs
# find slots free. So while the allocation's script runs, every RM has this many slots more (the capacity is put
# back when it ends).
PGBENCH_CAPACITY_LIFT = 1_000_000


async def _lift_capacity(dsn: str, by: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("UPDATE rms SET capacity = capacity + $1", by)
    finally:
        await conn.close()


def pgbench_operation(dsn: str, operation: str, script: Path, *, since: datetime, clients: int, seconds: float,
                      defines: dict[str, int]) -> dict:
    """`pgbench` of one captured operation's script (the allocation's with every RM's capacity lifted), then what
    it wrote since `since` removed (`reset`)."""
    lift = PGBENCH_CAPACITY_LIFT if operation == "allocation" else 0
    if lift:
        asyncio.run(_lift_capacity(dsn, lift))
    try:
        return pgbench(dsn, script, clients=clients, seconds=seconds, defines=defines)
    finally:
        asyncio.run(reset(dsn, since))
        if lift:
            asyncio.run(_lift_capacity(dsn, -lift))


def pgbench(dsn: str, script: Path, *, clients: int, seconds: float, defines: dict[str, int]) -> dict:
    """Raw TPS of one pgbench script (prepared statements, as asyncpg uses them)."""
    exe = shutil.which("pgbench") or next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin/pgbench"))), None)
    if exe is None:
        return {"tps": None, "error": "pgbench not found"}
    url = urlparse(dsn)
    env = {**os.environ}
    if url.password:
        env["PGPASSWORD"] = url.password
    cmd = [str(exe), "-n", "-M", "prepared", "-c", str(clients), "-j", str(min(2, clients)), "-T",
           str(max(1, round(seconds))), "-h", url.hostname or "127.0.0.1", "-p", str(url.port or 5432),
           "-U", url.username or "postgres", "-f", str(script)]
    for key, value in defines.items():
        cmd += ["-D", f"{key}={value}"]
    cmd.append(url.path.lstrip("/"))
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    # A client whose statement fails is aborted, and pgbench exits non-zero: its TPS would be of the others only
    match = None if done.returncode else re.search(r"tps = ([\d.]+) \(without initial connection time\)", done.stdout)
    latency = re.search(r"latency average = ([\d.]+) ms", done.stdout)
    failed = re.search(r"number of failed transactions: (\d+)", done.stdout)
    return {"tps": round(float(match.group(1)), 1) if match else None,
            "latency_avg_ms": float(latency.group(1)) if latency else None,
            "failed": int(failed.group(1)) if failed else None, "clients": clients,
            "error": None if match else (done.stderr or done.stdout)[-500:]}


def git_commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "src"],
                               capture_output=True, text=True).stdout.strip()
        return f"{sha}+dirty" if dirty else sha
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# The operations the load mixes (every endpoint they call exists; production serves no /openapi.json to look them up).
OPERATIONS = frozenset({"pipeline_list", "pipeline_get", "stage_change", "stats", "allocation", "queue", "workload",
                        "upsell_create"})


def run(settings: Settings, options: Options, *, echo: Callable[[str], None] = print) -> dict[str, Any]:
    t0 = time.perf_counter()
    say = echo

    def echo(line: str) -> None:  # noqa: F811 - every line carries the seconds since the start
        say(f"[{time.perf_counter() - t0:6.1f}s] {line}")

    dsn = asyncpg_dsn(settings.database_url)
    rng = random.Random(6)
    rms = asyncio.run(_count(dsn, "rms"))
    expected = SCALES[options.scale].rms
    if rms != expected:
        raise RuntimeError(f"the database holds {rms} RMs, scale {options.scale} has {expected}: "
                           f"run `sales bench seed --scale {options.scale} --replace` first")
    options.results_dir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="sales-bench-"))
    since = asyncio.run(_db_now(dsn))
    started = wall_now()
    echo(f"bench run: scale={options.scale} users={options.users} duration={options.duration}s "
         f"saturation={options.saturation_seconds}s x{options.saturation_concurrency}")
    world = asyncio.run(build_world(dsn, min(options.users, rms), rng))
    base_plan = {"rms": world["rms"], "supervisors": world["supervisors"], "intake": world["intake"],
                 "localities": world["localities"], "seed": 6, "base_url": ""}
    detail: dict[str, Any] = {"scale": options.scale, "commit": git_commit(), "started_at": started.isoformat(),
                              "options": {k: str(v) if isinstance(v, Path) else v
                                          for k, v in options.__dict__.items()}}
    log_path = options.results_dir / "tmp" / "service.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with running_service(settings, settings.database_url, workers=options.service_workers,
                         log_path=log_path) as service:
        detail["worker_running"] = service["worker"]
        base_plan["base_url"] = service["url"]
        ops = set(OPERATIONS)
        detail["operations_available"] = sorted(ops)
        echo(f"  service up at {service['url']} (worker: {service['worker']}); operations: {', '.join(sorted(ops))}")
        if "upsell_create" in ops:
            base_plan["upsell"] = {"token": bench_token(uuid.UUID(int=rng.getrandbits(128)), ["SERVICE"]),
                                   "customers": upsell_customers(service["url"], options.upsell_customers, rng,
                                                                 started)}
            echo(f"  upsell customers: {options.upsell_customers} (plans and the paying half's orders through "
                 f"the service)")
        warm = {**base_plan, "name": "warmup", "mode": "mixed", "users": min(20, options.users), "ramp": 0.5,
                "duration": 2 if options.scale != "smoke" else 1,
                "operations": sorted(ops - set(WRITES)),  # reads only: plan stages stay true
                "think_min": 0.05, "think_max": 0.1}
        if options.scale != "smoke":
            load_run(warm, service_pids=service["pids"], workdir=workdir)

        if options.cost_only:
            detail["cost"] = _cost_runs(options, base_plan, dsn, since, service, workdir, echo)
        else:
            mixed, saturation, costs = _load_runs(options, base_plan, ops, dsn, since, service, workdir, echo,
                                                  detail)
    echo("  service stopped")
    asyncio.run(reset(dsn, since))
    stamp = started.strftime("%Y%m%dT%H%M%SZ")
    if options.cost_only:
        detail_path = options.results_dir / "tmp" / f"cost-{options.scale}-{stamp}.json"
        detail_path.write_text(json.dumps(detail, indent=1))
        echo(_cost_table(detail["cost"]))
        echo(f"  details: {detail_path}")
        shutil.rmtree(workdir, ignore_errors=True)
        return detail

    raw = {}
    defines = {"nrm": world["nrm"], "nloc": world["nloc"]}
    echo("  capturing the statements of one allocation and one pipeline list (in process) ...")
    scripts = capture.write_scripts(settings, world, options.results_dir / "tmp")
    asyncio.run(reset(dsn, since))
    detail["statement_counts"] = {op: {"service": c["service"], "script": c["script"]} for op, c in scripts.items()}
    echo(capture.counts_table(scripts))
    for op in ("allocation", "pipeline_list"):
        echo(f"  pgbench {op} ({scripts[op]['path']}): {options.pgbench_clients} clients, "
             f"{options.pgbench_seconds} s ...")
        raw[op] = pgbench_operation(dsn, op, Path(scripts[op]["path"]), since=since,
                                    clients=options.pgbench_clients, seconds=options.pgbench_seconds,
                                    defines=defines)
        echo(f"    {raw[op]['tps']} TPS" + (f" ({raw[op]['error']})" if raw[op]["error"] else ""))
    detail["pgbench"] = raw

    latest = summarize(options.scale, detail["commit"], mixed, saturation, raw, costs, detail["statement_counts"])
    detail["latest"] = latest
    detail["targets"] = targets(latest, mixed)
    detail_path = options.results_dir / "tmp" / f"run-{options.scale}-{stamp}.json"
    detail_path.write_text(json.dumps(detail, indent=1))
    if options.write_latest:
        (options.results_dir / "latest.json").write_text(json.dumps(latest, indent=2) + "\n")
    (options.results_dir / "tmp" / f"latest-{options.scale}.json").write_text(json.dumps(latest, indent=2) + "\n")
    echo(_cost_table(costs))
    echo(_targets_table(detail["targets"]))
    echo(f"  ratios (service saturation / raw pgbench): {latest['ratios']}")
    echo(f"  details: {detail_path}")
    shutil.rmtree(workdir, ignore_errors=True)
    return detail


def baseline(settings: Settings, *, results_dir: Path, clients: int, seconds: float, run_pgbench: bool = True,
             echo: Callable[[str], None] = print) -> dict[str, Any]:
    """`sales bench baseline`: step 6 alone on a seeded database (no service started): capture, scripts, counts,
    pgbench; whatever the capture and pgbench wrote is removed again. Writes results_dir/tmp/baseline-<time>.json."""
    dsn = asyncpg_dsn(settings.database_url)
    rms = asyncio.run(_count(dsn, "rms"))
    if not rms:
        raise RuntimeError("the database holds no RMs: run `sales bench seed` first")
    since = asyncio.run(_db_now(dsn))
    world = asyncio.run(build_world(dsn, min(500, rms), random.Random(6)))
    tmp = results_dir / "tmp"
    try:
        scripts = capture.write_scripts(settings, world, tmp)
    finally:
        asyncio.run(reset(dsn, since))
    echo(capture.counts_table(scripts))
    result: dict[str, Any] = {"statement_counts": {op: {"service": c["service"], "script": c["script"]}
                                                   for op, c in scripts.items()},
                              "scripts": {op: c["path"] for op, c in scripts.items()}, "raw_postgres_tps": {},
                              "pgbench": {}, "load_average_before": _load_average()}
    defines = {"nrm": world["nrm"], "nloc": world["nloc"]}
    for op in capture.CAPTURED_OPERATIONS if run_pgbench else ():
        echo(f"  pgbench {op}: {clients} clients, {seconds} s ...")
        raw = pgbench_operation(dsn, op, Path(scripts[op]["path"]), since=since, clients=clients, seconds=seconds,
                                defines=defines)
        result["pgbench"][op] = raw
        result["raw_postgres_tps"][op] = raw["tps"]
        echo(f"    {raw['tps']} TPS, {raw['failed']} failed" + (f" ({raw['error']})" if raw["error"] else ""))
    result["load_average_after"] = _load_average()
    result["defines"] = defines
    stamp = wall_now().strftime("%Y%m%dT%H%M%SZ")
    (tmp / f"baseline-{stamp}.json").write_text(json.dumps(result, indent=1))
    return result


def _load_runs(options: Options, base_plan: dict, ops: set[str], dsn: str, since: datetime, service: dict,
               workdir: Path, echo: Callable[[str], None], detail: dict) -> tuple[dict, dict, dict]:
    """Mixed load, saturation and the cost runs (steps 3-5)."""
    echo(f"  mixed load: {options.users} users, ~1 s think time, {options.duration} s ...")
    mixed = load_run({**base_plan, "name": "mixed", "mode": "mixed", "users": options.users,
                      "ramp": options.ramp, "duration": options.duration, "operations": sorted(ops)},
                     service_pids=service["pids"], workdir=workdir)
    detail["mixed"] = mixed
    # `sales worker` must have lived through the load (SLA sweep, overflow retry ran alongside it)
    detail["worker_alive_after_mixed"] = service["worker"] and Path(f"/proc/{service['pids'][-1]}").exists()
    if service["worker"] and not detail["worker_alive_after_mixed"]:
        echo("  WARNING: `sales worker` exited during the run; see bench/results/tmp/service.log")
    echo(_mixed_table(mixed))
    saturation = {}
    for op in ("allocation", "pipeline_list"):
        if op not in ops:
            continue
        asyncio.run(reset(dsn, since))
        echo(f"  saturation {op}: {options.saturation_concurrency} clients back to back, "
             f"{options.saturation_seconds} s ...")
        result = load_run({**base_plan, "name": f"saturation-{op}", "mode": "closed", "operation": op,
                           "concurrency": options.saturation_concurrency, "ramp": min(3.0, options.ramp / 2),
                           "duration": options.saturation_seconds}, service_pids=service["pids"],
                          workdir=workdir)
        saturation[op] = result
        o = result["operations"].get(op, {})
        echo(f"    {o.get('ok_rps')} ok req/s (p50 {o.get('p50_ms')} ms, p99 {o.get('p99_ms')} ms; "
             f"statuses {o.get('status')}); service CPU {result['service_cpu_ms_per_request']} ms/request; "
             f"generator CPU {result['generator_cpu_pct_of_one_core']}%; "
             f"machine busy {result['machine_cpu_busy_pct']}%")
    detail["saturation"] = saturation
    detail["cost"] = costs = _cost_runs(options, base_plan, dsn, since, service, workdir, echo)
    return mixed, saturation, costs


def _cost_runs(options: Options, base_plan: dict, dsn: str, since: datetime, service: dict, workdir: Path,
               echo: Callable[[str], None]) -> dict[str, dict]:
    """Service CPU per request of each operation alone: 4 clients back to back for `cost_seconds`, from the
    seeded state. `cpu_ms` is the `sales serve` processes' CPU / requests (issue 19); it hardly depends on what
    else runs on the machine, unlike latency. The load average at the end of each run is kept beside it."""
    costs: dict[str, dict] = {}
    for op in (COST_OPERATIONS if options.cost_seconds else ()):
        asyncio.run(reset(dsn, since))
        jobs_before = asyncio.run(_job_runs(dsn))
        result = load_run({**base_plan, "name": f"cost-{op}", "mode": "closed", "operation": op,
                           "concurrency": 4, "ramp": min(1.0, options.cost_seconds), "duration": options.cost_seconds},
                          service_pids=service["pids"], workdir=workdir)
        jobs = _jobs_that_worked(jobs_before, asyncio.run(_job_runs(dsn)))
        o = result["operations"].get(op, {})
        costs[op] = {"cpu_ms": result["cpu_ms"], "worker_cpu_ms": result["worker_cpu_ms"], "worker_jobs": jobs,
                     "service_cpu_ms_per_request": result["service_cpu_ms_per_request"],
                     "requests": result["requests_total"], "p50_ms": o.get("p50_ms"), "rps": o.get("ok_rps"),
                     "status": o.get("status"), "machine_cpu_busy_pct": result["machine_cpu_busy_pct"],
                     "load_average": result["load_average"]}
        echo(f"  cost {op}: {result['cpu_ms']} ms server CPU per request (+{result['worker_cpu_ms']} worker; "
             f"4 clients; p50 {o.get('p50_ms')} ms; {o.get('status')}; load average {result['load_average']})"
             + (f"; worker jobs that did work meanwhile: {jobs}" if jobs else ""))
    return costs


async def _job_runs(dsn: str) -> dict[str, tuple[int, Any]]:
    """`worker_jobs`: runs so far and the last result of each periodic job of `sales worker`."""
    conn = await asyncpg.connect(dsn)
    try:
        return {r["name"]: (r["runs"], r["last_result"]) for r in
                await conn.fetch("SELECT name, runs, last_result::text AS last_result FROM worker_jobs")}
    finally:
        await conn.close()


def _jobs_that_worked(before: dict[str, tuple[int, Any]], after: dict[str, tuple[int, Any]]) -> dict[str, dict]:
    """The jobs that finished a run during a cost run and processed something (the last run's result): the
    worker's CPU in a cost run is these jobs' (without NATS the bench's worker relays and consumes nothing), not
    work caused by the requests (issue 19, session 12: the SLA sweep's reallocations)."""
    worked = {}
    for name, (runs, last) in after.items():
        result = json.loads(last) if last else {}
        if runs > before.get(name, (0, None))[0] and result.get("processed"):
            worked[name] = {"runs": runs - before.get(name, (0, None))[0], "last_result": result}
    return worked


def _cost_table(costs: dict[str, dict]) -> str:
    floor = costs.get("healthz", {}).get("cpu_ms")
    lines = [f"    {'operation':17s} {'cpu_ms':>8s} {'x floor':>8s} {'worker':>8s} {'requests':>9s}  load average"]
    for op, c in costs.items():
        times = f"{c['cpu_ms'] / floor:8.1f}" if floor else f"{'-':>8s}"
        lines.append(f"    {op:17s} {c['cpu_ms']:8.3f} {times} {c['worker_cpu_ms']:8.3f} {c['requests']:9d}  "
                     f"{c['load_average']}")
    return "\n".join(lines)


async def _count(dsn: str, table: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(f"SELECT count(*) FROM {table}")
    finally:
        await conn.close()


def summarize(scale: str, commit: str, mixed: dict, saturation: dict, raw: dict,
              costs: dict[str, dict], statement_counts: dict[str, dict] | None = None) -> dict[str, Any]:
    """bench/results/latest.json: the keys ISSUE 6 names, plus issue 19's `cpu_ms` per operation (server CPU
    per request of the cost run; `healthz`, `pipeline_list_50` and `allocation_city` are measured there only),
    the floor, and the statement counts of service and pgbench script per raw-SQL baseline (`statement_counts`)."""
    operations = {}
    for op in COST_OPERATIONS:
        o = mixed["operations"].get(op, {})
        operations[op] = {"p50_ms": o.get("p50_ms"), "p95_ms": o.get("p95_ms"), "p99_ms": o.get("p99_ms"),
                          "rps": o.get("rps"), "cpu_ms": costs.get(op, {}).get("cpu_ms"),
                          "cpu_load_average": costs.get(op, {}).get("load_average")}
    sat = {op: saturation.get(op, {}).get("operations", {}).get(op, {}).get("ok_rps")
           for op in ("allocation", "pipeline_list")}
    tps = {op: raw.get(op, {}).get("tps") for op in ("allocation", "pipeline_list")}
    ratios = {op: round(sat[op] / tps[op], 3) if sat[op] and tps[op] else None for op in ("allocation", "pipeline_list")}
    return {"scale": scale, "commit": commit, "operations": operations, "saturation_rps": sat,
            "raw_postgres_tps": tps, "ratios": ratios, "floor_cpu_ms": costs.get("healthz", {}).get("cpu_ms"),
            "statement_counts": statement_counts or {}}


def targets(latest: dict, mixed: dict) -> list[dict]:
    """PRD §8.1 and the issue's stricter targets, pass/fail (None when not measured)."""
    ops = latest["operations"]

    def check(value: float | None, limit: float) -> bool | None:
        return None if value is None else value < limit

    rows = [{"metric": "Lead allocation p99", "op": "allocation", "value_ms": ops["allocation"]["p99_ms"],
             "prd_ms": 500, "issue_ms": 25}]
    rows += [{"metric": f"Read p95: {op}", "op": op, "value_ms": ops[op]["p95_ms"], "prd_ms": 200, "issue_ms": 20}
             for op in READS]
    rows += [{"metric": f"Write p95: {op}", "op": op, "value_ms": ops[op]["p95_ms"], "prd_ms": 500, "issue_ms": 50}
             for op in WRITES]
    rows.append({"metric": "Pipeline query (single RM) p95", "op": "pipeline_list",
                 "value_ms": ops["pipeline_list"]["p95_ms"], "prd_ms": 100, "issue_ms": None})
    for row in rows:
        row["prd_pass"] = check(row["value_ms"], row["prd_ms"])
        row["issue_pass"] = check(row["value_ms"], row["issue_ms"]) if row["issue_ms"] else None
    total = sum(o.get("count", 0) for o in mixed["operations"].values())
    failed = sum(n for o in mixed["operations"].values() for s, n in o.get("status", {}).items()
                 if s == "0" or s.startswith("5"))
    rows.append({"metric": "500 concurrent users: errors (5xx / transport)", "op": None,
                 "value": f"{failed} of {total}", "prd_pass": failed <= total * 0.001 if total else None,
                 "issue_pass": None})
    for op in ("allocation", "pipeline_list"):
        ratio = latest["ratios"][op]
        rows.append({"metric": f"Saturation {op} / raw PostgreSQL", "op": op, "value": ratio, "prd_pass": None,
                     "issue_pass": None if ratio is None else ratio >= 0.5})
    return rows


def _mark(value: bool | None) -> str:
    return "n/a" if value is None else "pass" if value else "FAIL"


def _mixed_table(mixed: dict) -> str:
    lines = [f"    {'operation':15s} {'p50':>8s} {'p95':>8s} {'p99':>8s} {'req/s':>8s}  statuses"]
    for op in OPERATIONS:
        o = mixed["operations"].get(op)
        if o:
            lines.append(f"    {op:15s} {o['p50_ms']:8.1f} {o['p95_ms']:8.1f} {o['p99_ms']:8.1f} {o['rps']:8.1f}  "
                         f"{o['status']}")
    lines.append(f"    users {mixed['users']}; generator CPU {mixed['generator_cpu_pct_of_one_core']}% of one core; "
                 f"service CPU {mixed['service_cpu_pct_of_one_core']}% ({mixed['service_cpu_ms_per_request']} ms/request); "
                 f"machine busy {mixed['machine_cpu_busy_pct']}%")
    return "\n".join(lines)


def _targets_table(rows: list[dict]) -> str:
    lines = ["  targets (PRD §8.1 / ISSUE 6):"]
    for r in rows:
        value = r.get("value_ms", r.get("value"))
        lines.append(f"    {r['metric']:45s} {str(value):>12s}  PRD {_mark(r['prd_pass']):4s}  "
                     f"issue {_mark(r['issue_pass'])}")
    return "\n".join(lines)
