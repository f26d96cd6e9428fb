"""`sales keys rotate` (issue 20, PRD §8.4 AES-256 at rest): each sealed value carries its key id; old values
still open after a new key becomes active; the rotation re-encrypts in batches, reports counts per table and is
idempotent."""
from __future__ import annotations

import asyncio
import base64
import os

import pytest
from click.testing import CliRunner
from sqlalchemy import column, select, table

from sales import cli
from sales.core.pii import use_cipher
from sales.core.sealed import sealed_columns
from sales.models import metadata
from sales.settings import get_settings
from tests.api.privacy.world import EMAIL, NAME, PHONE, customer_world
from tests.builders import API
from tests.checks import audit_rows

NEW_KEY = base64.b64encode(os.urandom(32)).decode()


async def _stored(engine) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    """Every sealed column's stored text (as on disk), by "table.column"."""
    found = {}
    async with engine.connect() as conn:
        for sealed in sealed_columns(metadata):
            raw = table(sealed.table.name, column(sealed.name))
            values = (await conn.execute(select(raw.c[sealed.name]).where(raw.c[sealed.name].is_not(None)))).scalars()
            found[f"{sealed.table.name}.{sealed.name}"] = list(values)
    return found


@pytest.fixture
def ring(settings, monkeypatch):  # type: ignore[no-untyped-def]
    """The service configured with a second key, k2, active (the development key stays as "default")."""
    monkeypatch.setenv("SALES_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SALES_ENV", "test")

    def switch() -> None:
        monkeypatch.setenv("SALES_PII_KEYS", f"k2:{NEW_KEY}")
        monkeypatch.setenv("SALES_PII_ACTIVE_KEY", "k2")
        get_settings.cache_clear()
        use_cipher(None)

    yield switch
    monkeypatch.delenv("SALES_PII_KEYS", raising=False)
    monkeypatch.delenv("SALES_PII_ACTIVE_KEY", raising=False)
    get_settings.cache_clear()
    use_cipher(None)


async def _rotate(*args: str):  # type: ignore[no-untyped-def]
    return await asyncio.to_thread(CliRunner().invoke, cli.main, ["keys", "rotate", *args])


async def test_values_carry_their_key_id_and_no_plaintext(client, auth, engine):
    await customer_world(client, auth)
    stored = await _stored(engine)
    for name in ("refunds.reason", "refund_events.note", "sales_pipelines.notes", "journey_requirements.data",
                 "journey_feedback.comment", "sales_tasks.notes", "sales_handoffs.reason", "sales_handoffs.context",
                 "journey_shortlists.title", "leads.customer_name", "leads.customer_phone", "leads.customer_email"):
        assert stored[name], name
        for value in stored[name]:
            assert value.startswith("default:"), (name, value)
            assert NAME not in value and PHONE not in value and EMAIL not in value


async def test_rotation_reencrypts_everything_under_the_active_key_and_is_idempotent(client, auth, engine, ring):
    world = await customer_world(client, auth)
    before = await _stored(engine)
    ring()  # a new active key: values sealed under "default" still open
    refund = (await client.get(f"{API}/refunds/{world['refund_id']}", headers=auth.admin)).json()
    assert refund["reason"] == f"{NAME}: nobody called {PHONE} or wrote to {EMAIL}"
    r = await client.put(f"{API}/pipelines/{world['pipeline_id']}", headers=world["rm"], json={"notes": "new note"})
    assert r.status_code == 200, r.text  # a write while rotating: sealed under k2 at once

    result = await _rotate("--batch", "2")  # several batches per table
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert "refunds: 1 rotated, 0 changed meanwhile (left as written)" in lines
    assert "sales_pipelines: 0 rotated, 0 changed meanwhile (left as written)" in lines  # the write above was k2
    total = sum(len(v) for v in before.values())
    assert lines[-1] == f"rotated {total - 1} values to key 'k2'"
    after = await _stored(engine)
    assert {k: len(v) for k, v in after.items()} == {k: len(v) for k, v in before.items()}
    assert all(value.startswith("k2:") for values in after.values() for value in values)

    refund = (await client.get(f"{API}/refunds/{world['refund_id']}", headers=auth.admin)).json()
    assert refund["reason"] == f"{NAME}: nobody called {PHONE} or wrote to {EMAIL}"
    pipeline = (await client.get(f"{API}/pipelines/{world['pipeline_id']}", headers=auth.admin)).json()
    assert (pipeline["notes"], pipeline["customer"]["phone"]) == ("new note", PHONE)
    [audited] = await audit_rows(engine, action="pii.keys_rotated")
    assert audited.after["active_key"] == "k2" and audited.after["tables"]["refunds"] == {"rotated": 1, "changed": 0}

    again = await _rotate()
    assert again.exit_code == 0 and again.output.splitlines()[-1] == "rotated 0 values to key 'k2'", again.output
    assert await _stored(engine) == after


async def test_a_value_under_a_key_no_longer_configured_stops_the_rotation_and_says_where(client, auth, engine,
                                                                                          ring, monkeypatch):
    world = await customer_world(client, auth)
    ring()
    r = await client.put(f"{API}/pipelines/{world['pipeline_id']}", headers=world["rm"], json={"notes": "under k2"})
    assert r.status_code == 200, r.text
    monkeypatch.delenv("SALES_PII_KEYS")  # k2 dropped from the ring while a value still uses it
    monkeypatch.delenv("SALES_PII_ACTIVE_KEY")
    get_settings.cache_clear()
    result = await _rotate()
    assert result.exit_code == 1
    assert result.output.strip().startswith("cannot rotate: sales_pipelines.notes")
    assert "key id 'k2', which the key ring does not hold" in result.output


async def test_a_value_that_does_not_open_with_its_key_is_reported(client, auth, engine, ring, monkeypatch):
    await customer_world(client, auth)
    ring()
    monkeypatch.setenv("SALES_PII_KEY", base64.b64encode(os.urandom(32)).decode())  # "default" is another key now
    get_settings.cache_clear()
    result = await _rotate()
    assert result.exit_code == 1 and "does not open with key 'default'" in result.output, result.output
