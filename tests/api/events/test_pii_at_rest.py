"""Issue 9 item 6: consumed envelopes keep customer PII encrypted at rest; parked events are shown masked;
a parked event's retry still works on the decrypted data; handler errors never quote SQL parameters."""
from __future__ import annotations

import sqlite3
import uuid
from datetime import UTC, datetime

import orjson
import pytest
from sqlalchemy import insert, select

from sales.console.models import console_users
from sales.core.pii import cipher
from sales.core.tables import inbox_events
from sales.events import inbox, registry, repository
from tests.allocation_builders import city_with_rms, lead_payload
from tests.api.events.helpers import API, cloudevent

EVENTS = f"{API}/events"
PARKED = f"{API}/events/parked"
PHONE, EMAIL, NAME = "+91-9876543210", "rahul@example.com", "Rahul Sharma"
PLAINTEXT = ("9876543210", "rahul@")


def _lead_created(**overrides):  # type: ignore[no-untyped-def]
    data = lead_payload(**overrides)
    data["customer"].update(phone=PHONE, email=EMAIL, name=NAME)
    return cloudevent("leads.lead.created", data)


async def _inbox_rows(engine):  # type: ignore[no-untyped-def]
    async with engine.connect() as conn:
        return (await conn.execute(select(inbox_events).order_by(inbox_events.c.received_at))).all()


def _refuse_events_of(monkeypatch, type_: str) -> None:  # type: ignore[no-untyped-def]
    """Until monkeypatch.undo(), the handler of `type_` refuses every event (it is parked at once)."""
    registry.load_handlers()

    async def refuse(conn, event):  # type: ignore[no-untyped-def]
        raise registry.Unprocessable("the Leads domain sent a lead this service cannot place yet")

    monkeypatch.setitem(registry._HANDLERS, type_, [refuse])


async def test_consumed_envelopes_are_stored_encrypted(client, auth, engine):
    """issue 9 item 6: the inbox keeps no plaintext copy of the customer's name, phone or email."""
    await city_with_rms(client, auth.admin, count=1)
    processed, parked = _lead_created(), _lead_created(segment="SPACESHIP")
    r = await client.post(EVENTS, json=[processed, parked], headers=auth.headers("SERVICE"))
    assert [i["status"] for i in r.json()["items"]] == ["PROCESSED", "PARKED"], r.text
    rows = await _inbox_rows(engine)
    assert len(rows) == 2
    for row in rows:
        stored = " ".join(str(value) for value in row)
        assert not any(text in stored for text in (*PLAINTEXT, NAME)), stored
    assert {row.id: repository.envelope_of(row) for row in rows} == {processed["id"]: processed,
                                                                      parked["id"]: parked}


@pytest.mark.parametrize("role", ["SERVICE", "SALES_ADMIN"])
async def test_parked_events_are_listed_with_pii_masked(client, auth, role):
    """issue 9 item 6: GET /events/parked never shows a customer's phone or email, to SERVICE or admins."""
    event = _lead_created(segment="SPACESHIP")
    event["data"]["notes"] = f"call back on {PHONE} or write to {EMAIL}"
    r = await client.post(EVENTS, json=event, headers=auth.headers("SERVICE"))
    assert r.json()["items"][0]["status"] == "PARKED"
    listed = await client.get(PARKED, headers=auth.headers(role))
    assert listed.status_code == 200, listed.text
    [entry] = listed.json()["items"]
    assert entry["envelope"] == {**event, "data": {
        **event["data"], "customer": {**event["data"]["customer"], "phone": "+91-98XXXXXXXX",
                                      "email": "r***@example.com"},
        "notes": "call back on +91-98XXXXXXXX or write to r***@example.com"}}
    assert not any(text in listed.text for text in PLAINTEXT)


async def test_a_malformed_delivery_is_listed_masked(client, auth, engine):
    """issue 9 item 6: a delivery that is not even JSON is kept encrypted and shown with its contacts masked."""
    raw = f'{{"id": "x-1", "data": {{"phone": "{PHONE}", "email": "{EMAIL}"'.encode()
    async with engine.begin() as conn:
        await inbox.park_malformed(conn, raw, origin="nats:LEADS:7", now=datetime(2026, 1, 10, tzinfo=UTC))
    [row] = await _inbox_rows(engine)
    assert not any(text in " ".join(str(value) for value in row) for text in PLAINTEXT)
    [entry] = (await client.get(PARKED, headers=auth.headers("SERVICE"))).json()["items"]
    assert entry["envelope"] == {"raw": '{"id": "x-1", "data": {"phone": "+91-98XXXXXXXX", '
                                        '"email": "r***@example.com"'}


