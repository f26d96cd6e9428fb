"""`sales ops restore-drill`: prove that a base backup plus the WAL archive restores to a chosen instant.

On a scratch cluster of its own (never SALES_DATABASE_URL): WAL archiving on, the schema migrated, writes through
the real API (RMs, allocations, pipelines and stage changes: audit rows and outbox events with them), a base backup
(pg_basebackup), more writes, the target instant noted, writes that must NOT survive, the WAL switched and archived,
the source stopped as if lost; then a second cluster made from the base backup replays the archive up to the target
(point-in-time recovery) and is checked: every table's row count equals the source's at the target instant, the
audit chains are intact (`sales audit verify`, exit 0) and the outbox is whole and in order.
"""
from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from sales.ops import invariants
from sales.ops.cluster import DEFAULT_BIN_DIR, Cluster, ClusterError, workspace

DATABASE = "sales"
SECRET = "restore-drill-secret-for-jwt-signing-0123"
API = "/api/v1/sales"


@dataclass
class DrillReport:
    steps: list[tuple[str, float]] = field(default_factory=list)   # (step, seconds)
    problems: list[str] = field(default_factory=list)
    restored_counts: dict[str, int] = field(default_factory=dict)
    workdir: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


def _settings(url: str) -> Any:
    from sales.settings import Settings

    return Settings(env="development", database_url=url, jwt_secret=SECRET, log_level="WARNING",
                    rate_limits_enabled=False)


