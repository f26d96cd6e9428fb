"""`sales bench seed`: fill a migrated PostgreSQL database at PRD scale (or 10x) fast, with COPY.

Shape of the data (ISSUE 6 §1, PRD §8.2):
- RMs in ten cities (weighted by market size), each with a zone, 2-5 localities, a property-type and
  segment mix, a capacity mix around 25 (LAR-002), performance scores, a few backups, inactive and
  offline RMs, and leaves; teams of ~10 RMs per city zone, each with a supervisor.
- Pipelines over the last 90 days across every stage, with the stage history the service would have
  written (one row per stage change; creation writes none), one lead per pipeline with its customer PII
  encrypted by `sales.core.pii`, and the allocation that created it. ~3% were reassigned first (a
  REASSIGNED row for the previous RM).
- The live allocations (PENDING/ACCEPTED/ACTIVE/ESCALATED) of each RM are exactly `rms.active_leads`,
  between 30% and 70% of capacity, at most one per lead; PENDING ones are recent so the SLA sweep does
  not find thousands of breaches the moment a worker starts. A quarter of the RMs have day shifts (UTC);
  the rest none (always on shift), so how many RMs can take leads does not depend on the hour of the run.

One RM (email BENCH_RM_EMAIL) has exactly 250 pipelines: the pipeline-list benchmark reads its list.

Speed: rows are generated in worker processes (one shard of RMs each) and streamed with binary COPY
(`asyncpg.copy_records_to_table`); the big tables' secondary indexes are dropped for the load and rebuilt
afterwards, and foreign-key triggers are skipped (`session_replication_role = replica`) because the rows
are consistent by construction (checked at the end).
"""
from __future__ import annotations

import asyncio
import bisect
import itertools
import json
import multiprocessing
import os
import random
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Callable

import asyncpg

from sales.bench.world import CITIES, FIRST, LAST
from sales.core.pii import PiiCipher

BENCH_RM_EMAIL = "bench.rm250@mysqrft.com"
BENCH_RM_PIPELINES = 250


@dataclass(frozen=True)
class Scale:
    rms: int
    pipelines: int


SCALES = {
    "smoke": Scale(rms=40, pipelines=2_000),
    "prd": Scale(rms=1_000, pipelines=250_000),
    "x10": Scale(rms=10_000, pipelines=2_500_000),
}

BIG_TABLES = ("leads", "sales_pipelines", "pipeline_stage_history", "rm_allocations")
# Everything the service owns, emptied by --replace (never alembic_version).
ALL_TABLES = ("forecast_learning", "pipeline_stage_history", "sales_pipelines", "rm_allocations", "leads", "rm_leaves",
              "rm_localities", "rms", "teams", "audit_log", "outbox_events", "inbox_events", "idempotency_keys")

OPEN_PATH = ["NEW", "CONTACTED", "REQUIREMENTS_CAPTURED", "SHORTLIST_SENT", "VISIT_SCHEDULED", "VISIT_COMPLETED",
             "NEGOTIATION", "AGREEMENT_PENDING"]
PROBABILITY = {"NEW": 20, "CONTACTED": 30, "REQUIREMENTS_CAPTURED": 40, "SHORTLIST_SENT": 50,
               "VISIT_SCHEDULED": 60, "VISIT_COMPLETED": 70, "NEGOTIATION": 80, "AGREEMENT_PENDING": 90,
               "CLOSED_WON": 100, "CLOSED_LOST": 0}
# Where a pipeline that is neither live nor closed stands (index into OPEN_PATH, from CONTACTED on).
OPEN_STAGE_WEIGHTS = [18, 15, 14, 12, 10, 9, 7]
SOURCES = (["WEBSITE"] * 25 + ["MOBILE_APP"] * 25 + ["INBOUND_CALL"] * 10 + ["WHATSAPP"] * 10 + ["REFERRAL"] * 8
           + ["CAMPAIGN"] * 7 + ["PARTNER"] * 5 + ["SOCIAL_MEDIA"] * 4 + ["WALK_IN"] * 2 + ["EMAIL"] * 2
           + ["OUTBOUND_CALL"] * 2)
ALLOCATION_TYPES = ["AUTO"] * 70 + ["SKILL_BASED"] * 10 + ["GEOGRAPHIC"] * 10 + ["ROUND_ROBIN"] * 5 + ["MANUAL"] * 4 \
    + ["OVERFLOW"]
