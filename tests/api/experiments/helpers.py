"""Builders for the upsell experiment tests (issue 16)."""
from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import httpx

from tests.api.upsell.helpers import UPSELLS
from tests.commerce_builders import send

EXPERIMENTS = f"{UPSELLS}/experiments"


def experiment_body(**overrides: Any) -> dict[str, Any]:
    return {"name": "Premium banner copy", "hypothesis": "Naming the saving converts better",
            "trigger": f"CAMPAIGN_{uuid.uuid4().hex[:8].upper()}",
            "variants": [{"key": "control", "weight": Decimal("0.5"), "message": "Upgrade to Premium",
                          "control": True},
                         {"key": "saving", "weight": Decimal("0.5"), "message": "Save Rs. 500 with Premium",
                          "channel": "IN_APP_MODAL", "delay_minutes": 30}],
            "coverage": Decimal("1"), "baseline_rate": Decimal("0.05"),
            "minimum_detectable_effect": Decimal("0.5"), **overrides}


def pm() -> Any:
    return uuid.UUID(int=16)


async def create_experiment(client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    r = await send(client, "POST", EXPERIMENTS, experiment_body(**overrides), headers)
    assert r.status_code == 201, r.text
    return r.json()


async def put(client: httpx.AsyncClient, headers: dict[str, str], experiment_id: str, **body: Any) -> httpx.Response:
    return await send(client, "PUT", f"{EXPERIMENTS}/{experiment_id}", body, headers)


async def start_experiment(client: httpx.AsyncClient, headers: dict[str, str], **overrides: Any) -> dict[str, Any]:
    created = await create_experiment(client, headers, **overrides)
    r = await put(client, headers, created["id"], status="RUNNING")
    assert r.status_code == 200, r.text
    return r.json()


def users_in(experiment: dict[str, Any], key: str, count: int) -> list[str]:
    """`count` fresh user ids GrowthBook's bucketing puts in variant `key` (chosen locally by the same rules)."""
    from sales.experiments import rules

    variants = [rules.VariantSpec(v["key"], v["weight"], v["control"]) for v in experiment["variants"]]
    found: list[str] = []
    while len(found) < count:
        user = str(uuid.uuid4())
        chosen = rules.assign(seed=experiment["seed"], user_id=user, variants=variants,
                              coverage=experiment["coverage"])
        if chosen is not None and chosen.key == key:
            found.append(user)
    return found


def users_served(experiment: dict[str, Any], *, winner: bool, percent: int, count: int) -> list[str]:
    """Fresh user ids a rollout at `percent` serves the winner (or, with winner=False, the control)."""
    from sales.experiments import rules

    found: list[str] = []
    while len(found) < count:
        user = str(uuid.uuid4())
        if rules.rollout_serves_winner(seed=experiment["seed"], user_id=user, percent=percent) is winner:
            found.append(user)
    return found


async def expose(client: httpx.AsyncClient, auth: Any, plan: dict[str, Any], trigger: str, users: list[str], *,
                 converted: int = 0, dismissed: int = 0) -> list[dict[str, Any]]:
    """An upsell of `trigger` for each user, PRESENTED; the first `converted` paid for, the last `dismissed`
    dismissed."""
    from tests.api.upsell.helpers import create, respond
    from tests.commerce_builders import deliver, event, payment

    service = auth.headers("SERVICE")
    upsells = []
    for user in users:
        r = await create(client, service, plan, user, trigger_event=trigger)
        assert r.status_code == 201, r.text
        upsells.append(r.json())
        assert (await respond(client, service, r.json()["id"], "PRESENTED")).status_code == 200
    for upsell in upsells[len(upsells) - dismissed:] if dismissed else []:
        assert (await respond(client, service, upsell["id"], "DISMISSED")).status_code == 200
    if converted:
        paid = [event("billing.payment.completed", payment(plan, user_id=u["user_id"], upsell_id=u["id"]))
                for u in upsells[:converted]]
        assert [o["status"] for o in await deliver(client, auth, *paid)] == ["PROCESSED"] * converted
    return upsells


async def results(client: httpx.AsyncClient, headers: dict[str, str], experiment_id: str) -> dict[str, Any]:
    r = await client.get(f"{EXPERIMENTS}/{experiment_id}/results", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()
