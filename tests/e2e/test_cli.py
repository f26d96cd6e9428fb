"""The `sales` command as an operator meets it: one clear line for bad configuration, dev tokens refused in
production, and `serve` refusing an unmigrated PostgreSQL."""
from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.conftest import PG_URL

SALES = str(Path(sys.executable).with_name("sales"))
PII_KEY = "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="
JWKS_URL = "https://id.mysqrft.example/.well-known/jwks.json"
PRODUCTION = {"SALES_ENV": "production", "SALES_JWT_SECRET": "s" * 40, "SALES_PII_KEY": PII_KEY}


def _sales(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SALES_")}
    return subprocess.run([SALES, *args], env={**clean, **env}, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("env", "named"), [
    ({"SALES_ENV": "staging"}, "SALES_ENV"),
    ({"SALES_DATABASE_URL": "mysql://x"}, "SALES_DATABASE_URL"),
    ({"SALES_ENV": "production", "SALES_PII_KEY": "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="}, "SALES_JWT_SECRET"),
    ({"SALES_ENV": "production", "SALES_JWT_SECRET": "s" * 40}, "SALES_PII_KEY"),
    ({"SALES_PII_KEY": "c2hvcnQ="}, "SALES_PII_KEY"),
    ({"SALES_ENV": "production", "SALES_PII_KEY": PII_KEY, "SALES_JWT_SECRET": "dev-only-insecure-jwt-secret-change-me"},
     "SALES_JWT_SECRET"),
    ({"SALES_ENV": "production", "SALES_PII_KEY": PII_KEY, "SALES_JWT_SECRET": "s" * 31}, "SALES_JWT_SECRET"),
    ({"SALES_ENV": "production", "SALES_PII_KEY": PII_KEY, "SALES_JWT_JWKS_URL": "http://id.example/jwks"},
     "SALES_JWT_JWKS_URL"),
])
def test_bad_configuration_fails_fast_with_one_line_naming_the_variable(env: dict[str, str], named: str) -> None:
    result = _sales("migrate", **env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr


@pytest.mark.parametrize("command", [("serve", "--port", "0"), ("worker",), ("migrate",)])
def test_production_with_both_a_secret_and_a_jwks_refuses_to_start(command: tuple[str, ...]) -> None:
    """issue 9 item 1: accepting HS256 and RS256 tokens at once is a misconfiguration (ARCHITECTURE: never both)."""
    result = _sales(*command, SALES_ENV="production", SALES_PII_KEY=PII_KEY, SALES_JWT_SECRET="s" * 40,
                    SALES_JWT_JWKS_URL=JWKS_URL)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "SALES_JWT_SECRET and SALES_JWT_JWKS_URL are both set" in lines[0], result.stderr


def test_dev_tokens_need_a_secret_when_only_a_jwks_is_configured() -> None:
    """issue 9 item 1: no development fallback secret signs tokens that the server would refuse anyway."""
    result = _sales("token", "--role", "SALES_ADMIN", SALES_JWT_JWKS_URL=JWKS_URL)
    assert result.returncode == 2 and result.stdout == ""
    assert "SALES_JWT_SECRET" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_dev_tokens_are_refused_in_production() -> None:
    result = _sales("token", "--role", "SALES_ADMIN", SALES_ENV="production", SALES_JWT_SECRET="s" * 40,
                    SALES_PII_KEY="MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=")
    assert result.returncode == 2 and "development only" in result.stderr
    assert _sales("token", "--role", "RM", "--sub", str(uuid.uuid4())).stdout.count(".") == 2  # a JWT


def test_serve_refuses_an_unmigrated_postgresql() -> None:
    name = f"sales_unmigrated_{uuid.uuid4().hex[:8]}"

    async def ddl(statement: str) -> None:
        engine = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(text(statement))
        finally:
            await engine.dispose()

    asyncio.run(ddl(f"CREATE DATABASE {name}"))
    try:
        result = _sales("serve", "--port", "0", SALES_DATABASE_URL=PG_URL.rsplit("/", 1)[0] + f"/{name}")
        assert result.returncode == 1
        assert "run `sales migrate`" in result.stderr
    finally:
        asyncio.run(ddl(f"DROP DATABASE IF EXISTS {name}"))


@pytest.mark.parametrize("command", [("seed", "--demo"), ("users", "demo"), ("bench", "seed", "--scale", "smoke")])
def test_demo_data_and_benchmarks_are_refused_in_production(tmp_path: Path, command: tuple[str, ...]) -> None:
    """issue 9 item 13: the demo accounts' passwords are published; nothing of them reaches production."""
    database = tmp_path / "sales.db"
    result = _sales(*command, **PRODUCTION, SALES_DATABASE_URL=f"sqlite+aiosqlite:///{database}")
    assert result.returncode == 2 and result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "refused in production" in lines[0], result.stderr
    assert not database.exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _healthz_count(metrics: str) -> float:
    found = re.findall(r'^sales_http_requests_total\{[^}]*route="/healthz"[^}]*status="200"[^}]*\} (\S+)$', metrics,
                       re.MULTILINE)
    return sum(float(value) for value in found)


@pytest.mark.parametrize("workers", [1, 2])
def test_serve_moves_metrics_to_a_loopback_port(tmp_path: Path, workers: int) -> None:
    """issue 9 item 13: with SALES_METRICS_PORT the API port has no /metrics; 127.0.0.1:port has every
    worker process's, and nothing else listens on that port."""
    api_port, metrics_port = _free_port(), _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALES_")}
    env |= {"SALES_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'sales.db'}", "SALES_LOG_LEVEL": "WARNING",
            "SALES_METRICS_PORT": str(metrics_port)}
    with (tmp_path / "serve.log").open("w") as log:
        server = subprocess.Popen([SALES, "serve", "--port", str(api_port), "--workers", str(workers)], env=env,
                                  stdout=log, stderr=log)
    api = f"http://127.0.0.1:{api_port}"
    try:
        served, deadline = 0, time.monotonic() + 180  # a busy machine starts slowly; a fast one goes on at once
        while served < 6 and time.monotonic() < deadline:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                served += httpx.get(f"{api}/healthz", timeout=30).status_code == 200
            except httpx.ConnectError:  # not listening yet: nothing was counted
                time.sleep(0.2)
        assert served == 6, "server did not start"
        assert httpx.get(f"{api}/metrics").status_code == 404
        scraped = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics")
        assert scraped.status_code == 200 and _healthz_count(scraped.text) == served, scraped.text[-2000:]
        with pytest.raises(httpx.ConnectError):  # bound to 127.0.0.1 only, not every interface
            httpx.get(f"http://127.0.0.2:{metrics_port}/metrics")
    finally:
        server.terminate()
        server.wait(timeout=30)
