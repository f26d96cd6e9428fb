"""The customer's page /s/{token} and POST /s/{token}/feedback (issue 14 §4): public, expiring, CSRF-safe,
rate limited; feedback shown to the RM and used by the next suggestions."""
from __future__ import annotations

import re

import pytest

from sales.journey import shortlists as shortlists_service
from sales.journey.models import feedback
from tests.api.journey.helpers import journey_setup, listing, save
from tests.builders import API, freeze_clock, make_rm_with_team
from tests.checks import assert_problem, count


@pytest.fixture
async def s(client, auth, engine):  # type: ignore[no-untyped-def]
    await freeze_clock(client, auth.admin)
    setup = await journey_setup(client, auth, engine)
    setup["a"] = await listing(client, auth, price=35000.00, bhk=2)
    setup["b"] = await listing(client, auth, price=36000.00, bhk=2)  # like a: same locality, type, close price
    setup["c"] = await listing(client, auth, price=38000.00, bhk=2, locality="HSR Layout", lat=12.9116, lon=77.6474)
    await save(client, setup["rm_auth"], setup["pipeline"]["id"])
    created = await client.post(f"{API}/pipelines/{setup['pipeline']['id']}/shortlists",
                                json={"from_suggestions": 3, "notes": "Three good options"}, headers=setup["rm_auth"])
    setup["sid"] = created.json()["id"]
    shared = await client.post(f"{API}/shortlists/{setup['sid']}/share", json={"channel": "WHATSAPP"},
                               headers=setup["rm_auth"])
    setup["token"] = shared.json()["token"]
    return setup


def form_token(html: str) -> str:
    return re.search(r'name="form_token" value="([0-9a-f]+)"', html).group(1)


async def test_page_is_public_html_without_owner_details(client, s):
    r = await client.get(f"/s/{s['token']}")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "Three good options" in html and 'name="viewport"' in html
    assert "35,000" in html and "Koramangala" in html and "price ₹35,000 within" in html
    assert r.headers["referrer-policy"] == "same-origin" and "default-src 'self'" in r.headers["content-security-policy"]
    listing_owner = s["a"]["owner_id"]
    assert listing_owner not in html and "+91" not in html and "@" not in html


async def test_unknown_and_expired_links_get_a_friendly_404(client, auth, s):
    r = await client.get("/s/not-a-real-token")
    assert r.status_code == 404 and "not available" in r.text and r.headers["content-type"].startswith("text/html")
    await freeze_clock(client, auth.admin, at="2026-01-31T10:29:59Z")
    assert (await client.get(f"/s/{s['token']}")).status_code == 200
    await freeze_clock(client, auth.admin, at="2026-01-31T10:30:00Z")  # 14 days later
    assert (await client.get(f"/s/{s['token']}")).status_code == 404
    r = await client.post(f"/s/{s['token']}/feedback", json={"listing_id": s["a"]["id"], "reaction": "LIKE"})
    assert_problem(r, 404, "share_not_found")


async def test_form_feedback_is_stored_and_the_rm_sees_it(client, engine, s):
    page = await client.get(f"/s/{s['token']}")
    r = await client.post(f"/s/{s['token']}/feedback", data={
        "form_token": form_token(page.text), "listing_id": s["a"]["id"], "reaction": "WANT_TO_VISIT",
        "comment": "Can we see it on Saturday?"})
    assert r.status_code == 303 and r.headers["location"].startswith(f"/s/{s['token']}?saved={s['a']['id']}")
    again = await client.get(r.headers["location"])
    assert "your answer was saved" in again.text and 'value="WANT_TO_VISIT" aria-pressed="true"' in again.text
    shortlist = (await client.get(f"{API}/shortlists/{s['sid']}", headers=s["rm_auth"])).json()
    [fb] = shortlist["feedback"]
    assert (fb["listing_id"], fb["reaction"], fb["comment"], fb["version"]) == (
        s["a"]["id"], "WANT_TO_VISIT", "Can we see it on Saturday?", 1)
    pipeline_fb = (await client.get(f"{API}/pipelines/{s['pipeline']['id']}/feedback", headers=s["rm_auth"])).json()
    assert pipeline_fb["visit_candidates"] == [s["a"]["id"]]


