"""Browser tests: the real app under uvicorn (a subprocess) on SQLite and PostgreSQL, driven by Debian's
Chromium through Playwright. Chromium must be at /usr/bin/chromium (`make test` installs it); under CI a
missing browser is a failure, elsewhere the tests are skipped loudly."""
from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from sales import migrate
from sales.core.auth import issue_token
from sales.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).parent / "artifacts"
CHROMIUM = os.environ.get("SALES_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PG_URL = os.environ.get("SALES_TEST_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SECRET = "e2e-secret-for-jwt-signing-0123456789"
API = "/api/v1/sales"
FROZEN_AT = "2026-03-02T09:00:00Z"  # a Monday morning, business time


def _off_loop(fn: Any, *args: Any) -> Any:
    """Playwright's sync API keeps an event loop running on this thread: run asyncio code on another one."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()


def _unavailable(message: str) -> None:
    if IN_CI:
        pytest.fail(message, pytrace=False)
    warnings.warn(f"SKIPPING BROWSER TESTS: {message}", stacklevel=1)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _prepare_pg(url: str) -> str | None:
    """A database of its own (`<name>_e2e`) so the API suite's schema resets never race the live server."""
    base, _, name = url.rpartition("/")
    e2e_name = f"{name}_e2e"
    admin = create_async_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            exists = (await conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": e2e_name})).scalar()
            if not exists:
                await conn.execute(text(f'CREATE DATABASE "{e2e_name}"'))
    except Exception as exc:  # noqa: BLE001
        return f"{type(exc).__name__}: {exc}"
    finally:
        await admin.dispose()
    engine = create_async_engine(f"{base}/{e2e_name}")
    async with engine.begin() as conn:
        await conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        await conn.execute(text("CREATE SCHEMA public"))
    await engine.dispose()
    return None


@dataclass
class LiveApp:
    """A running server and what the tests seeded into it."""

    backend: str
    base_url: str
    database_url: str
    env: dict[str, str]
    data: dict[str, Any] = field(default_factory=dict)

    def token(self, *roles: str, sub: uuid.UUID | str | None = None, teams: list[str] | None = None) -> str:
        settings = Settings(env="test", database_url=self.database_url, jwt_secret=SECRET)
        return issue_token(settings, sub=uuid.UUID(str(sub)) if sub else uuid.uuid4(), roles=list(roles),
                           team_ids=[uuid.UUID(t) for t in teams or []])

    def api(self, method: str, path: str, *, token: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.token('SALES_ADMIN')}"}
        return httpx.request(method, f"{self.base_url}{API}{path}", headers=headers, timeout=30, **kwargs)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.api(method, path, **kwargs)
        assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text}"
        return response.json()

    def advance_clock(self, seconds: int) -> None:
        self.ok("PUT", "/admin/clock", json={"advance_seconds": seconds})

    def create_user(self, *, email: str, password: str, role: str, rm_id: str | None = None,
                    teams: list[str] | None = None) -> None:
        args = [sys.executable, "-m", "sales.cli", "users", "create", "--email", email, "--password", password,
                "--role", role]
        if rm_id:
            args += ["--rm-id", rm_id]
        for team in teams or []:
            args += ["--team", team]
        done = subprocess.run(args, env=self.env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        _unavailable(f"Chromium not found at {CHROMIUM} (install it with `apt-get install -y chromium`; "
                     "`make test` does this)")
    return CHROMIUM


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Any]:
    # Module scope: Playwright's sync API keeps an event loop running in this thread while it is open, and
    # every asyncio.run()/async fixture of the tests collected after the browser tests would fail on it.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    backend = request.param
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('e2e') / 'sales.db'}"
    else:
        problem = _off_loop(asyncio.run, _prepare_pg(PG_URL))
        if problem:
            message = f"PostgreSQL at {PG_URL} is unreachable ({problem})"
            if IN_CI:
                pytest.fail(message, pytrace=False)
            pytest.skip(f"SKIPPING POSTGRESQL BROWSER TESTS: {message}")
        base, _, name = PG_URL.rpartition("/")
        url = f"{base}/{name}_e2e"
    _off_loop(migrate.upgrade, url)
    port = _free_port()
    env = {**os.environ, "SALES_DATABASE_URL": url, "SALES_ENV": "test", "SALES_JWT_SECRET": SECRET,
           "SALES_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT / "src")}
    log = (tmp_path_factory.mktemp("logs") / f"server-{backend}.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "sales.asgi:app", "--host", "127.0.0.1",
                               "--port", str(port), "--log-level", "warning"], env=env, stdout=log, stderr=log)
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180  # a busy machine starts slowly; a fast one goes on at once
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"server exited with {server.returncode}; see {log.name}")
            try:
                if httpx.get(f"{base_url}/healthz", timeout=10).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.2)
        app = LiveApp(backend=backend, base_url=base_url, database_url=url, env=env)
        app.ok("PUT", "/admin/clock", json={"now": FROZEN_AT})
        yield app
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    ctx.set_default_timeout(15000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


def shot(page: Any, name: str, backend: str, *, full_page: bool = True) -> None:
    """Screenshots of the main pages, kept as CI artifacts (tests/e2e/artifacts/ is git-ignored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}-{backend}.png"), full_page=full_page)


def sign_in(page: Any, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/console/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


async def _create_users(url: str, users: list[dict[str, Any]]) -> None:
    from sales.console import service
    from sales.core.clock import business_now
    from sales.core.db import create_engine, unit_of_work

    engine = create_engine(Settings(env="test", database_url=url, jwt_secret=SECRET))
    try:
        async with unit_of_work(engine) as conn:
            now = await business_now(conn, frozen_allowed=True)
            for user in users:
                await service.create_user(conn, None, now=now, name=user.get("name"), email=user["email"],
                                          password=user["password"], role=user["role"],
                                          rm_id=uuid.UUID(user["rm_id"]) if user.get("rm_id") else None,
                                          team_ids=[uuid.UUID(t) for t in user.get("teams", [])])
    finally:
        await engine.dispose()


PASSWORD = "correct-horse-battery"
CUSTOMERS = ["Aarav Mehta", "Diya Kapoor", "Kabir Singh", "Saanvi Rao"]


@pytest.fixture
def world(live: LiveApp) -> dict[str, Any]:
    """A fresh team with two RMs, live leads and pipelines for the first, and console users; unique per test."""
    tag = uuid.uuid4().hex[:6]
    city = f"Pune{tag}"
    team = live.ok("POST", "/teams", json={"name": f"Pune West {tag}", "city": city})
    rms = []
    for name in ("Priya Patel", "Rohan Iyer"):
        rm_id = str(uuid.uuid4())
        rms.append(live.ok("POST", "/rms", json={
            "id": rm_id, "name": name, "email": f"{name.split()[0].lower()}.{tag}@mysqrft.com", "team_id": team["id"],
            "city": city, "zone": "West", "localities": ["Baner", "Aundh"], "capacity": 25, "base_salary": "40000.00"}))
    rm, other = rms
    allocations = []
    for i, customer in enumerate(CUSTOMERS[:3]):
        body = {"lead_id": str(uuid.uuid4()), "customer": {"name": f"{customer} {tag}", "phone": "+91-9876543210",
                                                             "email": f"c{i}.{tag}@example.com"},
                "city": city, "zone": "West", "locality": "Baner", "property_type": "RESIDENTIAL",
                "segment": "BUYER", "source": "WEBSITE", "expected_deal_value": str(2500000 + i * 1500000),
                "rm_id": rm["id"], "reason": "e2e seed"}
        allocations.append(live.ok("POST", "/allocations", json=body))
    pipeline = live.ok("POST", "/pipelines", json={"lead_id": str(uuid.uuid4()), "rm_id": rm["id"], "source": "REFERRAL",
                                                   "deal_value": "4200000.00", "expected_close_date": "2026-04-15",
                                                   "notes": "Wants a 3BHK near Baner"})
    supervisor_id = str(uuid.uuid4())
    users = {
        "rm": {"email": f"rm.{tag}@mysqrft.com", "password": PASSWORD, "role": "RM", "rm_id": rm["id"]},
        "supervisor": {"email": f"sup.{tag}@mysqrft.com", "password": PASSWORD, "role": "SUPERVISOR",
                       "teams": [team["id"]], "name": "Sunita Kulkarni"},
        "admin": {"email": f"admin.{tag}@mysqrft.com", "password": PASSWORD, "role": "SALES_ADMIN",
                  "name": "Asha Admin"},
    }
    _off_loop(asyncio.run, _create_users(live.database_url, list(users.values())))
    return {"tag": tag, "team": team, "rm": rm, "other": other, "allocations": allocations, "pipeline": pipeline,
            "users": users, "supervisor_id": supervisor_id}


@pytest.fixture(autouse=True)
def _clean() -> None:
    """Overrides the API suite's async table cleaner: each browser test seeds its own uniquely named data,
    and async fixtures cannot run while Playwright's sync API holds this thread's event loop."""
