"""OWASP API1:2023 (issue 20): objects that exist and belong to someone else - pipelines (with their lead),
orders and refunds - are refused exactly as an id that exists nowhere is (same status, same body but for the
id the caller sent), so an answer neither carries the object nor tells that it exists."""
from __future__ import annotations

import uuid
from decimal import Decimal

from tests.builders import API, make_pipeline, make_rm_with_team, move
from tests.checks import assert_problem, count
from tests.commerce_builders import make_plan, send


async def test_another_rms_or_teams_pipeline_is_not_found(client, auth):
    _, owner = await make_rm_with_team(client, auth.admin)
    pipeline = await make_pipeline(client, auth.rm(uuid.UUID(owner["id"])), rm_id=owner["id"])
    _, other = await make_rm_with_team(client, auth.admin)
    strangers = {"another RM": auth.rm(uuid.UUID(other["id"])), "another team's supervisor":
                 auth.supervisor(uuid.UUID(other["team_id"])), "a customer": auth.headers("CUSTOMER")}
    for who, headers in strangers.items():
        for ask in (lambda id_: client.get(f"{API}/pipelines/{id_}", headers=headers),
                    lambda id_: client.get(f"{API}/pipelines/{id_}/history", headers=headers),
                    lambda id_: client.put(f"{API}/pipelines/{id_}", json={"notes": "mine now"}, headers=headers),
                    lambda id_: move(client, headers, id_, "CONTACTED")):
            response = await same_as_for_nothing(ask, pipeline["id"])
            assert response.status_code in (403, 404), (who, response.status_code)
            assert pipeline["lead_id"] not in response.text, who
        listed = await client.get(f"{API}/pipelines", headers=headers)
        assert pipeline["id"] not in listed.text, who
    unchanged = await client.get(f"{API}/pipelines/{pipeline['id']}", headers=auth.admin)
    assert unchanged.json()["stage"] == pipeline["stage"] and unchanged.json()["notes"] == pipeline["notes"]


async def same_as_for_nothing(ask, object_id: str):  # type: ignore[no-untyped-def]
    """The answer about `object_id`, checked to be the answer about an id that exists nowhere."""
    nothing = str(uuid.uuid4())
    about_it, about_nothing = await ask(object_id), await ask(nothing)
    assert about_it.status_code == about_nothing.status_code
    assert about_it.text.replace(object_id, nothing) == about_nothing.text
    return about_it


async def _order(client, auth) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    plan = await make_plan(client, auth.admin, duration_days=45, price=Decimal("1499.00"))
    user, order_id = str(uuid.uuid4()), str(uuid.uuid4())
    body = {"payment_id": str(uuid.uuid4()), "user_id": user, "user_type": "TENANT", "plan_id": plan["id"],
            "amount": Decimal("1499.00"), "currency": "INR", "paid_at": "2026-01-05T10:00:00Z"}
    response = await send(client, "PUT", f"{API}/orders/{order_id}", body, auth.headers("SERVICE"))
    assert response.status_code == 201, response.text
    return order_id, user


async def test_another_customers_order_and_its_refund_are_not_found(client, auth, engine):
    from sales.refunds.models import refunds

    order_id, owner = await _order(client, auth)
    stranger = auth.headers("CUSTOMER")
    order = await same_as_for_nothing(lambda id_: client.get(f"{API}/orders/{id_}", headers=stranger), order_id)
    assert order.status_code in (403, 404) and owner not in order.text
    eligibility = await same_as_for_nothing(
        lambda id_: client.get(f"{API}/refunds/eligibility/{id_}", headers=stranger), order_id)
    assert_problem(eligibility, 404, eligibility.json()["code"])
    requested = await same_as_for_nothing(lambda id_: client.post(
        f"{API}/refunds", json={"order_id": id_, "type": "REFUND", "reason": "not mine"}, headers=stranger), order_id)
    assert requested.status_code in (403, 404, 422), requested.text
    assert await count(engine, refunds) == 0
    own = await client.get(f"{API}/orders/{order_id}", headers=auth.headers("CUSTOMER", sub=uuid.UUID(owner)))
    assert own.status_code == 200
