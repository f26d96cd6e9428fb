"""The customer's shortlist page in a real browser at phone width (issue 14 §4-5): the customer opens the shared
link without signing in, leaves feedback, and the RM sees it on the pipeline page in the console."""
from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import LiveApp, shot, sign_in

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}


def _listing(live: LiveApp, *, locality: str, price: str, lat: float, lon: float) -> str:
    listing_id = str(uuid.uuid4())
    live.ok("PUT", f"/inventory/listings/{listing_id}", json={
        "owner_id": str(uuid.uuid4()), "city": "Pune", "locality": locality, "lat": lat, "lon": lon,
        "property_type": "APARTMENT", "deal_type": "SALE", "bhk": 3, "area_sqft": 1450, "price": price,
        "furnishing": "SEMI_FURNISHED", "amenities": ["LIFT", "GYM"], "available_from": "2026-03-01",
        "status": "AVAILABLE", "listed_at": "2026-01-05T09:00:00Z"})
    return listing_id


def test_customer_leaves_feedback_on_a_phone_and_the_rm_sees_it(browser: Any, page: Any, live: LiveApp,
                                                                 world: dict[str, Any]) -> None:
    tag = world["tag"]
    pid = world["pipeline"]["id"]
    rm_token = live.token("RM", sub=world["rm"]["id"])
    first = _listing(live, locality=f"Baner {tag}", price="9500000.00", lat=18.559, lon=73.786)
    second = _listing(live, locality=f"Aundh {tag}", price="9900000.00", lat=18.558, lon=73.807)
    live.ok("PUT", f"/pipelines/{pid}/requirements", token=rm_token, json={
        "deal_type": "SALE", "budget_max": "10000000.00", "localities": [f"Baner {tag}", f"Aundh {tag}"],
        "bhk_min": 3, "criteria": {"budget": {"must": True}, "location": {"weight": 5}}})
    shortlist = live.ok("POST", f"/pipelines/{pid}/shortlists", token=rm_token,
                        json={"title": "Homes near Baner", "listing_ids": [first, second]})
    link = live.ok("POST", f"/shortlists/{shortlist['id']}/share", token=rm_token, json={"channel": "WHATSAPP"})["url"]

    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        customer = phone.new_page()
        customer.goto(link)
        expect(customer.get_by_role("heading", name="Homes near Baner")).to_be_visible()
        card = customer.locator(f"#l-{first}")
        expect(card).to_contain_text("₹95,00,000")
        expect(card).to_contain_text(f"in Baner {tag}")
        assert customer.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scroll
        shot(customer, "shortlist-phone", live.backend)
        card.get_by_label("Comment (optional)").fill("Can we see it on Saturday morning?")
        card.get_by_role("button", name="Want to visit").click()
        expect(customer.locator(f"#l-{first}")).to_contain_text("your answer was saved")
        expect(customer.locator(f"#l-{first}").get_by_role("button", name="Want to visit")).to_have_attribute(
            "aria-pressed", "true")
        customer.locator(f"#l-{second}").get_by_role("button", name="Not for me").click()
        expect(customer.locator(f"#l-{second}")).to_contain_text("your answer was saved")
        customer.goto(re.sub(r"/s/.*$", "/s/unknown-link", link))
        expect(customer.get_by_role("heading", name="This shortlist link is not available")).to_be_visible()
    finally:
        phone.close()

    sign_in(page, live.base_url, world["users"]["rm"]["email"], world["users"]["rm"]["password"])
    page.goto(f"{live.base_url}/console/pipelines/{pid}")
    feedback = page.locator(f'[data-shortlist="{shortlist["id"]}"] .feedback')
    expect(feedback.locator('[data-reaction="WANT_TO_VISIT"]')).to_contain_text("Can we see it on Saturday morning?")
    expect(feedback.locator('[data-reaction="DISLIKE"]')).to_contain_text(f"Aundh {tag}")
    expect(page.locator(".badge-lg")).to_have_text("Shortlist sent")
    shot(page, "pipeline-journey", live.backend)
