"""The journey panel on the RM's pipeline page (issue 14 §5): requirements form, suggestions with reasons,
shortlist builder, sharing, versions and the customer's feedback; no inline scripts (strict CSP)."""
from __future__ import annotations

import re

from tests.api.console.test_console_auth import _csrf, _sign_in, _user
from tests.api.console.test_customer_panel import assert_csp_clean
from tests.api.journey.helpers import journey_setup, listing
from tests.builders import API, freeze_clock


def requirements_form(csrf: str, **overrides: str) -> dict[str, str]:
    return {"csrf_token": csrf, "deal_type": "RENT", "property_type": "APARTMENT", "budget_min": "25000",
            "budget_max": "40,000", "localities": "Koramangala, HSR Layout", "bhk_min": "2", "bhk_max": "3",
            "furnishing": "SEMI_FURNISHED", "amenities": "lift, parking", "move_in_by": "2026-02-15",
            "criterion_budget": "must", "criterion_location": "5", **overrides}


async def test_rm_captures_requirements_builds_and_shares_a_shortlist_and_sees_feedback(client, auth, engine):
    await freeze_clock(client, auth.admin)
    s = await journey_setup(client, auth, engine)
    a = await listing(client, auth, price=35000.00)
    b = await listing(client, auth, price=42000.00)  # over the must-have budget: never suggested
    await _sign_in(client, await _user(engine, role="RM", rm_id=s["rm"]["id"]))
    url = f"/console/pipelines/{s['pipeline']['id']}"
    page = await client.get(url)
    assert page.status_code == 200 and 'id="journey"' in page.text and "not captured yet" in page.text
    assert_csp_clean(page.text)
    csrf = _csrf(page.text)
    bad = await client.post(f"{url}/requirements", data=requirements_form(csrf, budget_min="50000"))
    assert bad.status_code == 422 and "budget_min must not exceed budget_max" in bad.text.lower()
    saved = await client.post(f"{url}/requirements", data=requirements_form(csrf))
    assert saved.status_code == 303 and saved.headers["location"].endswith("?journey=requirements#journey")
    page = await client.get(saved.headers["location"])
    assert "Requirements saved as version 1" in page.text and "Requirements captured" in page.text
    assert f'data-listing="{a["id"]}"' in page.text and f'data-listing="{b["id"]}"' not in page.text
    assert "price ₹35,000 within ₹25,000 - ₹40,000" in page.text
    created = await client.post(f"{url}/shortlists", data={"csrf_token": csrf, "listing_id": a["id"],
                                                           "title": "Best picks"})
    assert created.status_code == 303
    page = await client.get(url)
    sid = re.search(r'data-shortlist="([0-9a-f-]+)"', page.text).group(1)
    assert "Best picks" in page.text and "draft" in page.text
    shared = await client.post(f"/console/shortlists/{sid}/share", data={"csrf_token": csrf, "channel": "WHATSAPP"})
    assert shared.status_code == 200 and "shown once" in shared.text
    link = re.search(r'id="share-url" href="([^"]+)"', shared.text).group(1)
    token = link.rsplit("/s/", 1)[1]
    r = await client.post(f"/s/{token}/feedback", json={"listing_id": a["id"], "reaction": "WANT_TO_VISIT",
                                                       "comment": "Saturday works"})
    assert r.status_code == 201
    edited = await client.post(f"/console/shortlists/{sid}/edit", data={"csrf_token": csrf, "action": "note",
                                                                       "listing_id": a["id"], "note": "Quiet street"})
    assert edited.status_code == 303
    page = await client.get(url)
    assert "Shortlist sent" in page.text and "Versions (2)" in page.text and "Quiet street" in page.text
    assert 'data-reaction="WANT_TO_VISIT"' in page.text and "“Saturday works”" in page.text
    api = await client.get(f"{API}/shortlists/{sid}/versions", headers=s["rm_auth"])
    assert [v["version"] for v in api.json()] == [2, 1]
