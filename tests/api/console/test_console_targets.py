"""The console's targets page (issue 13): an RM's targets with progress bars and their team's leaderboard; a
supervisor's team leaderboard; strict CSP markup."""
from __future__ import annotations

from decimal import Decimal

import pytest

from tests.api.console.test_console_auth import _sign_in, _user
from tests.api.console.test_console_upsells import assert_csp_clean
from tests.api.targets.helpers import sell, start, target, team_of

PAGE = "/console/targets"


@pytest.mark.parametrize("role,status", [
    ("RM", 200), ("SUPERVISOR", 200), ("SALES_ADMIN", 200), ("FINANCE_ADMIN", 200), ("PRODUCT_MANAGER", 403),
    ("SUPPORT_AGENT", 403),
])
async def test_each_role_sees_or_is_refused_the_page(client, auth, engine, role, status):
    plan = await start(client, auth)
    team, [priya, arjun] = await team_of(client, auth.admin, "Priya Patel", "Arjun Rao")
    await target(client, auth.admin, priya["id"], target_value=Decimal("2000.00"))
    await target(client, auth.admin, arjun["id"], target_value=Decimal("1000.00"))
    await sell(client, auth, plan, rm_id=priya["id"], amount="1500.00", paid_at="2026-01-05T10:00:00Z")
    email = await _user(engine, role=role, rm_id=priya["id"] if role == "RM" else None,
                        teams=[team["id"]] if role == "SUPERVISOR" else None)
    await _sign_in(client, email)
    page = await client.get(PAGE)
    assert page.status_code == status, page.text
    if status == 403:
        assert 'href="/console/targets"' not in page.text
        return
    assert_csp_clean(page.text)
    assert 'href="/console/targets" aria-current="page">Targets</a>' in page.text
    assert 'id="targets-table"' in page.text
    assert 'value="75.00" aria-label="Revenue: 75.00% of target"' in page.text  # priya: 1500 of 2000
    has_board = "Revenue leaderboard" in page.text
    assert has_board is (role in ("RM", "SUPERVISOR"))
    if role == "RM":
        assert "Arjun Rao" in page.text  # on the leaderboard, not among my targets
        assert page.text.count('class="target-progress"') == 3  # 2 board rows + my one target


async def test_signed_out_goes_to_the_login_page(client):
    response = await client.get(PAGE)
    assert response.status_code == 303 and response.headers["location"].startswith("/console/login")
