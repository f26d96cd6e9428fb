"""What the browser and API benchmarks share: the real app under uvicorn on a database, headless Chromium, and a
console sign-in. Used by console_render.py, dashboard_render.py and visit_planner.py (run as scripts from bench/)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def app_server(database_url: str, *, env: dict[str, str] | None = None, uvicorn_args: tuple[str, ...] = ()
               ) -> Iterator[str]:
    """The app (this tree's src) under uvicorn on `database_url`, answering /healthz; yields its base URL and stops
    it on exit."""
    port = free_port()
    server_env = {**os.environ, "SALES_DATABASE_URL": database_url, "SALES_ENV": "test",
                  "SALES_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT / "src"), **(env or {})}
    server = subprocess.Popen([sys.executable, "-m", "uvicorn", "sales.asgi:app", "--host", "127.0.0.1", "--port",
                               str(port), "--log-level", "warning", *uvicorn_args], env=server_env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)


@contextmanager
def chromium(executable: str) -> Iterator[Any]:
    """A headless Chromium (Playwright), closed on exit."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def sign_in(browser: Any, base: str, email: str, password: str, *, timeout_ms: int | None = None
            ) -> tuple[Any, Any]:
    """(context, page) of a console user signed in through the login form."""
    ctx = browser.new_context(viewport={"width": 1440, "height": 900})
    page = ctx.new_page()
    if timeout_ms is not None:
        page.set_default_timeout(timeout_ms)
    page.goto(f"{base}/console/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("load")
    return ctx, page
