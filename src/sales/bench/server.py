"""Run the service under test as in production: `sales serve` (and `sales worker`) as child processes."""
from __future__ import annotations

import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Iterator

import httpx

from sales.core.auth import issue_token
from sales.settings import Settings

BENCH_JWT_SECRET = "bench-only-jwt-secret-0123456789abcdef-not-for-production"


def bench_token(sub: uuid.UUID | str, roles: list[str], *, team_ids: list | None = None,
                hours: int = 6) -> str:
    """A token the benchmark service (SALES_JWT_SECRET=BENCH_JWT_SECRET) accepts."""
    settings = Settings(env="test", jwt_secret=BENCH_JWT_SECRET, database_url="sqlite+aiosqlite://")
    return issue_token(settings, sub=uuid.UUID(str(sub)), roles=roles,
                       team_ids=[uuid.UUID(str(t)) for t in team_ids or []], ttl=timedelta(hours=hours))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def sales_executable() -> str:
    """The `sales` script beside this interpreter (the virtualenv's), else the one on PATH."""
    candidate = Path(sys.executable).with_name("sales")
    return str(candidate) if candidate.exists() else (shutil.which("sales") or "sales")


def service_env(settings: Settings, database_url: str) -> dict[str, str]:
    """Production settings with the PII key the data was seeded with (the dev key unless SALES_PII_KEY is set)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALES_")}
    env.update(SALES_ENV="production", SALES_DATABASE_URL=database_url, SALES_JWT_SECRET=BENCH_JWT_SECRET,
               SALES_PII_KEY=base64.b64encode(settings.pii_key_bytes).decode(), SALES_LOG_LEVEL="WARNING",
               # the worker's own /metrics port (9465) may be taken by another worker on this machine
               SALES_WORKER_METRICS_PORT="0",
               # the load comes from one address on purpose; the limiter's own cost is measured on its own
               # (docs/performance.md, rate limits)
               SALES_RATE_LIMITS_ENABLED="false")
    return env


def has_worker_command() -> bool:
    from sales.cli import main

    return "worker" in main.commands  # type: ignore[attr-defined]


@contextmanager
def running_service(settings: Settings, database_url: str, *, workers: int = 2, with_worker: bool = True,
                    port: int | None = None, log_path: Path | None = None) -> Iterator[dict]:
    """Start `sales serve --workers N` (+ `sales worker` when it exists); yield {"url", "pids"}; stop them."""
    port = port or free_port()
    env = service_env(settings, database_url)
    log = open(log_path, "ab") if log_path else subprocess.DEVNULL
    procs: list[subprocess.Popen] = []
    try:
        procs.append(subprocess.Popen([sales_executable(), "serve", "--host", "127.0.0.1", "--port", str(port),
                                       "--workers", str(workers)], env=env, stdout=log, stderr=log,
                                      start_new_session=True))
        if with_worker and has_worker_command():
            procs.append(subprocess.Popen([sales_executable(), "worker"], env=env, stdout=log, stderr=log,
                                          start_new_session=True))
        url = f"http://127.0.0.1:{port}"
        _wait_ready(url, procs[0])
        yield {"url": url, "pids": [p.pid for p in procs], "worker": len(procs) > 1}
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if log_path:
            log.close()  # type: ignore[union-attr]


def _wait_ready(url: str, proc: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"`sales serve` exited with {proc.returncode} before it was ready")
        try:
            if httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"`sales serve` was not ready within {timeout:.0f} s")


def process_tree_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) used so far by these processes and their children (Linux /proc)."""
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    seen: set[int] = set()
    stack = list(pids)
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        stack.extend(int(c) for c in children)
    return total
