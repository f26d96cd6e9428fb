"""Real processes for the event backbone's end-to-end tests: `sales worker` subprocesses on PostgreSQL,
the shared NATS server (127.0.0.1:4222) and private nats-servers that a test may stop and start."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nats
import orjson
import pytest
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from sales import migrate

ROOT = Path(__file__).resolve().parents[2]
SALES_BIN = str(Path(sys.executable).with_name("sales"))
NATS_SERVER = "/usr/sbin/nats-server"
SHARED_NATS = "nats://127.0.0.1:4222"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
_BASE_PG = os.environ.get("SALES_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
# The e2e database sits beside the API tests' one (which they drop and recreate), never the same.
PG_URL = make_url(_BASE_PG).set(database=f"{make_url(_BASE_PG).database}_e2e").render_as_string(hide_password=False)
SECRET = "e2e-events-secret-for-jwt-signing-0123"


def _unavailable(message: str) -> None:
    if IN_CI:
        pytest.fail(message, pytrace=False)
    warnings.warn(f"SKIPPING EVENT E2E TESTS: {message}", stacklevel=1)
    pytest.skip(message)


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _reset_db() -> None:
    url = make_url(PG_URL)
    admin = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        exists = (await conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                     {"n": url.database})).scalar()
        if not exists:
            await conn.execute(text(f'CREATE DATABASE "{url.database}"'))
    await admin.dispose()
    engine = create_async_engine(PG_URL)
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


@pytest.fixture
def pg_url() -> str:
    """A freshly migrated PostgreSQL database for one test."""
    try:
        asyncio.run(_reset_db())
    except Exception as exc:  # noqa: BLE001
        _unavailable(f"PostgreSQL at {PG_URL} is unusable: {exc!r}")
    migrate.upgrade(PG_URL)
    return PG_URL


@pytest.fixture(scope="session")
def shared_nats() -> str:
    if not port_open(4222):
        _unavailable("NATS is not running on 127.0.0.1:4222 (.ci/run starts it)")
    return SHARED_NATS


class NatsServer:
    """A private nats-server with JetStream that a test may stop and start again (same store)."""

    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.store = tmp / f"nats-{self.port}"
        self.log = tmp / f"nats-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen([NATS_SERVER, "-a", "127.0.0.1", "-p", str(self.port), "-js",
                                      "-sd", str(self.store), "-l", str(self.log)])
        deadline = time.monotonic() + 10
        while not port_open(self.port):
            assert time.monotonic() < deadline, "private nats-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


@pytest.fixture
def private_nats(tmp_path: Path) -> Iterator[NatsServer]:
    if not Path(NATS_SERVER).exists():
        _unavailable(f"{NATS_SERVER} is not installed")
    server = NatsServer(tmp_path)
    server.start()
    yield server
    server.stop()


class Proc:
    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log
        self.handle = open(log, "ab")  # noqa: SIM115
        self.popen = subprocess.Popen(args, env=env, stdout=self.handle, stderr=subprocess.STDOUT, cwd=ROOT)

    def kill(self, sig: int = signal.SIGKILL) -> int | None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
        try:
            return self.popen.wait(40)
        except subprocess.TimeoutExpired:
            self.popen.kill()  # never leave a stuck process behind; the caller sees the non-zero code
            return self.popen.wait(10)
        finally:
            self.handle.close()

    def lines(self) -> list[dict[str, Any]]:
        out = []
        for line in self.log.read_bytes().splitlines():
            try:
                out.append(orjson.loads(line))
            except orjson.JSONDecodeError:
                pass
        return out


def base_env(database_url: str, nats_url: str | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALES_")}
    env.update({"SALES_ENV": "test", "SALES_DATABASE_URL": database_url, "SALES_JWT_SECRET": SECRET,
                "SALES_WORKER_METRICS_PORT": "0", "SALES_LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"})
    if nats_url:
        env["SALES_NATS_URL"] = nats_url
    env.update(extra)
    return env


def start_worker(tmp: Path, database_url: str, nats_url: str | None, *args: str, name: str = "worker",
                 **env: str) -> Proc:
    return Proc([SALES_BIN, "worker", *args], base_env(database_url, nats_url, **env), tmp / f"{name}.log")


def start_server(tmp: Path, database_url: str, nats_url: str | None, port: int, *, timeout: float = 30) -> Proc:
    proc = Proc([SALES_BIN, "serve", "--port", str(port)], base_env(database_url, nats_url), tmp / "serve.log")
    deadline = time.monotonic() + timeout
    while not port_open(port):
        assert proc.popen.poll() is None, proc.log.read_text()
        assert time.monotonic() < deadline, "sales serve did not start"
        time.sleep(0.1)
    return proc


# --- database side -----------------------------------------------------------------------------

async def write_events(url: str, *, aggregates: int, per_aggregate: int, writers: int = 1,
                       type_: str = "sales.pipeline.stage_changed") -> dict[str, list[str]]:
    """Record events through the real outbox API; concurrent writers commit out of `seq` order.
    Returns event ids per aggregate (subject) in the order they were committed."""
    from sales.core import outbox

    engine = create_async_engine(url, pool_size=writers + 1)
    subjects = [str(uuid.uuid4()) for _ in range(aggregates)]
    order: dict[str, list[str]] = {s: [] for s in subjects}

    async def writer(mine: list[str]) -> None:
        for i in range(per_aggregate):
            for subject in mine:
                async with engine.begin() as conn:
                    event_id = await outbox.record(conn, type_=type_, subject=subject, at=datetime.now(UTC), data={
                        "pipeline_id": subject, "lead_id": subject, "rm_id": subject, "old_stage": "NEW",
                        "new_stage": "CONTACTED", "changed_by": None, "reason": f"step {i}"})
                order[subject].append(str(event_id))

    await asyncio.gather(*(writer(subjects[w::writers]) for w in range(writers)))
    await engine.dispose()
    return order


async def outbox_counts(url: str) -> tuple[int, int]:
    from sales.core.tables import outbox_events as o

    engine = create_async_engine(url)
    async with engine.connect() as conn:
        row = (await conn.execute(select(func.count(), func.count(o.c.published_at)))).one()
    await engine.dispose()
    return int(row[0]), int(row[1])


async def wait_published(url: str, total: int, *, timeout: float) -> float:
    started = time.monotonic()
    while True:
        _, published = await outbox_counts(url)
        if published >= total:
            return time.monotonic() - started
        assert time.monotonic() - started < timeout, f"only {published}/{total} published after {timeout}s"
        await asyncio.sleep(0.1)


# --- NATS side ---------------------------------------------------------------------------------

async def stream_next_seq(nats_url: str, stream: str = "SALES") -> int:
    nc = await nats.connect(nats_url)
    try:
        info = await nc.jetstream().stream_info(stream)
        return info.state.last_seq + 1
    except nats.js.errors.NotFoundError:
        return 1
    finally:
        await nc.close()


async def read_stream(nats_url: str, *, start_seq: int, want: set[str], stream: str = "SALES",
                      timeout: float = 30) -> list[tuple[str, dict[str, Any]]]:
    """(Nats-Msg-Id, envelope) of every stored message from `start_seq` whose id is in `want`, in stream order."""
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    sub = await js.pull_subscribe("sales.>", durable=None, stream=stream, config=ConsumerConfig(
        deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start_seq, ack_policy=AckPolicy.NONE,
        inactive_threshold=30))
    out: list[tuple[str, dict[str, Any]]] = []
    seen: set[str] = set()
    deadline = time.monotonic() + timeout
    idle = 0
    while time.monotonic() < deadline and idle < 3:
        try:
            msgs = await sub.fetch(batch=1000, timeout=0.5)
        except (nats.errors.TimeoutError, TimeoutError):
            if seen >= want:
                idle += 1
            continue
        for msg in msgs:
            msg_id = (msg.headers or {}).get("Nats-Msg-Id")
            if msg_id in want:
                out.append((msg_id, orjson.loads(msg.data)))
                seen.add(msg_id)
    await nc.close()
    return out


def assert_delivered_once_in_order(order: dict[str, list[str]], stored: list[tuple[str, dict[str, Any]]]) -> None:
    ids = [i for i, _ in stored]
    assert len(ids) == len(set(ids)), f"{len(ids) - len(set(ids))} duplicate message(s) stored"
    expected = {i for ids_ in order.values() for i in ids_}
    assert set(ids) == expected, f"missing {len(expected - set(ids))} event(s)"
    per_subject: dict[str, list[str]] = {}
    for msg_id, envelope in stored:
        assert envelope["id"] == msg_id and envelope["specversion"] == "1.0"
        per_subject.setdefault(envelope["subject"], []).append(msg_id)
    for subject, ids_ in order.items():
        assert per_subject[subject] == ids_, f"aggregate {subject} delivered out of order"
