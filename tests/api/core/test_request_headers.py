"""issue 9 item 7 (headers): odd request headers are 4xx or ignored, never a 500."""
from __future__ import annotations

import re

import pytest

from tests.builders import API
from tests.checks import assert_problem, audit_rows

TEAM = {"name": "South", "city": "Pune"}


@pytest.mark.parametrize("given", ["r" * 65, "has space", "new\u00e9line", "a/b", "x;y=1", "<script>"])
async def test_unusable_request_id_is_replaced_by_a_fresh_one(client, auth, engine, given):
    """An X-Request-ID over 64 characters made every audited write a 500 (the audit column holds 64); one
    with other characters than [A-Za-z0-9._-] ends up in logs. Both are replaced by a fresh id."""
    response = await client.post(f"{API}/teams", json=TEAM,
                                 headers={**auth.admin, "X-Request-ID": given.encode("latin-1")})
    assert response.status_code == 201, response.text
    fresh = response.headers["x-request-id"]
    assert fresh != given and re.fullmatch(r"[0-9a-f]{32}", fresh)
    [entry] = await audit_rows(engine, action="team.created")
    assert entry.request_id == fresh


async def test_a_sane_request_id_of_64_characters_is_kept(client, auth, engine):
    given = "A-z_0.9" * 9 + "x"
    response = await client.post(f"{API}/teams", json=TEAM, headers={**auth.admin, "X-Request-ID": given})
    assert response.status_code == 201 and response.headers["x-request-id"] == given
    [entry] = await audit_rows(engine, action="team.created")
    assert entry.request_id == given


@pytest.mark.parametrize("name", ["X-Note", "User-Agent", "X-Request-ID", "Accept-Language"])
async def test_non_utf8_header_bytes_are_not_a_500(client, auth, name):
    """A header byte that is not UTF-8 failed the middleware's decoding (500, connection dropped)."""
    response = await client.get(f"{API}/teams", headers={**auth.admin, name: b"caf\xe9 \xff\xfe"})
    assert response.status_code == 200, response.text


async def test_non_utf8_bearer_token_is_401(client):
    response = await client.get(f"{API}/teams", headers={"Authorization": b"Bearer \xff\xfe.\xe9"})
    assert_problem(response, 401, "not_authenticated")