async def write_round(url: str, *, rounds: int, tag: str) -> None:
    """`rounds` times: an RM, a lead allocated to them, a pipeline moved two stages - through the HTTP API."""
    from sales.app import create_app
    from sales.core.auth import issue_token

    settings = _settings(url)
    app = create_app(settings)
    headers = {"Authorization": f"Bearer {issue_token(settings, sub=uuid.uuid4(), roles=['SALES_ADMIN'])}"}
    transport = httpx.ASGITransport(app=app)
    async with app.router.lifespan_context(app), httpx.AsyncClient(transport=transport, base_url="http://drill",
                                                                      headers=headers) as client:
        async def ok(method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
            response = await client.request(method, f"{API}{path}", json=body)
            if response.status_code >= 300:
                raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
            return response.json()

        for i in range(rounds):
            rm = await ok("POST", "/rms", {
                "id": str(uuid.uuid4()), "name": f"Drill RM {tag} {i}", "email": f"drill.{tag}.{i}.{uuid.uuid4().hex[:6]}@mysqrft.com",
                "city": "Pune", "zone": "West", "localities": ["Baner"], "capacity": 25, "base_salary": "40000.00"})
            await ok("POST", "/allocations", {
                "lead_id": str(uuid.uuid4()), "customer": {"name": f"Drill Customer {i}", "phone": "+91-9876543210"},
                "city": "Pune", "zone": "West", "locality": "Baner", "property_type": "RESIDENTIAL",
                "segment": "BUYER", "source": "WEBSITE", "rm_id": rm["id"], "reason": "restore drill"})
            pipeline = await ok("POST", "/pipelines", {
                "lead_id": str(uuid.uuid4()), "rm_id": rm["id"], "source": "REFERRAL", "deal_value": "4200000.00",
                "expected_close_date": "2026-04-15"})
            for stage in ("CONTACTED", "REQUIREMENTS_CAPTURED"):
                await ok("PATCH", f"/pipelines/{pipeline['id']}/stage", {"stage": stage})


async def _counts(url: str) -> dict[str, int]:
    from sales.core.db import create_engine

    engine = create_engine(_settings(url))
    try:
        async with engine.connect() as conn:
            return await invariants.row_counts(conn)
    finally:
        await engine.dispose()


async def _outbox_problems(url: str) -> list[str]:
    from sales.core.db import create_engine

    engine = create_engine(_settings(url))
    try:
        async with engine.connect() as conn:
            return await invariants.outbox_problems(conn)
    finally:
        await engine.dispose()


def _audit_verify(url: str) -> tuple[int, str]:
    """`sales audit verify` against the restored database, as an operator runs it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALES_")}
    env.update({"SALES_DATABASE_URL": url, "SALES_ENV": "development", "SALES_JWT_SECRET": SECRET,
                "SALES_LOG_LEVEL": "WARNING"})
    done = subprocess.run([sys.executable, "-m", "sales.cli", "audit", "verify"], env=env, capture_output=True,
                          text=True, timeout=300)
    return done.returncode, (done.stdout + done.stderr).strip()


def _wait_archived(cluster: Cluster, archive: Path, timeout: float = 60) -> str:
    """Close the current WAL segment and wait until the archiver has copied it."""
    segment = cluster.sql("SELECT pg_walfile_name(pg_switch_wal())")
    deadline = time.monotonic() + timeout
    while not (archive / segment).exists():
        if time.monotonic() > deadline:
            raise ClusterError(f"WAL segment {segment} was not archived in {timeout:.0f}s")
        time.sleep(0.1)
    return segment


def run(*, rounds: int = 5, bin_dir: str = DEFAULT_BIN_DIR, keep: bool = False,
        say: Any = lambda line: None) -> DrillReport:
    """The whole drill; `say` gets one line per step. Synchronous (it runs the migrations, which use asyncio)."""
    from sales import migrate

    report = DrillReport()
    root = workspace("sales-restore-drill-")
    report.workdir = str(root)
    archive = root / "wal-archive"
    source = Cluster(root=root, bin_dir=bin_dir, name="source")
    restored: Cluster | None = None
    clock = time.monotonic()

    def step(name: str) -> None:
        nonlocal clock
        now = time.monotonic()
        report.steps.append((name, round(now - clock, 2)))
        say(f"{name} ({now - clock:.1f}s)")
        clock = now

    try:
        source.init(archive_dir=archive)
        source.start()
        source.create_database(DATABASE)
        url = source.url(DATABASE)
        migrate.upgrade(url)
        step(f"source cluster on port {source.port}: WAL archived to {archive}, schema migrated")
        asyncio.run(write_round(url, rounds=rounds, tag="base"))
        step(f"written before the base backup: {rounds} RMs, allocations and pipelines")
        source.base_backup(root / "base-backup")
        step("base backup taken (pg_basebackup)")
        asyncio.run(write_round(url, rounds=rounds, tag="wal"))
        expected = asyncio.run(_counts(url))
        target = source.sql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', "
                            "'YYYY-MM-DD HH24:MI:SS.US') || '+00'")
        step(f"written after it (in the WAL only); recovery target {target}")
        asyncio.run(write_round(url, rounds=max(1, rounds // 2), tag="late"))
        late = asyncio.run(_counts(url))
        segment = _wait_archived(source, archive)
        source.stop("immediate")
        step(f"written after the target (must not come back); WAL archived up to {segment}; source stopped")
        restored = Cluster.restored(root, root / "base-backup", archive_dir=archive, target_time=target,
                                    bin_dir=bin_dir)
        restored.start()
        restored.wait_promoted()
        step(f"restored cluster on port {restored.port}: base backup + WAL replayed to the target, promoted")
        restored_url = restored.url(DATABASE)
        report.restored_counts = asyncio.run(_counts(restored_url))
        for table, count in sorted(expected.items()):
            got = report.restored_counts.get(table)
            if got != count:
                report.problems.append(f"{table}: {got} rows restored, {count} at the target instant")
        if late == expected:
            report.problems.append("the writes after the target added no rows: the drill proves nothing")
        code, output = _audit_verify(restored_url)
        if code != 0:
            report.problems.append(f"sales audit verify exited {code}: {output}")
        report.problems += asyncio.run(_outbox_problems(restored_url))
        step(f"checked: row counts of {len(expected)} tables, audit chains ({output.splitlines()[-1] if output else '-'}), "
             "outbox order")
    except (ClusterError, RuntimeError, subprocess.SubprocessError, OSError) as exc:
        report.problems.append(f"drill failed: {exc}")
    finally:
        for cluster in (restored, source):
            if cluster is not None:
                cluster.destroy()
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    return report
