"""ISSUE 6 (and issue 11's upsell_create operation): the performance harness keeps working. A tiny data set, a few
seconds of load, no timing assertions: seed -> `sales bench run --smoke` (service + worker subprocesses, load
generator process, pgbench) -> a latest.json with exactly the issue's keys. Runs on a database of its own,
dropped after."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
import warnings
from pathlib import Path

import asyncpg
import pytest

from sales.bench.harness import OPERATIONS

pytestmark = [pytest.mark.e2e, pytest.mark.postgres_only]

PG_URL = os.environ.get("SALES_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SALES = str(Path(sys.executable).with_name("sales"))


async def _admin(sql: str) -> None:
    base = PG_URL.replace("postgresql+asyncpg://", "postgresql://", 1).rpartition("/")[0]
    conn = await asyncpg.connect(f"{base}/postgres", timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture
def bench_db():  # type: ignore[no-untyped-def]
    name = f"{PG_URL.rpartition('/')[2]}_bench_smoke_{uuid.uuid4().hex[:8]}"
    try:
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        if IN_CI:
            pytest.fail(f"PostgreSQL is required under CI=true: {exc}", pytrace=False)
        warnings.warn(f"SKIPPING BENCH SMOKE: PostgreSQL unreachable ({exc})", stacklevel=1)
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    yield f"{PG_URL.rpartition('/')[0]}/{name}"
    asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _sales(*args: str, url: str, timeout: float = 90) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALES_")}
    env["SALES_DATABASE_URL"] = url
    done = subprocess.run([SALES, *args], env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"sales {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_bench_harness_smoke(bench_db: str, tmp_path: Path) -> None:
    _sales("migrate", url=bench_db)
    seeded = _sales("bench", "seed", "--scale", "smoke", url=bench_db)
    assert "bench RM with 250 pipelines" in seeded
    _sales("bench", "run", "--smoke", "--results-dir", str(tmp_path), url=bench_db)

    latest = json.loads((tmp_path / "tmp" / "latest-smoke.json").read_text())
    assert not (tmp_path / "latest.json").exists()  # smoke never overwrites the committed figures
    assert set(latest) == {"scale", "commit", "operations", "saturation_rps", "raw_postgres_tps", "ratios"}
    assert set(latest["operations"]) == set(OPERATIONS)
    for figures in latest["operations"].values():
        assert set(figures) == {"p50_ms", "p95_ms", "p99_ms", "rps"}
    for key in ("saturation_rps", "raw_postgres_tps", "ratios"):
        assert set(latest[key]) == {"allocation", "pipeline_list"}
    # Every operation the service offers was exercised and answered without a server error.
    detail = json.loads(next((tmp_path / "tmp").glob("run-smoke-*.json")).read_text())
    for op in detail["operations_available"]:
        statuses = detail["mixed"]["operations"][op]["status"]
        assert statuses and not any(s == "0" or s.startswith("5") for s in statuses), (op, statuses)
    # Issue 11: the upsell create path is in the mix (POST /upsells as SERVICE to seeded customers -> 201).
    assert "upsell_create" in detail["operations_available"]
    assert detail["mixed"]["operations"]["upsell_create"]["status"].get("201"), detail["mixed"]["operations"]
    assert latest["operations"]["upsell_create"]["p50_ms"] is not None
    assert latest["saturation_rps"]["pipeline_list"]
    assert latest["raw_postgres_tps"]["pipeline_list"]
