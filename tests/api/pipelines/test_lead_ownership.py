"""POST /pipelines on an existing lead: who may open one (issue 9 item 3), one open pipeline per lead in the
schema (and migration 0013), and the RM reference that reads the same in or out of scope (issue 9 item 10)."""
from __future__ import annotations

import asyncio
import importlib.util
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext

from sales.pipelines.models import sales_pipelines
from tests.allocation_builders import city_with_rms
from tests.api.allocation.helpers import allocated, start
from tests.api.events.helpers import cloudevent
from tests.builders import API, make_lead, make_rm_with_team, move
from tests.checks import assert_problem, row_counts

PHONE, EMAIL = "9876543210", "rahul@example.com"


def _body(lead_id: str, rm_id: str, **overrides):  # type: ignore[no-untyped-def]
    return {"lead_id": lead_id, "rm_id": rm_id, "source": "INBOUND_CALL", **overrides}


async def _allocated_lead(client, auth):  # type: ignore[no-untyped-def]
    """Team A (Bangalore) has two RMs, one of them (the holder) allocated a lead; team B has RM b."""
    await start(client, auth.admin)
    team_a, rms_a = await city_with_rms(client, auth.admin, count=2)
    allocation = await allocated(client, auth.headers("SERVICE"))
    team_b, rm_b = await make_rm_with_team(client, auth.admin)
    holder = next(rm for rm in rms_a if rm["id"] == allocation["rm_id"])
    teammate = next(rm for rm in rms_a if rm["id"] != allocation["rm_id"])
    return team_a, holder, teammate, team_b, rm_b, allocation


async def test_others_get_404_for_a_lead_they_do_not_hold_and_nothing_is_written(client, auth, engine):
    """issue 9 item 3: an RM or another team's supervisor may not open a pipeline on someone else's lead; the
    lead reads as missing, its customer is not returned, and no second open pipeline appears."""
    team_a, holder, teammate, team_b, rm_b, allocation = await _allocated_lead(client, auth)
    before = await row_counts(engine)
    attempts = [
        (auth.rm(uuid.UUID(rm_b["id"])), rm_b["id"]),                      # an RM of another team
        (auth.rm(uuid.UUID(teammate["id"])), teammate["id"]),              # a teammate of the holder
        (auth.supervisor(uuid.UUID(team_b["id"])), rm_b["id"]),            # another team's supervisor
    ]
    for headers, rm_id in attempts:
        response = await client.post(f"{API}/pipelines", json=_body(allocation["lead_id"], rm_id), headers=headers)
        body = assert_problem(response, 404, "lead_not_found")
        assert "pipeline_id" not in body and PHONE not in response.text and EMAIL not in response.text
    assert await row_counts(engine) == before


@pytest.mark.parametrize("who", ["holder", "supervisor", "admin", "service"])
async def test_a_second_open_pipeline_is_409_naming_the_open_one(client, auth, engine, who):
    """issue 9 item 3: a lead has one open pipeline at a time, whoever asks."""
    team_a, holder, teammate, *_, allocation = await _allocated_lead(client, auth)
    headers, rm_id = {"holder": (auth.rm(uuid.UUID(holder["id"])), holder["id"]),
                      "supervisor": (auth.supervisor(uuid.UUID(team_a["id"])), teammate["id"]),
                      "admin": (auth.admin, teammate["id"]),
                      "service": (auth.headers("SERVICE"), teammate["id"])}[who]
    before = await row_counts(engine)
    response = await client.post(f"{API}/pipelines", json=_body(allocation["lead_id"], rm_id), headers=headers)
    body = assert_problem(response, 409, "lead_has_open_pipeline")
    assert body["pipeline_id"] == allocation["pipeline_id"]
    assert await row_counts(engine) == before