PRIORITIES = [1] * 5 + [2] * 15 + [3] * 50 + [4] * 20 + [5] * 10
LOSS_REASONS = ["Chose another property", "Budget mismatch", "Not responsive", "Went with a competitor",
                "Requirement on hold", "Location mismatch"]
NOTES = ["Prefers east-facing units", "Needs parking for two cars", "Family of four, pets allowed",
         "Wants to move within 30 days", "Budget flexible for gated community", "Call after 6 pm",
         "Interested in ready-to-move only", "Asked for virtual tour first"]
SLA = timedelta(hours=2)


def _money_pool(low: int, high: int, step: int) -> list[Decimal]:
    return [Decimal(v).quantize(Decimal("0.01")) for v in range(low, high + 1, step)]


DEAL_VALUES = {"TENANT": _money_pool(5_000, 80_000, 500), "OWNER": _money_pool(5_000, 60_000, 500),
               "BUYER": _money_pool(50_000, 2_000_000, 5_000)}


def asyncpg_dsn(url: str) -> str:
    """SQLAlchemy's `postgresql+asyncpg://` URL as a libpq DSN for asyncpg and pgbench."""
    if not url.startswith("postgresql"):
        raise ValueError("the benchmarks need PostgreSQL (SALES_DATABASE_URL=postgresql+asyncpg://...)")
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _uuid(rng: random.Random) -> uuid.UUID:
    return uuid.UUID(bytes=rng.randbytes(16), version=4)


def _js(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


@dataclass
class SeedReport:
    scale: str
    rms: int = 0
    teams: int = 0
    leads: int = 0
    pipelines: int = 0
    history: int = 0
    allocations: int = 0
    live_allocations: int = 0
    bench_rm_id: str = ""
    bench_rm_pipelines: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_seconds(self) -> float:
        return round(sum(self.seconds.values()), 1)

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "total_seconds": self.total_seconds}


# --- the directory: teams, RMs, localities, leaves (generated in the main process) --------------