async def test_retry_of_a_parked_event_works_on_the_decrypted_data(client, auth, monkeypatch):
    """issue 9 item 6: encryption at rest does not change what a retried handler receives."""
    _refuse_events_of(monkeypatch, "leads.lead.created")
    event = _lead_created()
    r = await client.post(EVENTS, json=event, headers=auth.headers("SERVICE"))
    assert r.json()["items"][0]["status"] == "PARKED"
    monkeypatch.undo()
    await city_with_rms(client, auth.admin, count=1)

    r = await client.post(f"{PARKED}/{event['id']}/retry", headers=auth.headers("SERVICE"))
    assert r.status_code == 200 and r.json()["status"] == "PROCESSED", r.text
    [allocation] = (await client.get(f"{API}/allocations", headers=auth.admin)).json()["items"]
    assert allocation["lead_id"] == event["data"]["lead_id"]
    pipeline = (await client.get(f"{API}/pipelines/{allocation['pipeline_id']}", headers=auth.admin)).json()
    assert pipeline["customer"] == {"id": event["data"]["customer"]["id"], "name": NAME, "phone": PHONE,
                                    "email": EMAIL}


async def test_a_database_error_in_a_handler_is_recorded_without_parameter_values(client, auth, monkeypatch,
                                                                                  capsys):
    """issue 9 item 6: the error a failing handler leaves (response, inbox row, log) never quotes bound values;
    PostgreSQL's DETAIL would name the duplicate key, SQLAlchemy's message every parameter."""
    registry.load_handlers()

    async def write_twice(conn, event):  # type: ignore[no-untyped-def]
        for _ in range(2):
            await conn.execute(insert(console_users).values(
                id=uuid.uuid4(), email=EMAIL, name=PHONE, password_hash="-", role="RM", team_ids=[],
                created_at=event.now, updated_at=event.now))

    monkeypatch.setitem(registry._HANDLERS, "leads.lead.created", [write_twice])
    capsys.readouterr()
    r = await client.post(EVENTS, json=_lead_created(), headers=auth.headers("SERVICE"))
    [outcome] = r.json()["items"]
    assert outcome["status"] == "FAILED" and outcome["error"].startswith("IntegrityError"), outcome
    assert "[SQL: INSERT INTO console_users" in outcome["error"]
    logged = capsys.readouterr().out
    assert "event handler failed" in logged
    for text in (r.text, logged):
        assert not any(value in text for value in PLAINTEXT), text


def test_migration_seals_the_envelopes_already_stored_and_downgrade_restores_them(tmp_path):
    """issue 9 item 6: envelopes kept before the upgrade are encrypted too (SQLite; PostgreSQL runs the same
    statements when the suite migrates it)."""
    from alembic import command

    from sales.migrate import alembic_config

    path = tmp_path / "sales.db"
    config = alembic_config(f"sqlite+aiosqlite:///{path}")
    envelope = orjson.dumps(_lead_created(expected_deal_value=25000.50)).decode()
    command.upgrade(config, "0005")
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO inbox_events (id, type, source, envelope, status, attempts, received_at) "
                   "VALUES ('e-1', 'leads.lead.created', '/leads', ?, 'PARKED', 1, '2026-01-10 10:00:00')",
                   (envelope,))
    command.upgrade(config, "0011")
    with sqlite3.connect(path) as db:
        columns = [c[1] for c in db.execute("PRAGMA table_info(inbox_events)")]
        [row] = db.execute("SELECT * FROM inbox_events").fetchall()
    assert "envelope" not in columns and not any(text in str(row) for text in PLAINTEXT)
    sealed = row[columns.index("sealed_envelope")]
    assert cipher().decrypt(sealed) == envelope and "25000.5" in envelope
    command.downgrade(config, "0005")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT envelope FROM inbox_events").fetchall() == [(envelope,)]
