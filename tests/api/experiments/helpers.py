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
