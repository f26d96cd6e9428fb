"""Console forms hold input to the API's rules: bad input re-renders the form, never a 500 (issue 9 items 7, 15)."""
from __future__ import annotations

import pytest

from sales.console.models import console_users
from tests.api.console.test_console_auth import _csrf, _sign_in, _user
from tests.builders import make_pipeline, make_rm, make_team
from tests.checks import count


async def test_rules_form_with_deeply_nested_json_is_422(client, engine):
    """issue 9 item 7: json.loads/json.dumps RecursionError on the rules text was a 500."""
    await _sign_in(client, await _user(engine))
    token = _csrf((await client.get("/console/rules")).text)
    for depth in (40, 5000):
        rules = '{"a":' * depth + "1" + "}" * depth
        response = await client.post("/console/rules", data={"city": "*", "rules": rules, "action": "simulate",
                                                             "csrf_token": token})
        assert response.status_code == 422, response.text[:300]
        assert "nested" in response.text


async def test_rules_form_with_nul_in_a_key_is_422(client, engine):
    await _sign_in(client, await _user(engine))
    token = _csrf((await client.get("/console/rules")).text)
    response = await client.post("/console/rules", data={"city": "*", "rules": '{"timezone\\u0000": "UTC"}',
                                                         "action": "save", "csrf_token": token})
    assert response.status_code == 422 and "NUL" in response.text


@pytest.mark.parametrize("amount", ["١٠٠٠", "1_000", "1e3"])
async def test_deal_value_typed_in_the_board_follows_the_money_rule(client, auth, engine, amount):
    """issue 9 item 15: the board parsed the deal value with Decimal(), which takes non-ASCII digits."""
    team = await make_team(client, auth.admin)
    rm = await make_rm(client, auth.admin, team_id=team["id"])
    pipeline = await make_pipeline(client, auth.admin, rm_id=rm["id"])
    await _sign_in(client, await _user(engine, role="RM", rm_id=rm["id"]))
    token = _csrf((await client.get("/console")).text)
    response = await client.post(f"/console/pipelines/{pipeline['id']}/stage",
                                 data={"stage": "CONTACTED", "deal_value": amount, "csrf_token": token})
    assert response.status_code == 422 and "Enter the deal value as a number" in response.text
    grouped = await client.post(f"/console/pipelines/{pipeline['id']}/stage",
                                data={"stage": "CONTACTED", "deal_value": "₹25,00,000", "csrf_token": token})
    assert grouped.status_code == 303


async def test_nul_in_a_console_form_field_is_422(client, engine):
    """issue 9 item 7: NUL reached PostgreSQL through the forms (sign-in email, new users)."""
    await _sign_in(client, await _user(engine))
    token = _csrf((await client.get("/console/users")).text)
    before = await count(engine, console_users)
    response = await client.post("/console/users", data={"email": "new\x00@mysqrft.com", "password": "long-enough-pw",
                                                         "role": "FINANCE_ADMIN", "csrf_token": token})
    assert response.status_code == 422 and response.json()["errors"][0]["loc"] == ["body", "email"]
    assert await count(engine, console_users) == before
