from __future__ import annotations

from typing import Any

import httpx

from tests.api.events.helpers import API, cloudevent

EVENTS = f"{API}/events"


async def deliver(client: httpx.AsyncClient, auth: Any, type_: str, data: Any, *, id_: str | None = None,
                  time: str | None = "2026-01-10T10:00:00Z") -> dict[str, Any]:
    """POST one CloudEvent as SERVICE and return its inbox outcome."""
    event = cloudevent(type_, data, id_=id_)
    if time is None:
        event.pop("time")
    else:
        event["time"] = time
    response = await client.post(EVENTS, json=event, headers=auth.headers("SERVICE"))
    assert response.status_code == 200, response.text
    [item] = response.json()["items"]
    return item
