"""Money input: numbers or plain decimal strings, nothing else `Decimal()` happens to accept (issue 9 item 15)."""
from __future__ import annotations

import pytest

from tests.builders import API, make_pipeline, make_rm_with_team
from tests.checks import assert_problem


@pytest.mark.parametrize("amount", ["1_000", "١٠٠٠", "１０００", " 1000", "1e3", "NaN", "Infinity", "+1000"])
async def test_amount_strings_outside_plain_decimal_notation_are_422(client, auth, amount):
    _, rm = await make_rm_with_team(client, auth.admin)
    response = await client.put(f"{API}/rms/{rm['id']}", json={"base_salary": amount}, headers=auth.admin)
    assert_problem(response, 422, "validation_error", loc=["body", "base_salary"])
    assert (await client.get(f"{API}/rms/{rm['id']}", headers=auth.admin)).json()["base_salary"] == 40000.00


async def test_json_numbers_and_plain_strings_are_amounts(client, auth):
    _, rm = await make_rm_with_team(client, auth.admin)
    pipeline = await make_pipeline(client, auth.admin, rm_id=rm["id"])
    for raw, expected in (('"2500.50"', "2500.50"), ("2500.5", "2500.50"), ("1e3", "1000.00"), ("7", "7.00")):
        response = await client.put(f"{API}/pipelines/{pipeline['id']}", content='{"deal_value": %s}' % raw,
                                    headers={**auth.admin, "Content-Type": "application/json"})
        assert response.status_code == 200, response.text
        assert f'"deal_value":{expected}' in response.text
