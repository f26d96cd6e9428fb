"""notify() (issue 10 §4, PRD §5.2): channel from the customer's stored preferences (UPR-004), opt-outs for
marketing (UPR-006), one request per dedupe key, every request a valid sales.notification.requested event."""
from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from sales.notifications.models import notifications
from sales.notifications.service import notify
from tests.api.allocation.helpers import event_data
from tests.api.customers.helpers import deliver
from tests.builders import API
from tests.checks import count, fetch

NOW = datetime(2026, 1, 17, 10, 30, tzinfo=UTC)
TYPE = "sales.notification.requested"


async def send(engine, **kwargs):  # type: ignore[no-untyped-def]
    args = {"template": "upsell.tenant_premium", "data": {"plan": "PREMIUM", "price": "499.00"},
            "dedupe_key": f"k-{uuid.uuid4()}", "transactional": False, "now": NOW, **kwargs}
    async with engine.begin() as conn:
        return await notify(conn, **args)


async def set_preferences(client, auth, user: uuid.UUID, **prefs) -> None:  # type: ignore[no-untyped-def]
    item = await deliver(client, auth, "users.preferences.updated", {"user_id": str(user), **prefs})
    assert item["status"] == "PROCESSED", item


async def test_customer_preferred_channel_and_the_published_request(client, auth, engine):
    user = uuid.uuid4()
    await set_preferences(client, auth, user, marketing_opt_out=False, preferred_channel="WHATSAPP")
    outcome = await send(engine, recipient_type="CUSTOMER", recipient_id=user, dedupe_key="upsell:1:touch-1",
                         data={"plan": "PREMIUM", "price": 499.00})
    assert (outcome.status, outcome.channel, outcome.reason) == ("REQUESTED", "WHATSAPP", "PREFERRED")
    [data] = await event_data(engine, TYPE)
    assert data == {"notification_id": str(outcome.notification_id),
                    "recipient": {"type": "CUSTOMER", "id": str(user)}, "channel": "WHATSAPP",
                    "template": "upsell.tenant_premium", "data": {"plan": "PREMIUM", "price": 499.00},
                    "dedupe_key": "upsell:1:touch-1", "transactional": False}
    [row] = await fetch(engine, notifications)
    assert (row.status, row.channel, row.reason, row.recipient_id) == ("REQUESTED", "WHATSAPP", "PREFERRED", user)


async def test_customer_without_known_preferences_gets_in_app_first_upr_004(engine):
    outcome = await send(engine, recipient_type="CUSTOMER", recipient_id=uuid.uuid4())
    assert (outcome.status, outcome.channel, outcome.reason) == ("REQUESTED", "IN_APP", "DEFAULT_ORDER")


async def test_preferred_channel_opted_out_falls_to_the_first_allowed(client, auth, engine):
    user = uuid.uuid4()
    await set_preferences(client, auth, user, marketing_opt_out=False, preferred_channel="EMAIL",
                          channels_opted_out=["EMAIL", "IN_APP"])
    outcome = await send(engine, recipient_type="CUSTOMER", recipient_id=user)
    assert (outcome.channel, outcome.reason) == ("PUSH_NOTIFICATION", "DEFAULT_ORDER")


async def test_upr_006_marketing_to_an_opted_out_user_sends_nothing_and_says_why(client, auth, engine):
    user = uuid.uuid4()
    await set_preferences(client, auth, user, marketing_opt_out=True, preferred_channel="EMAIL")
    outcome = await send(engine, recipient_type="CUSTOMER", recipient_id=user, dedupe_key="upsell:2:touch-1")
    assert (outcome.status, outcome.channel, outcome.reason, outcome.sent) == (
        "SUPPRESSED", None, "MARKETING_OPT_OUT", False)
    assert await event_data(engine, TYPE) == []
    [row] = await fetch(engine, notifications)
    assert (row.status, row.reason, row.channel) == ("SUPPRESSED", "MARKETING_OPT_OUT", None)
    # a transactional message (e.g. a payment confirmation) still goes out, on the preferred channel
    receipt = await send(engine, recipient_type="CUSTOMER", recipient_id=user, transactional=True,
                         template="order.confirmed")
    assert (receipt.status, receipt.channel) == ("REQUESTED", "EMAIL")