async def test_the_holder_opens_the_next_pipeline_once_the_first_is_closed(client, auth, engine):
    """issue 9 item 3: several pipelines per lead (it can rent, then buy), but only one open at a time."""
    team_a, holder, teammate, team_b, rm_b, allocation = await _allocated_lead(client, auth)
    mine = auth.rm(uuid.UUID(holder["id"]))
    assert (await move(client, mine, allocation["pipeline_id"], "CLOSED_WON", deal_value="25000.00")).status_code == 200
    stranger = await client.post(f"{API}/pipelines", json=_body(allocation["lead_id"], rm_b["id"]),
                                 headers=auth.rm(uuid.UUID(rm_b["id"])))
    assert_problem(stranger, 404, "lead_not_found")
    buy = await client.post(f"{API}/pipelines", json=_body(allocation["lead_id"], holder["id"], source="REFERRAL"),
                            headers=mine)
    assert buy.status_code == 201, buy.text
    assert buy.json()["customer"]["phone"] == "+91-" + PHONE  # the holder is entitled to the customer
    again = await client.post(f"{API}/pipelines", json=_body(allocation["lead_id"], holder["id"]),
                              headers=auth.supervisor(uuid.UUID(team_a["id"])))
    assert_problem(again, 409, "lead_has_open_pipeline")
    assert again.json()["pipeline_id"] == buy.json()["id"]


async def test_a_known_lead_nobody_holds_is_opened_only_by_any_lead_roles(client, auth, engine):
    """issue 9 item 3: a stored lead without a pipeline has no holder: RMs and supervisors get 404; SALES_ADMIN
    and SERVICE may open one, and SERVICE sees the customer masked in the 201."""
    team, rm = await make_rm_with_team(client, auth.admin)
    lead = await make_lead(engine)
    before = await row_counts(engine)
    for headers in (auth.rm(uuid.UUID(rm["id"])), auth.supervisor(uuid.UUID(team["id"]))):
        response = await client.post(f"{API}/pipelines", json=_body(str(lead["id"]), rm["id"]), headers=headers)
        assert_problem(response, 404, "lead_not_found")
        assert PHONE not in response.text
    assert await row_counts(engine) == before
    opened = await client.post(f"{API}/pipelines", json=_body(str(lead["id"]), rm["id"]),
                               headers=auth.headers("SERVICE"))
    assert opened.status_code == 201, opened.text
    assert opened.json()["customer"]["phone"] == "+91-98XXXXXXXX" and PHONE not in opened.text
    assert opened.json()["customer"]["email"] == "r***@example.com"


async def test_a_lead_nobody_knows_yet_is_anyones_to_open(client, auth):
    """A walk-in: an RM opens the first pipeline of a lead id nobody has seen; the second is 409."""
    _, rm = await make_rm_with_team(client, auth.admin)
    lead_id = str(uuid.uuid4())
    first = await client.post(f"{API}/pipelines", json=_body(lead_id, rm["id"]), headers=auth.rm(uuid.UUID(rm["id"])))
    assert first.status_code == 201, first.text
    second = await client.post(f"{API}/pipelines", json=_body(lead_id, rm["id"]), headers=auth.rm(uuid.UUID(rm["id"])))
    assert_problem(second, 409, "lead_has_open_pipeline")
    assert second.json()["pipeline_id"] == first.json()["id"]


async def test_concurrent_creates_for_one_lead_open_one_pipeline(client, auth, engine):
    """issue 9 item 3: the unique index decides races: one 201, every other request 409, one open pipeline."""
    _, rm = await make_rm_with_team(client, auth.admin)
    lead_id = str(uuid.uuid4())
    responses = await asyncio.gather(*[
        client.post(f"{API}/pipelines", json=_body(lead_id, rm["id"]), headers=auth.admin) for _ in range(8)])
    assert sorted(r.status_code for r in responses) == [201] + [409] * 7, [r.text for r in responses]
    for response in responses:
        if response.status_code == 409:
            assert response.json()["code"] == "lead_has_open_pipeline"
    async with engine.connect() as conn:
        count = (await conn.execute(sa.select(sa.func.count()).select_from(sales_pipelines).where(
            sales_pipelines.c.lead_id == uuid.UUID(lead_id)))).scalar_one()
    assert count == 1


