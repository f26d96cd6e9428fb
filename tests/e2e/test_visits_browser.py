"""The visit planner and the RM's tasks in a real browser (issue 15 §7, US-SALE-013): the RM plans the visits of
a pipeline's shortlisted listings in the console, sees the itinerary drawn on the plot, records a visited stop's
outcome, and marks an overdue task done from the desk. Screenshots go with the other browser tests'."""
from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveApp, shot, sign_in

pytestmark = pytest.mark.e2e
SPOTS = (("Baner", 18.559, 73.786), ("Aundh", 18.558, 73.807), ("Pashan", 18.537, 73.795))


def _listing(live: LiveApp, *, locality: str, lat: float, lon: float) -> str:
    listing_id = str(uuid.uuid4())
    live.ok("PUT", f"/inventory/listings/{listing_id}", json={
        "owner_id": str(uuid.uuid4()), "city": "Pune", "locality": locality, "lat": lat, "lon": lon,
        "property_type": "APARTMENT", "deal_type": "SALE", "bhk": 3, "area_sqft": 1450, "price": "9500000.00",
        "furnishing": "SEMI_FURNISHED", "amenities": ["LIFT"], "available_from": "2026-03-01",
        "status": "AVAILABLE", "listed_at": "2026-01-05T09:00:00Z"})
    return listing_id


def test_the_rm_plans_visits_records_an_outcome_and_closes_a_task(page: Any, live: LiveApp,
                                                                   world: dict[str, Any]) -> None:
    tag, pid = world["tag"], world["pipeline"]["id"]
    rm_token = live.token("RM", sub=world["rm"]["id"])
    ids = [_listing(live, locality=f"{name} {tag}", lat=lat, lon=lon) for name, lat, lon in SPOTS]
    live.ok("PUT", f"/pipelines/{pid}/requirements", token=rm_token, json={
        "deal_type": "SALE", "budget_max": "10000000.00", "localities": [f"{n} {tag}" for n, _, _ in SPOTS],
        "bhk_min": 3, "criteria": {"budget": {"must": True}}})
    live.ok("POST", f"/pipelines/{pid}/shortlists", token=rm_token,
            json={"title": "West Pune homes", "listing_ids": ids})
    task = live.ok("POST", "/tasks", token=rm_token, json={
        "type": "CALL", "due_at": "2026-03-02T08:00:00Z", "pipeline_id": pid, "notes": f"Call back {tag}"})

    sign_in(page, live.base_url, world["users"]["rm"]["email"], world["users"]["rm"]["password"])
    page.goto(f"{live.base_url}/console/pipelines/{pid}")
    page.get_by_role("link", name="Plan visits").click()
    expect(page.get_by_role("heading", name="Plan visits")).to_be_visible()
    page.get_by_label("Date").fill("2026-03-03")
    page.get_by_label("Customer from").fill("09:00")
    page.get_by_label("Customer until").fill("15:00")
    page.get_by_label("Latitude").fill("18.5204")
    page.get_by_label("Longitude").fill("73.8567")
    for name, _, _ in SPOTS:
        page.get_by_role("checkbox", name=re.compile(f"^{name} {tag}")).check()
    page.get_by_label(re.compile(f"^Owner from \\(Aundh {tag}")).fill("11:00")
    page.get_by_label(re.compile(f"^Owner until \\(Aundh {tag}")).fill("12:30")
    shot(page, "visit-planner", live.backend)
    page.get_by_role("button", name="Plan the route").click()

    expect(page.get_by_role("heading", name="Visits on 2026-03-03")).to_be_visible()
    expect(page.locator("p.alert-ok")).to_contain_text("Visit plan created")
    plot = page.locator("svg#itinerary")
    expect(plot).to_be_visible()
    expect(plot.locator('[data-kind="stop"]')).to_have_count(3)
    expect(plot.locator('[data-kind="start"]')).to_have_count(1)
    assert len(plot.locator("polyline").get_attribute("points").split()) == 4  # start and three stops
    shot(page, "visit-plan", live.backend)

    first = page.locator("form[data-stop-id]").first
    first.get_by_label("Interested").select_option("yes")
    first.get_by_label("Rating").select_option("5")
    first.get_by_label("Notes").fill("Loved the light")
    first.get_by_role("button", name="Save outcome").click()
    expect(page.locator("p.alert-ok")).to_contain_text("Outcome saved")
    expect(page.locator("table.table tbody tr").first).to_contain_text("Completed · 5/5 · interested")

    page.goto(f"{live.base_url}/console/")
    item = page.locator(f'[data-task-id="{task["id"]}"]')
    expect(item).to_contain_text("Overdue ·")
    expect(item).to_contain_text(f"Call back {tag}")
    shot(page, "desk-tasks", live.backend)
    item.get_by_role("button", name=re.compile("^Mark done")).click()
    expect(page.locator("p.alert-ok")).to_contain_text("Task marked done")
    expect(page.locator(f'[data-task-id="{task["id"]}"]')).to_have_count(0)
    assert live.ok("GET", f"/tasks/{task['id']}", token=rm_token)["status"] == "DONE"