async def test_upr_006_marketing_on_an_opted_out_channel_sends_nothing(client, auth, engine):
    user = uuid.uuid4()
    await set_preferences(client, auth, user, marketing_opt_out=False, channels_opted_out=["SMS"])
    outcome = await send(engine, recipient_type="CUSTOMER", recipient_id=user, channel="SMS")
    assert (outcome.status, outcome.reason) == ("SUPPRESSED", "CHANNEL_OPTED_OUT")
    allowed = await send(engine, recipient_type="CUSTOMER", recipient_id=user, channel="EMAIL")
    assert (allowed.status, allowed.channel, allowed.reason) == ("REQUESTED", "EMAIL", "REQUESTED")
    assert len(await event_data(engine, TYPE)) == 1


async def test_opt_out_through_the_backfill_api_is_honoured_at_once(client, auth, engine):
    user = uuid.uuid4()
    assert (await send(engine, recipient_type="CUSTOMER", recipient_id=user)).status == "REQUESTED"
    r = await client.put(f"{API}/customers/{user}/preferences", json={"marketing_opt_out": True},
                         headers=auth.headers("SERVICE"))
    assert r.status_code == 201, r.text
    assert (await send(engine, recipient_type="CUSTOMER", recipient_id=user)).reason == "MARKETING_OPT_OUT"


async def test_the_same_dedupe_key_never_produces_two_requests(engine):
    rm = uuid.uuid4()
    first = await send(engine, recipient_type="RM", recipient_id=rm, dedupe_key="rm.reminder:x",
                       transactional=True, template="rm.reminder")
    again = await send(engine, recipient_type="RM", recipient_id=rm, dedupe_key="rm.reminder:x",
                       transactional=True, template="rm.reminder", channel="EMAIL")
    assert (first.status, first.channel) == ("REQUESTED", "PUSH_NOTIFICATION")
    assert (again.status, again.notification_id, again.channel) == ("DUPLICATE", first.notification_id,
                                                                     "PUSH_NOTIFICATION")
    assert len(await event_data(engine, TYPE)) == 1 and await count(engine, notifications) == 1


async def test_a_suppressed_decision_is_also_final_for_its_key(client, auth, engine):
    user = uuid.uuid4()
    await set_preferences(client, auth, user, marketing_opt_out=True)
    assert (await send(engine, recipient_type="CUSTOMER", recipient_id=user, dedupe_key="k")).status == "SUPPRESSED"
    r = await client.put(f"{API}/customers/{user}/preferences", json={"marketing_opt_out": False},
                         headers=auth.admin)
    assert r.status_code == 200, r.text
    again = await send(engine, recipient_type="CUSTOMER", recipient_id=user, dedupe_key="k")
    assert (again.status, again.reason) == ("DUPLICATE", "DUPLICATE of SUPPRESSED: MARKETING_OPT_OUT")
    assert await event_data(engine, TYPE) == []


@pytest.mark.postgres_only
async def test_concurrent_requests_with_one_key_make_one_request(engine, backend):
    outcomes = await asyncio.gather(*[send(engine, recipient_type="RM", recipient_id=uuid.uuid4(),
                                           dedupe_key="same", transactional=True) for _ in range(8)])
    assert sorted(o.status for o in outcomes) == ["DUPLICATE"] * 7 + ["REQUESTED"]
    assert len(await event_data(engine, TYPE)) == 1


async def test_supervisor_of_a_team_without_supervisor_is_addressed_by_team(engine):
    team = uuid.uuid4()
    outcome = await send(engine, recipient_type="SUPERVISOR", recipient_id=None, team_id=team,
                         template="queue_depth_alert", transactional=True,
                         data={"team_id": team, "rm_id": uuid.uuid4(), "queue_depth": 11, "threshold": 10})
    assert outcome.channel == "PUSH_NOTIFICATION"
    [data] = await event_data(engine, TYPE)
    assert data["recipient"] == {"type": "SUPERVISOR", "id": None, "team_id": str(team)}


@pytest.mark.parametrize("bad", [
    {"template": "Has Spaces"}, {"template": "x" * 101}, {"dedupe_key": ""}, {"dedupe_key": "k" * 201},
    {"dedupe_key": "a\x00b"}, {"data": {"note": "a\x00b"}}, {"recipient_type": "TEAM"}, {"channel": "FAX"}])
async def test_bad_requests_fail_loudly_and_write_nothing(engine, bad):
    with pytest.raises(ValidationError):
        await send(engine, **{"recipient_type": "RM", "recipient_id": uuid.uuid4(), **bad})
    assert await count(engine, notifications) == 0


async def test_a_recipient_needs_an_id(engine):
    with pytest.raises(ValueError, match="recipient"):
        await send(engine, recipient_type="CUSTOMER", recipient_id=None)
    with pytest.raises(ValueError, match="recipient"):
        await send(engine, recipient_type="SUPERVISOR", recipient_id=None)