async def test_the_schema_refuses_a_second_open_pipeline(client, auth, engine):
    """issue 9 item 3: enforced by the database (uq_sales_pipelines_open_lead), not only by the service."""
    _, rm = await make_rm_with_team(client, auth.admin)
    lead_id = uuid.uuid4()
    async with engine.begin() as conn:
        await conn.execute(sa.insert(sales_pipelines), [_row(lead_id, rm["id"], outcome="WON", stage="CLOSED_WON"),
                                                        _row(lead_id, rm["id"])])
    with pytest.raises(sa.exc.IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(sa.insert(sales_pipelines).values(**_row(lead_id, rm["id"])))


async def test_lead_events_move_the_one_open_pipeline(client, auth, engine):
    """issue 9 item 3: leads.lead.qualified acts on the lead's open pipeline, not on a closed older one."""
    team_a, holder, *_, allocation = await _allocated_lead(client, auth)
    mine = auth.rm(uuid.UUID(holder["id"]))
    await move(client, mine, allocation["pipeline_id"], "CLOSED_LOST", loss_reason="chose to wait")
    buy = await client.post(f"{API}/pipelines", json=_body(allocation["lead_id"], holder["id"]), headers=mine)
    assert buy.status_code == 201, buy.text
    event = cloudevent("leads.lead.qualified", {"lead_id": allocation["lead_id"]})
    response = await client.post(f"{API}/events", json=event, headers=auth.headers("SERVICE"))
    assert response.json()["items"][0]["status"] == "PROCESSED", response.text
    stages = {p["id"]: p["stage"] for p in (await client.get(
        f"{API}/pipelines", headers=auth.admin)).json()["items"]}
    assert stages == {allocation["pipeline_id"]: "CLOSED_LOST", buy.json()["id"]: "REQUIREMENTS_CAPTURED"}


# --- issue 9 item 10: an RM id in the body reads the same whether unknown or out of scope ------------------


async def test_unknown_and_out_of_scope_rm_answer_the_same(client, auth, engine):
    """issue 9 item 10: no existence oracle: both are 422 naming rm_id, with the same wording."""
    team, rm = await make_rm_with_team(client, auth.admin)
    _, other = await make_rm_with_team(client, auth.admin)
    supervisor = auth.supervisor(uuid.UUID(team["id"]))
    before = await row_counts(engine)
    answers = []
    for rm_id in (other["id"], str(uuid.uuid4())):
        response = await client.post(f"{API}/pipelines", json=_body(str(uuid.uuid4()), rm_id), headers=supervisor)
        body = assert_problem(response, 422, "validation_error", loc=["body", "rm_id"])
        answers.append((body["detail"].replace(rm_id, "<id>"), body["errors"][0]["msg"].replace(rm_id, "<id>")))
    assert answers[0] == answers[1]
    assert await row_counts(engine) == before


# --- migration 0013 -----------------------------------------------------------------------------------------

_MIGRATION = Path(__file__).parents[3] / "src/sales/migrations/versions/0013_one_open_pipeline_per_lead.py"


def _migration():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("migration_0013", _MIGRATION)
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _row(lead_id: uuid.UUID, rm_id: str, **overrides):  # type: ignore[no-untyped-def]
    at = datetime(2026, 1, 17, 10, 0, tzinfo=UTC)
    return {"id": uuid.uuid4(), "lead_id": lead_id, "rm_id": uuid.UUID(rm_id), "stage": "NEW", "source": "OTHER",
            "outcome": "PENDING", "sla_deadline": at, "stage_changed_at": at, "created_at": at, "updated_at": at,
            **overrides}


async def _run(engine, step):  # type: ignore[no-untyped-def]
    def run(sync_conn):  # type: ignore[no-untyped-def]
        with Operations.context(MigrationContext.configure(sync_conn)):
            step(_migration())
    async with engine.begin() as conn:
        await conn.run_sync(run)


async def test_migration_0013_refuses_duplicate_open_pipelines_then_applies(client, auth, engine):
    """issue 9 item 3: existing duplicates are refused with a message naming them (nothing is closed behind
    anyone's back); once they are closed, the index is created."""
    _, rm = await make_rm_with_team(client, auth.admin)
    lead_id = uuid.uuid4()
    first, second = _row(lead_id, rm["id"]), _row(lead_id, rm["id"])
    close_second = sa.update(sales_pipelines).where(sales_pipelines.c.id == second["id"]).values(
        stage="CLOSED_LOST", outcome="LOST")
    await _run(engine, lambda m: m.downgrade())
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.insert(sales_pipelines), [first, second])
        with pytest.raises(RuntimeError) as refused:
            await _run(engine, lambda m: m.upgrade())
        message = str(refused.value)
        assert message.startswith("migration 0013 refused: 1 lead(s) have more than one open pipeline")
        assert str(lead_id) in message and str(first["id"]) in message and str(second["id"]) in message
    finally:  # the schema is shared by the whole session: leave it migrated whatever happened above
        async with engine.begin() as conn:
            await conn.execute(close_second)
        await _run(engine, lambda m: m.upgrade())
    with pytest.raises(sa.exc.IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(sa.insert(sales_pipelines).values(**_row(lead_id, rm["id"])))