def _split(total: int, shares: list[float]) -> list[int]:
    raw = [total * s / sum(shares) for s in shares]
    counts = [int(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - counts[i], reverse=True)[:total - sum(counts)]:
        counts[i] += 1
    return counts


def build_directory(scale: Scale, rng: random.Random, now: datetime) -> tuple[list[dict], list[dict]]:
    """Teams of ~10 per (city, zone) and the RMs, each with its pipeline count and live-lead count."""
    teams: list[dict] = []
    rms: list[dict] = []
    city_names = list(CITIES)
    per_city = _split(scale.rms, [CITIES[c][0] for c in city_names])
    for city, n_city in zip(city_names, per_city):
        zones = CITIES[city][1]
        for zone, n_zone in zip(zones, _split(n_city, [1.0] * len(zones))):
            n_teams = max(1, round(n_zone / 10))
            zone_teams = []
            for t in range(n_teams):
                team = {"id": _uuid(rng), "name": f"{city} {zone} {t + 1}", "city": city,
                        "supervisor_id": _uuid(rng), "created_at": now - timedelta(days=400),
                        "updated_at": now - timedelta(days=400)}
                teams.append(team)
                zone_teams.append(team)
            others = [loc for z, locs in zones.items() if z != zone for loc in locs]
            for k in range(n_zone):
                team = zone_teams[k % n_teams]
                rms.append(_rm(rng, now, city=city, zone=zone, team=team, localities=zones[zone], others=others,
                               serial=len(rms)))
    bench = rms[0]  # Bangalore South: an ordinary, active, online RM
    bench.update(email=BENCH_RM_EMAIL, status="ACTIVE", availability="ONLINE", capacity=25, name="Bench RM",
                 is_backup=False)
    _assign_loads(scale, rng, rms)
    return teams, rms


def _rm(rng: random.Random, now: datetime, *, city: str, zone: str, team: dict, localities: list[str],
        others: list[str], serial: int) -> dict:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    mine = rng.sample(localities, min(len(localities), rng.choice([2, 3, 3, 4, 5])))
    if others and rng.random() < 0.15:
        mine.append(rng.choice(others))
    r = rng.random()
    property_types = ["RESIDENTIAL", "COMMERCIAL"] if r < 0.65 else ["RESIDENTIAL"] if r < 0.9 else ["COMMERCIAL"]
    r = rng.random()
    segments = (["TENANT", "OWNER", "BUYER"] if r < 0.5 else ["TENANT", "OWNER"] if r < 0.7
                else ["BUYER", "OWNER"] if r < 0.85 else ["TENANT"])
    start = rng.choice(["09:00", "10:00", "12:00"])
    end = {"09:00": "18:00", "10:00": "19:00", "12:00": "21:00"}[start]
    joined = now - timedelta(days=rng.randrange(100, 1500))
    return {
        "id": _uuid(rng), "name": f"{first} {last}", "email": f"{first.lower()}.{last.lower()}.{serial}@mysqrft.com",
        "phone": f"+91-9{rng.randrange(10**8, 10**9)}", "team_id": team["id"], "city": city, "zone": zone,
        "localities": mine, "property_types": property_types, "segments": segments,
        "max_deal_value": rng.choice([None, None, Decimal("500000.00"), Decimal("2000000.00"),
                                      Decimal("10000000.00")]),
        "capacity": rng.choices([25, 20, 30, 15, 40], weights=[60, 15, 15, 5, 5])[0],
        "base_salary": Decimal(rng.choice(range(30_000, 80_001, 5_000))).quantize(Decimal("0.01")),
        "performance_score": max(10, min(99, int(rng.gauss(65, 12)))),
        "is_backup": rng.random() < 0.05, "status": "ACTIVE" if rng.random() < 0.98 else "INACTIVE",
        "availability": "ONLINE" if rng.random() < 0.92 else "OFFLINE",
        # Most RMs keep no fixed shift (always on, as the engine reads an empty list); a quarter work day
        # shifts, so LAR availability filtering is exercised without making the benchmark depend on the hour.
        "shifts": [{"weekday": d, "start": start, "end": end} for d in range(6)] if rng.random() < 0.25 else [],
        "created_at": joined, "updated_at": joined,
    }


def _assign_loads(scale: Scale, rng: random.Random, rms: list[dict]) -> None:
    """Pipelines per RM (the bench RM exactly 250, the rest summing to the scale's total) and live leads."""
    mean = (scale.pipelines - BENCH_RM_PIPELINES) / max(1, len(rms) - 1)
    counts = [rng.randint(int(mean * 0.6), int(mean * 1.4)) for _ in rms[1:]]
    diff = scale.pipelines - BENCH_RM_PIPELINES - sum(counts)
    i = 0
    while diff and counts:
        step = 1 if diff > 0 else -1
        if counts[i % len(counts)] + step >= 1:
            counts[i % len(counts)] += step
            diff -= step
        i += 1
    for rm, count in zip(rms, [BENCH_RM_PIPELINES, *counts]):
        rm["pipelines"] = count
        live = 0 if rm["status"] != "ACTIVE" else round(rm["capacity"] * rng.uniform(0.3, 0.7))
        rm["active_leads"] = min(live, count)


def _rm_records(rms: list[dict]) -> list[tuple]:
    return [(r["id"], r["name"], r["email"], r["phone"], r["team_id"], r["city"], r["zone"], _js(r["localities"]),
             _js(r["property_types"]), _js(r["segments"]), r["max_deal_value"], r["capacity"], r["base_salary"],
             r["performance_score"], r["is_backup"], r["status"], r["availability"], _js(r["shifts"]),
             r["active_leads"], 0, None, 0, None, r["created_at"], r["updated_at"]) for r in rms]


RM_COLUMNS = ["id", "name", "email", "phone", "team_id", "city", "zone", "localities", "property_types", "segments",
              "max_deal_value", "capacity", "base_salary", "performance_score", "is_backup", "status",
              "availability", "shifts", "active_leads", "override_leads", "window_date", "window_received",
              "last_allocated_at", "created_at", "updated_at"]


def _locality_key(value: str) -> str:
    return " ".join(value.lower().split())


def _leave_records(rng: random.Random, rms: list[dict], now: datetime) -> list[tuple]:
    records = []
    today = now.date()
    for rm in rms[1:]:
        if rng.random() < 0.04:
            start = today + timedelta(days=rng.randrange(-20, 30))
            records.append((_uuid(rng), rm["id"], start, start + timedelta(days=rng.randrange(0, 7)),
                            rng.choice(["Vacation", "Sick leave", "Family event"]), None, now - timedelta(days=30)))
    return records


# --- the big tables: generated per shard of RMs in worker processes ------------------------------

LEAD_COLUMNS = ["id", "customer_id", "customer_name", "customer_phone", "customer_email", "city", "zone", "locality",
                "property_type", "segment", "expected_deal_value", "source", "intent", "priority",
                "allocation_status", "queue_reason", "queued_at", "sla_breaches", "created_at", "updated_at"]
PIPELINE_COLUMNS = ["id", "lead_id", "rm_id", "stage", "source", "deal_value", "probability", "expected_close_date",
                    "actual_close_date", "outcome", "loss_reason", "notes", "sla_deadline", "stage_changed_at",
                    "created_at", "updated_at"]
HISTORY_COLUMNS = ["pipeline_id", "from_stage", "to_stage", "changed_by", "changed_at", "reason"]
ALLOCATION_COLUMNS = ["id", "lead_id", "rm_id", "team_id", "city", "pipeline_id", "allocation_type",
                      "allocation_reason", "priority", "status", "allocated_at", "accepted_at", "first_action_at",
                      "sla_deadline", "is_reassignment", "previous_rm_id", "reassignment_reason", "over_capacity",
                      "decision", "ended_at", "created_at", "updated_at"]


@dataclass
class Rows:
    leads: list[tuple] = field(default_factory=list)
    pipelines: list[tuple] = field(default_factory=list)
    history: list[tuple] = field(default_factory=list)
    allocations: list[tuple] = field(default_factory=list)
    live: int = 0

    def __len__(self) -> int:
        return len(self.pipelines)


class PipelineFactory:
    """Generates one RM's leads, pipelines, history and allocations."""

    def __init__(self, rng: random.Random, now: datetime, aead: PiiCipher) -> None:
        self.rng = rng
        self.now = now
        self.aead = aead
        self.span = 90 * 86400.0
        self.open_cum = list(itertools.accumulate(OPEN_STAGE_WEIGHTS))

    def rm(self, rm: dict, teammates: list[uuid.UUID], rows: Rows) -> None:
        rng, now = self.rng, self.now
        for k in range(rm["pipelines"]):
            if k < rm["active_leads"]:
                pending = rng.random() < 0.15
                age = rng.uniform(60, 5400) if pending else rng.uniform(5400, 3 * 86400)
                status = "PENDING" if pending else "ESCALATED" if rng.random() < 0.03 else "ACTIVE"
            else:
                age = rng.uniform(3 * 86400, self.span)
                status = "COMPLETED"
            self._one(rm, teammates, rows, now - timedelta(seconds=age), status)

    def _one(self, rm: dict, teammates: list[uuid.UUID], rows: Rows, allocated_at: datetime, status: str) -> None:
        rng, aead, now = self.rng, self.aead, self.now
        lead_id, pipeline_id, allocation_id = _uuid(rng), _uuid(rng), _uuid(rng)
        segment = rng.choice(rm["segments"])
        property_type = rng.choice(rm["property_types"])
        locality = rng.choice(rm["localities"])
        source = rng.choice(SOURCES)
        priority = rng.choice(PRIORITIES)
        deal_value = rng.choice(DEAL_VALUES[segment])
        first, last = rng.choice(FIRST), rng.choice(LAST)
        lead_created = allocated_at - timedelta(seconds=rng.uniform(1, 300))
        rows.leads.append((
            lead_id, _uuid(rng), aead.encrypt(f"{first} {last}"), aead.encrypt(f"+91-9{rng.randrange(10**8, 10**9)}"),
            aead.encrypt(f"{first.lower()}.{rng.randrange(1, 10**6)}@example.com"), rm["city"], rm["zone"], locality,
            property_type, segment, deal_value, source, '{"bhk":%d}' % rng.randint(1, 4), priority, "ALLOCATED",
            None, None, 1 if status == "ESCALATED" else 0, lead_created, allocated_at))

        # Stage and its history (the service writes one row per change, none on creation).
        live = status != "COMPLETED"
        if status in ("PENDING", "ESCALATED"):
            stage, path = "NEW", []
        elif status == "ACTIVE":
            stage, path = "CONTACTED", ["CONTACTED"]
        else:
            age_frac = (now - allocated_at).total_seconds() / self.span
            if rng.random() < 0.05 + 0.55 * age_frac:
                reached = rng.randrange(1, len(OPEN_PATH))
                stage = "CLOSED_WON" if rng.random() < 0.45 else "CLOSED_LOST"
                path = OPEN_PATH[1:reached + 1] + [stage]
            else:
                idx = 1 + bisect.bisect_right(self.open_cum, rng.random() * self.open_cum[-1])
                stage, path = OPEN_PATH[idx], OPEN_PATH[1:idx + 1]
        end = min(now - timedelta(minutes=1), allocated_at + timedelta(days=rng.uniform(1, 40)))
        if status == "ACTIVE":
            end = min(now - timedelta(seconds=30), allocated_at + timedelta(minutes=rng.uniform(5, 90)))
        changed_at = allocated_at
        previous = "NEW"
        n = len(path)
        for i, to_stage in enumerate(path, 1):
            changed_at = allocated_at + (end - allocated_at) * (i / n)
            reason = rng.choice(LOSS_REASONS) if to_stage == "CLOSED_LOST" else None
            rows.history.append((pipeline_id, previous, to_stage, rm["id"], changed_at, reason))
            previous = to_stage
        closed = stage in ("CLOSED_WON", "CLOSED_LOST")
        outcome = "WON" if stage == "CLOSED_WON" else "LOST" if stage == "CLOSED_LOST" else "PENDING"
        rows.pipelines.append((
            pipeline_id, lead_id, rm["id"], stage, source, deal_value, PROBABILITY[stage],
            (allocated_at + timedelta(days=rng.randrange(7, 60))).date(), changed_at.date() if closed else None,
            outcome, rows.history[-1][5] if stage == "CLOSED_LOST" else None,
            aead.encrypt(rng.choice(NOTES)) if rng.random() < 0.3 else None,  # sealed like the service's notes
            allocated_at + SLA, changed_at, allocated_at, changed_at))

        # The allocation that created it, and the one before it when the lead was reassigned.
        reassigned = teammates and rng.random() < 0.03
        previous_rm = rng.choice(teammates) if reassigned else None
        if reassigned:
            before = allocated_at - SLA - timedelta(minutes=rng.uniform(1, 30))
            rows.allocations.append((
                _uuid(rng), lead_id, previous_rm, rm["team_id"], rm["city"], None, "AUTO", "LAR-001 locality match",
                priority, "REASSIGNED", before, None, None, before + SLA, False, None, None, False,
                '{"seeded":true,"rules":["LAR-001","LAR-002","LAR-003","LAR-004"]}', allocated_at, before,
                allocated_at))
        accepted = first_action = ended = None
        if status in ("ACTIVE", "COMPLETED"):
            accepted = allocated_at + timedelta(minutes=rng.uniform(1, 20))
            first_action = rows.history[-n][4] if n else accepted
            first_action = max(first_action, accepted)
        if status == "COMPLETED":
            ended = first_action
        kind = "MANUAL" if reassigned else rng.choice(ALLOCATION_TYPES)
        rows.allocations.append((
            allocation_id, lead_id, rm["id"], rm["team_id"], rm["city"], pipeline_id, kind,
            f"LAR-001 {locality}; LAR-003 {property_type}/{segment}; LAR-004 least loaded", priority, status,
            allocated_at, accepted, first_action, allocated_at + SLA, bool(reassigned), previous_rm,
            "LAR-006 no first action within 2 h" if reassigned else None, False,
            '{"seeded":true,"rules":["LAR-001","LAR-002","LAR-003","LAR-004"]}', ended, allocated_at,
            ended or first_action or allocated_at))
        rows.live += live


async def _copy(conn: asyncpg.Connection, rows: Rows) -> None:
    await conn.copy_records_to_table("leads", records=rows.leads, columns=LEAD_COLUMNS)
    await conn.copy_records_to_table("sales_pipelines", records=rows.pipelines, columns=PIPELINE_COLUMNS)
    await conn.copy_records_to_table("pipeline_stage_history", records=rows.history, columns=HISTORY_COLUMNS)
    await conn.copy_records_to_table("rm_allocations", records=rows.allocations, columns=ALLOCATION_COLUMNS)


async def _loader_session(conn: asyncpg.Connection) -> None:
    await conn.execute("SET synchronous_commit = off")
    try:  # rows are consistent by construction and checked at the end; skip per-row FK triggers
        await conn.execute("SET session_replication_role = replica")
    except asyncpg.InsufficientPrivilegeError:
        pass


async def _seed_shard(dsn: str, shard: list[dict], teammates: dict, seed: int, now: datetime,
                      pii_key: bytes) -> dict[str, int]:
    rng = random.Random(seed)
    factory = PipelineFactory(rng, now, PiiCipher(pii_key))
    counts = {"leads": 0, "pipelines": 0, "history": 0, "allocations": 0, "live": 0}
    conn = await asyncpg.connect(dsn)
    try:
        await _loader_session(conn)
        rows = Rows()
        for rm in shard:
            factory.rm(rm, [t for t in teammates[rm["team_id"]] if t != rm["id"]], rows)
            if len(rows) >= 20_000:
                await _copy(conn, rows)
                _count(counts, rows)
                rows = Rows()
        if len(rows):
            await _copy(conn, rows)
            _count(counts, rows)
    finally:
        await conn.close()
    return counts


def _count(counts: dict[str, int], rows: Rows) -> None:
    counts["leads"] += len(rows.leads)
    counts["pipelines"] += len(rows.pipelines)
    counts["history"] += len(rows.history)
    counts["allocations"] += len(rows.allocations)
    counts["live"] += rows.live


def _shard_entry(args: tuple) -> dict[str, int]:
    return asyncio.run(_seed_shard(*args))


# --- orchestration ------------------------------------------------------------------------------

async def _secondary_indexes(conn: asyncpg.Connection) -> list[tuple[str, str]]:
    """Indexes of the big tables that no constraint owns: dropped for the load, rebuilt after."""
    rows = await conn.fetch("""
        SELECT i.indexname, i.indexdef FROM pg_indexes i
        WHERE i.schemaname = current_schema() AND i.tablename = ANY($1::text[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = (quote_ident(i.indexname))::regclass)
        ORDER BY i.tablename, i.indexname""", list(BIG_TABLES))
    return [(r["indexname"], r["indexdef"]) for r in rows]


async def _rebuild_indexes(dsn: str, indexes: list[tuple[str, str]], parallel: int) -> None:
    queue = list(indexes)

    async def worker() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute("SET maintenance_work_mem = '256MB'")
            while queue:
                _, definition = queue.pop(0)
                await conn.execute(definition)
        finally:
            await conn.close()

    await asyncio.gather(*(worker() for _ in range(max(1, parallel))))


class SeedRefused(RuntimeError):
    """The target database is not migrated, or already holds data and --replace was not given."""


async def seed(dsn: str, scale_name: str, *, pii_key: bytes, replace: bool = False, workers: int | None = None,
               now: datetime, seed_value: int = 20_240_601,
               echo: Callable[[str], None] = print) -> SeedReport:
    """Fill the database at `dsn`; returns counts and the time of each phase."""
    scale = SCALES[scale_name]
    report = SeedReport(scale=scale_name)
    workers = workers or max(1, min(4, os.cpu_count() or 1))
    rng = random.Random(seed_value)
    now = now.astimezone(UTC).replace(microsecond=0)

    def phase(name: str, started: float) -> None:
        report.seconds[name] = round(time.perf_counter() - started, 2)
        echo(f"  {name}: {report.seconds[name]} s")

    conn = await asyncpg.connect(dsn)
    try:
        if await conn.fetchval("SELECT to_regclass('alembic_version') IS NULL OR to_regclass('rms') IS NULL"):
            raise SeedRefused("the database is not migrated: run `sales migrate` first")
        if not replace and await conn.fetchval("SELECT EXISTS (SELECT 1 FROM rms)"):
            raise SeedRefused("the database already holds RMs: pass --replace to empty it first")
        t = time.perf_counter()
        present = [r["t"] for r in await conn.fetch(
            "SELECT tablename AS t FROM pg_tables WHERE schemaname = current_schema() AND tablename = ANY($1::text[])",
            list(ALL_TABLES))]
        await conn.execute(f"TRUNCATE {', '.join(present)} RESTART IDENTITY CASCADE")
        phase("truncate", t)

        t = time.perf_counter()
        teams, rms = build_directory(scale, rng, now)
        await _loader_session(conn)
        await conn.copy_records_to_table("teams", columns=["id", "name", "city", "supervisor_id", "created_at",
                                                           "updated_at"],
                                         records=[(x["id"], x["name"], x["city"], x["supervisor_id"],
                                                   x["created_at"], x["updated_at"]) for x in teams])
        await conn.copy_records_to_table("rms", columns=RM_COLUMNS, records=_rm_records(rms))
        await conn.copy_records_to_table("rm_localities", columns=["rm_id", "city", "locality"], records=[
            (r["id"], _locality_key(r["city"]), key) for r in rms
            for key in sorted({_locality_key(loc) for loc in r["localities"]})])
        await conn.copy_records_to_table("rm_leaves", columns=["id", "rm_id", "start_date", "end_date", "reason",
                                                               "created_by", "created_at"],
                                         records=_leave_records(rng, rms, now))
        report.rms, report.teams = len(rms), len(teams)
        phase("directory", t)

        t = time.perf_counter()
        indexes = await _secondary_indexes(conn)
        for name, _ in indexes:
            await conn.execute(f'DROP INDEX "{name}"')
        phase("drop_indexes", t)
    finally:
        await conn.close()

    t = time.perf_counter()
    teammates: dict[Any, list] = {}
    for rm in rms:
        teammates.setdefault(rm["team_id"], []).append(rm["id"])
    n_shards = max(workers, min(len(rms), workers * 4))
    shards = [rms[i::n_shards] for i in range(n_shards)]
    jobs = [(dsn, shard, {k: teammates[k] for k in {r["team_id"] for r in shard}}, seed_value + 1 + i, now,
             pii_key) for i, shard in enumerate(shards)]
    if scale.pipelines <= 20_000:  # small sets: starting worker processes would cost more than it saves
        results = [await _seed_shard(*job) for job in jobs]
    else:
        loop = asyncio.get_running_loop()
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            results = await asyncio.gather(*(loop.run_in_executor(pool, _shard_entry, job) for job in jobs))
    report.leads = sum(r["leads"] for r in results)
    report.pipelines = sum(r["pipelines"] for r in results)
    report.history = sum(r["history"] for r in results)
    report.allocations = sum(r["allocations"] for r in results)
    report.live_allocations = sum(r["live"] for r in results)
    phase("copy_big_tables", t)

    t = time.perf_counter()
    await _rebuild_indexes(dsn, indexes, parallel=min(2, workers))
    phase("rebuild_indexes", t)

    conn = await asyncpg.connect(dsn)
    try:
        t = time.perf_counter()
        await conn.execute("""
            UPDATE rms SET last_allocated_at = a.last_at, window_date = $1::date, window_received = a.today
            FROM (SELECT rm_id, max(allocated_at) AS last_at,
                         count(*) FILTER (WHERE allocated_at >= $1::date) AS today
                  FROM rm_allocations GROUP BY rm_id) a
            WHERE rms.id = a.rm_id""", now.date())
        phase("rm_bookkeeping", t)

        t = time.perf_counter()
        await conn.execute(_forecast_learning_sql())
        phase("forecast_learning", t)

        t = time.perf_counter()
        await verify(conn)
        phase("verify", t)

        t = time.perf_counter()
        await conn.execute("VACUUM (ANALYZE)")
        phase("vacuum_analyze", t)
        bench = await conn.fetchrow(
            "SELECT r.id, count(p.id) AS n FROM rms r JOIN sales_pipelines p ON p.rm_id = r.id "
            "WHERE r.email = $1 GROUP BY r.id", BENCH_RM_EMAIL)
        report.bench_rm_id, report.bench_rm_pipelines = str(bench["id"]), bench["n"]
    finally:
        await conn.close()
    return report


def _forecast_learning_sql() -> str:
    """The forecast's learning rows of the seeded closed pipelines, as migration 0031 backfills them."""
    from sqlalchemy.dialects import postgresql

    from sales.dashboards.models import forecast_learning
    from sales.dashboards.repository import LEARNING_COLUMNS, learning_rows
    statement = forecast_learning.insert().from_select(LEARNING_COLUMNS, learning_rows())
    return str(statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


class SeedInconsistent(RuntimeError):
    """The seeded rows break an invariant the service relies on."""


async def verify(conn: asyncpg.Connection) -> None:
    """Live allocations per RM equal rms.active_leads (within capacity); at most one live allocation per lead;
    every pipeline's RM and lead exist."""
    bad = await conn.fetchval("""
        SELECT count(*) FROM rms r LEFT JOIN (
            SELECT rm_id, count(*) AS live FROM rm_allocations
            WHERE status IN ('PENDING','ACCEPTED','ACTIVE','ESCALATED') GROUP BY rm_id) a ON a.rm_id = r.id
        WHERE coalesce(a.live, 0) <> r.active_leads OR r.active_leads > r.capacity + r.override_leads""")
    if bad:
        raise SeedInconsistent(f"{bad} RMs whose live allocations differ from active_leads")
    dup = await conn.fetchval("""
        SELECT count(*) FROM (SELECT lead_id FROM rm_allocations
                              WHERE status IN ('PENDING','ACCEPTED','ACTIVE','ESCALATED')
                              GROUP BY lead_id HAVING count(*) > 1) d""")
    if dup:
        raise SeedInconsistent(f"{dup} leads with more than one live allocation")
    orphans = await conn.fetchval("""
        SELECT count(*) FROM sales_pipelines p
        WHERE NOT EXISTS (SELECT 1 FROM rms r WHERE r.id = p.rm_id)
           OR NOT EXISTS (SELECT 1 FROM leads l WHERE l.id = p.lead_id)""")
    if orphans:
        raise SeedInconsistent(f"{orphans} pipelines without their RM or lead")


async def bench_rm(dsn: str) -> tuple[str, int]:
    """The RM with exactly 250 pipelines (see BENCH_RM_EMAIL) and its pipeline count."""
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow("SELECT r.id, (SELECT count(*) FROM sales_pipelines p WHERE p.rm_id = r.id) AS n "
                                  "FROM rms r WHERE r.email = $1", BENCH_RM_EMAIL)
    finally:
        await conn.close()
    if row is None:
        raise SeedRefused("no bench RM in this database: run `sales bench seed` first")
    return str(row["id"]), row["n"]



# --- upsell customers (`sales bench run`'s upsell_create operation, issue 11) ----------------------------

# (user type, plan the customer holds or None for the free tier, target plan): every target is above the current.
UPSELL_CUSTOMER_KINDS = [("TENANT", None, "TENANT_PREMIUM"), ("TENANT", "TENANT_PREMIUM", "TENANT_PRIME"),
                         ("OWNER", "OWNER_LISTING_BOOST", "OWNER_PREMIUM_VISIBILITY"), ("BUYER", None, "BUYER_ASSIST")]


def upsell_customers(base_url: str, n: int, rng: random.Random, now: datetime) -> list[dict[str, str]]:
    """Customers the load generator offers upsells to (POST /upsells as SERVICE), made through the service as
    Billing and the catalog would: the demo plans through POST /plans (sales.bench.ingest.seed_plans), and for
    the paying half an order through a `billing.payment.completed` event (POST /events, the orders handler),
    paid a day ago. Returns {user_id, user_type, target_plan_id} per customer."""
    import httpx

    from sales.bench.ingest import SOURCES, seed_plans
    from sales.bench.server import bench_token
    from sales.catalog.demo import DEMO_PLANS
    from sales.core.http import dumps

    seed_plans(base_url)
    plans = {p["code"]: p for p in DEMO_PLANS}
    paid_at = (now - timedelta(days=1)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    customers, events = [], []
    for i in range(n):
        user_type, held, target = UPSELL_CUSTOMER_KINDS[i % len(UPSELL_CUSTOMER_KINDS)]
        user_id = str(_uuid(rng))
        customers.append({"user_id": user_id, "user_type": user_type, "target_plan_id": str(plans[target]["id"])})
        if held:
            plan = plans[held]
            events.append({"specversion": "1.0", "id": f"bench-upsell-{user_id}", "source": SOURCES["billing"],
                           "type": "billing.payment.completed", "time": paid_at,
                           "datacontenttype": "application/json", "data": {
                               "payment_id": str(_uuid(rng)), "order_id": str(_uuid(rng)), "user_id": user_id,
                               "user_type": user_type, "plan_id": str(plan["id"]), "amount": plan["price"],
                               "currency": "INR", "paid_at": paid_at}})
    headers = {"Authorization": f"Bearer {bench_token(uuid.uuid4(), ['SERVICE'])}",
               "Content-Type": "application/json"}
    with httpx.Client(base_url=f"{base_url}/api/v1/sales", headers=headers, timeout=120) as client:
        for start in range(0, len(events), 500):
            response = client.post("/events", content=dumps(events[start:start + 500]))
            statuses = {item["status"] for item in response.json()["items"]} if response.status_code == 200 else {}
            if response.status_code != 200 or not statuses <= {"PROCESSED", "DUPLICATE"}:
                raise RuntimeError(f"upsell customers' payments: {response.status_code} {response.text[:300]}")
    return customers
