"""docs/events/ holds a valid JSON Schema for every published and consumed event type (PRD §5.4)."""
from __future__ import annotations

from tests.events_schema import errors_of, schema_types

PRD_PUBLISHED = {"sales.pipeline.created", "sales.pipeline.stage_changed", "sales.pipeline.closed",
                 "sales.upsell.presented", "sales.upsell.converted", "sales.lead.allocated", "sales.lead.reassigned",
                 "sales.commission.earned", "sales.commission.paid", "sales.refund.requested",
                 "sales.refund.processed"}
PRD_CONSUMED = {"leads.lead.created", "leads.lead.qualified", "billing.payment.completed",
                "billing.refund.completed", "scheduling.visit.completed", "entitlements.plan.expired"}


def test_every_prd_event_type_has_a_schema():
    assert PRD_PUBLISHED | PRD_CONSUMED <= schema_types()


def test_schema_rejects_a_broken_event():
    event = {"specversion": "1.0", "id": "x", "source": "/mysqrft/sales", "type": "sales.pipeline.created",
             "time": "2026-01-10T10:00:00Z", "subject": "not-a-uuid", "datacontenttype": "application/json",
             "data": {"pipeline_id": "also-not-a-uuid", "lead_id": None}}
    problems = errors_of(event)
    assert any("subject" in p for p in problems) and any("lead_id" in p for p in problems)
    assert errors_of({**event, "type": "sales.nothing.like.this"})[0].startswith("no schema")


async def test_every_event_emitted_across_a_flow_validates(client, auth, engine):
    """The autouse fixture of this package checks the outbox after every test; this flow closes a deal."""
    from tests.builders import API, make_pipeline, make_rm, make_team
    from tests.events_schema import assert_outbox_valid

    team = await make_team(client, auth.admin)
    rm = await make_rm(client, auth.admin, team_id=team["id"])
    won = await make_pipeline(client, auth.admin, rm_id=rm["id"])
    lost = await make_pipeline(client, auth.admin, rm_id=rm["id"])
    r = await client.patch(f"{API}/pipelines/{won['id']}/stage", json={"stage": "CLOSED_WON", "deal_value": 30000},
                           headers=auth.admin)
    assert r.status_code == 200, r.text
    r = await client.patch(f"{API}/pipelines/{lost['id']}/stage",
                           json={"stage": "CLOSED_LOST", "loss_reason": "budget"}, headers=auth.admin)
    assert r.status_code == 200, r.text
    async with engine.connect() as conn:
        assert await assert_outbox_valid(conn) == 6