async def test_json_feedback_and_dislikes_rank_lower_in_the_next_suggestions(client, s):
    before = (await client.get(f"{API}/pipelines/{s['pipeline']['id']}/suggestions", headers=s["rm_auth"])).json()
    assert [i["listing"]["id"] for i in before["items"]] == [s["a"]["id"], s["b"]["id"], s["c"]["id"]]
    r = await client.post(f"/s/{s['token']}/feedback", json={"listing_id": s["a"]["id"], "reaction": "DISLIKE",
                                                            "comment": "Too dark"})
    assert r.status_code == 201, r.text
    assert r.json()["reaction"] == "DISLIKE" and r.json()["version"] == 1
    after = (await client.get(f"{API}/pipelines/{s['pipeline']['id']}/suggestions", headers=s["rm_auth"])).json()
    assert [i["listing"]["id"] for i in after["items"]] == [s["c"]["id"], s["b"]["id"], s["a"]["id"]]
    by_id = {i["listing"]["id"]: i for i in after["items"]}
    assert by_id[s["a"]["id"]]["adjusted_score"] < by_id[s["b"]["id"]]["adjusted_score"] < 100
    assert "disliked" in by_id[s["a"]["id"]]["feedback"] and "like a property" in by_id[s["b"]["id"]]["feedback"]
    # a change of mind: the newest reaction counts
    await client.post(f"/s/{s['token']}/feedback", json={"listing_id": s["a"]["id"], "reaction": "LIKE"})
    again = (await client.get(f"{API}/pipelines/{s['pipeline']['id']}/suggestions", headers=s["rm_auth"])).json()
    assert again["items"][0]["listing"]["id"] == s["a"]["id"]


async def test_feedback_bad_input_names_the_field_and_writes_nothing(client, auth, engine, s):
    other = await listing(client, auth)
    url = f"/s/{s['token']}/feedback"
    assert_problem(await client.post(url, json={"listing_id": other["id"], "reaction": "LIKE"}), 422,
                   "validation_error", loc=["body", "listing_id"])
    assert_problem(await client.post(url, json={"listing_id": s["a"]["id"], "reaction": "LOVE"}), 422,
                   "validation_error", loc=["body", "reaction"])
    # CSRF: a form without the page's token, or with the token of another shortlist's page
    assert_problem(await client.post(url, data={"listing_id": s["a"]["id"], "reaction": "LIKE"}), 422,
                   "validation_error", loc=["body", "form_token"])
    second = await client.post(f"{API}/pipelines/{s['pipeline']['id']}/shortlists",
                               json={"listing_ids": [other["id"]]}, headers=s["rm_auth"])
    token2 = (await client.post(f"{API}/shortlists/{second.json()['id']}/share", json={"channel": "EMAIL"},
                                headers=s["rm_auth"])).json()["token"]
    foreign = form_token((await client.get(f"/s/{token2}")).text)
    assert_problem(await client.post(url, data={"form_token": foreign, "listing_id": s["a"]["id"],
                                                "reaction": "LIKE"}), 422, "validation_error",
                   loc=["body", "form_token"])
    # a JSON post from another origin
    assert_problem(await client.post(url, json={"listing_id": s["a"]["id"], "reaction": "LIKE"},
                                     headers={"Origin": "https://evil.example"}), 403, "forbidden")
    assert await count(engine, feedback) == 0


async def test_feedback_is_rate_limited_per_link_and_address(client, s):
    url = f"/s/{s['token']}/feedback"
    for _ in range(shortlists_service.feedback_limiter.limit):
        assert (await client.post(url, json={"listing_id": s["a"]["id"], "reaction": "LIKE"})).status_code == 201
    assert_problem(await client.post(url, json={"listing_id": s["a"]["id"], "reaction": "LIKE"}), 429, "rate_limited")


async def test_the_rm_of_another_pipeline_cannot_read_the_feedback(client, auth, s):
    _, stranger = await make_rm_with_team(client, auth.admin)
    assert_problem(await client.get(f"{API}/pipelines/{s['pipeline']['id']}/feedback",
                                    headers=auth.rm(stranger["id"])), 404, "pipeline_not_found")


async def test_the_first_reaction_to_a_link_gives_the_rm_one_call_task_due_within_4_hours(client, s):
    """Issue 15 §4: tasks are created automatically when a shortlist gets feedback (one per shared link)."""
    for listing_key, reaction in (("a", "LIKE"), ("b", "DISLIKE")):
        r = await client.post(f"/s/{s['token']}/feedback", json={"listing_id": s[listing_key]["id"],
                                                                "reaction": reaction})
        assert r.status_code == 201, r.text
    tasks = (await client.get(f"{API}/tasks", params={"pipeline_id": s["pipeline"]["id"]},
                              headers=s["rm_auth"])).json()["items"]
    [task] = [t for t in tasks if t["source"] == "SHORTLIST_FEEDBACK"]
    assert (task["type"], task["status"], task["rm_id"]) == ("CALL", "OPEN", s["pipeline"]["rm_id"])
    assert task["due_at"] == "2026-01-17T14:30:00Z"  # the frozen 10:30 + 4 h
