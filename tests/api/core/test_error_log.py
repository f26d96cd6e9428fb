"""Issue 9 item 6: an unhandled database error is logged without the bound SQL parameter values.

SQLAlchemy's message lists every parameter, PostgreSQL's DETAIL names the duplicate key and asyncpg quotes
the value it could not encode: none of them may reach a log line.
"""
from __future__ import annotations

import json
import logging
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from sqlalchemy import exc as sa_exc, insert

from sales.console.models import console_users
from sales.directory import service as directory_service
from tests.builders import API
from tests.checks import assert_problem

PHONE, EMAIL = "+91-9876543210", "rahul@example.com"
PLAINTEXT = ("9876543210", "rahul@")
AT = datetime(2026, 1, 10, 10, tzinfo=UTC)


@pytest.fixture
def failing_rm_list(monkeypatch):  # type: ignore[no-untyped-def]
    """GET /rms now writes a customer's email twice into a unique column (and their phone as a name)."""

    async def list_rms(conn, principal, **_):  # type: ignore[no-untyped-def]
        for _ in range(2):
            await conn.execute(insert(console_users).values(
                id=uuid.uuid4(), email=EMAIL, name=PHONE, password_hash="-", role="RM", team_ids=[],
                created_at=AT, updated_at=AT))

    monkeypatch.setattr(directory_service, "list_rms", list_rms)


async def test_unhandled_database_error_is_logged_without_parameter_values(client, auth, failing_rm_list,
                                                                          capsys):
    """issue 9 item 6"""
    capsys.readouterr()
    response = await client.get(f"{API}/rms", headers=auth.admin)
    assert_problem(response, 500, "internal_error")
    logged = capsys.readouterr().out
    for text in (logged, response.text):
        assert not any(value in text for value in PLAINTEXT), text
    [entry] = [json.loads(line) for line in logged.splitlines() if '"unhandled error"' in line]
    assert entry["error"].startswith("IntegrityError (") and "[SQL: INSERT INTO console_users" in entry["error"]
    assert "Traceback (most recent call last)" in entry["exception"]


async def test_the_servers_error_log_of_the_same_failure_has_no_parameter_values(app, auth, failing_rm_list,
                                                                                caplog):
    """issue 9 item 6: Starlette re-raises what the 500 handler answered and uvicorn logs it with its
    traceback on `uvicorn.error`."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=True)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        with pytest.raises(sa_exc.IntegrityError) as raised:
            await client.get(f"{API}/rms", headers=auth.admin)
    with caplog.at_level(logging.ERROR):
        logging.getLogger("uvicorn.error").error("Exception in ASGI application\n", exc_info=raised.value)
    assert not any(value in caplog.text for value in PLAINTEXT), caplog.text
    assert "IntegrityError (" in caplog.text and "[SQL: INSERT INTO console_users" in caplog.text
