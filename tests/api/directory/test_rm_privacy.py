"""Issue 9 item 14: staff without a need read RMs' contact details masked and no base salary.

The RM themself, their supervisor and SALES_ADMIN see the whole record; FINANCE_ADMIN sees the salary
(commissions are capped at 3x base salary, CMR-005) but masked contacts; SUPPORT_AGENT, PRODUCT_MANAGER
and SERVICE see masked contacts and `base_salary: null`.
"""
from __future__ import annotations

import uuid

import pytest

from tests.builders import API, make_rm, make_team

PHONE, EMAIL = "+91-9811122233", "kavya.rao@mysqrft.com"
MASKED = {"phone": "+91-98XXXXXXXX", "email": "k***@mysqrft.com"}


@pytest.fixture
async def rm(client, auth):  # type: ignore[no-untyped-def]
    team = await make_team(client, auth.admin)
    return await make_rm(client, auth.admin, team_id=team["id"], phone=PHONE, email=EMAIL,
                         base_salary="52000.00")


def _headers(auth, who: str, rm: dict) -> dict[str, str]:  # type: ignore[no-untyped-def,type-arg]
    if who == "self":
        return auth.rm(uuid.UUID(rm["id"]))
    if who == "supervisor":
        return auth.supervisor(uuid.UUID(rm["team_id"]))
    return auth.headers(who)


async def _both_reads(client, headers, rm_id):  # type: ignore[no-untyped-def]
    one = await client.get(f"{API}/rms/{rm_id}", headers=headers)
    listed = await client.get(f"{API}/rms", headers=headers)
    assert one.status_code == 200 and listed.status_code == 200, (one.text, listed.text)
    [same] = [r for r in listed.json()["items"] if r["id"] == rm_id]
    assert same == one.json()
    return one


@pytest.mark.parametrize("who", ["SALES_ADMIN", "self", "supervisor"])
async def test_the_rm_their_supervisor_and_admin_see_the_whole_record(client, auth, rm, who):
    response = await _both_reads(client, _headers(auth, who, rm), rm["id"])
    assert response.json() == rm
    assert (response.json()["phone"], response.json()["email"]) == (PHONE, EMAIL)
    assert '"base_salary":52000.00' in response.text


@pytest.mark.parametrize("role", ["SUPPORT_AGENT", "PRODUCT_MANAGER", "SERVICE"])
async def test_staff_without_a_need_get_masked_contacts_and_no_salary(client, auth, rm, role):
    """issue 9 item 14"""
    response = await _both_reads(client, auth.headers(role), rm["id"])
    assert response.json() == {**rm, **MASKED, "base_salary": None}
    assert "9811122233" not in response.text and "kavya.rao" not in response.text


async def test_finance_admin_sees_the_salary_but_masked_contacts(client, auth, rm):
    """issue 9 item 14: FINANCE_ADMIN needs base salaries for the commission cap (CMR-005), not contacts."""
    response = await _both_reads(client, auth.headers("FINANCE_ADMIN"), rm["id"])
    assert response.json() == {**rm, **MASKED}
    assert '"base_salary":52000.00' in response.text


async def test_another_teams_supervisor_sees_the_record_masked_when_also_org_wide(client, auth, rm):
    """A supervisor of another team who also holds an org-wide role reads the RM, but does not manage them."""
    other_team = await make_team(client, auth.admin)
    headers = auth.headers("SUPERVISOR", "SUPPORT_AGENT", teams=[uuid.UUID(other_team["id"])])
    response = await _both_reads(client, headers, rm["id"])
    assert response.json() == {**rm, **MASKED, "base_salary": None}
