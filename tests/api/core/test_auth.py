"""Authentication and role checks on every endpoint (ARCHITECTURE.md §2.2): 401 before anything, 403 by role."""
from __future__ import annotations

import uuid
from datetime import timedelta

import jwt
import pytest

from sales.core.auth import issue_token
from tests.builders import API
from tests.checks import assert_problem
from tests.conftest import TEST_SECRET

ANY_ID = "00000000-0000-4000-8000-000000000001"
ENDPOINTS = {
    "create team": ("POST", "/teams", {"name": "South", "city": "Bangalore"}),
    "list teams": ("GET", "/teams", None),
    "get team": ("GET", f"/teams/{ANY_ID}", None),
    "update team": ("PUT", f"/teams/{ANY_ID}", {"name": "South"}),
    "create rm": ("POST", "/rms", {"id": ANY_ID, "name": "Priya", "email": "p@mysqrft.com", "city": "Pune"}),
    "list rms": ("GET", "/rms", None),
    "get rm": ("GET", f"/rms/{ANY_ID}", None),
    "update rm": ("PUT", f"/rms/{ANY_ID}", {"name": "Priya"}),
    "rm availability": ("PATCH", f"/rms/{ANY_ID}/availability", {"availability": "OFFLINE"}),
    "add leave": ("POST", f"/rms/{ANY_ID}/leaves", {"start_date": "2026-02-02", "end_date": "2026-02-03"}),
    "list leaves": ("GET", f"/rms/{ANY_ID}/leaves", None),
    "import rms": ("POST", "/rms/import", None),
    "create pipeline": ("POST", "/pipelines", {"lead_id": ANY_ID, "rm_id": ANY_ID, "source": "WEBSITE"}),
    "list pipelines": ("GET", "/pipelines", None),
    "pipeline stats": ("GET", "/pipelines/stats", None),
    "get pipeline": ("GET", f"/pipelines/{ANY_ID}", None),
    "update pipeline": ("PUT", f"/pipelines/{ANY_ID}", {"notes": "x"}),
    "change stage": ("PATCH", f"/pipelines/{ANY_ID}/stage", {"stage": "CONTACTED"}),
    "stage history": ("GET", f"/pipelines/{ANY_ID}/history", None),
    "read clock": ("GET", "/admin/clock", None),
    "set clock": ("PUT", "/admin/clock", {"advance_seconds": 60}),
    "run job": ("POST", "/admin/jobs/sla-sweep/run", None),
    "audit": ("GET", "/audit", None),
}
ADMIN_ONLY = ["create team", "update team", "create rm", "update rm", "import rms", "read clock", "set clock",
              "run job", "audit"]
SELF_SERVICE = ["rm availability", "add leave"]  # RM themself, SUPERVISOR, SALES_ADMIN
PIPELINE_WRITES = ["update pipeline", "change stage"]  # RM, SUPERVISOR, SALES_ADMIN
READS = ["list teams", "get team", "list rms", "get rm", "list leaves", "list pipelines", "pipeline stats",
         "get pipeline", "stage history"]
NON_STAFF_READERS = ["RM", "SUPERVISOR", "FINANCE_ADMIN", "SUPPORT_AGENT", "PRODUCT_MANAGER", "SERVICE", "CUSTOMER"]

FORBIDDEN = sorted({
    *[(name, role) for name in ADMIN_ONLY for role in NON_STAFF_READERS],
    *[(name, role) for name in SELF_SERVICE
      for role in ("FINANCE_ADMIN", "SUPPORT_AGENT", "PRODUCT_MANAGER", "SERVICE", "CUSTOMER")],
    *[(name, role) for name in PIPELINE_WRITES
      for role in ("FINANCE_ADMIN", "SUPPORT_AGENT", "PRODUCT_MANAGER", "SERVICE", "CUSTOMER")],
    *[("create pipeline", role) for role in ("FINANCE_ADMIN", "SUPPORT_AGENT", "PRODUCT_MANAGER", "CUSTOMER")],
    *[(name, "CUSTOMER") for name in READS],
    *[(name, "") for name in ENDPOINTS],  # a valid token without any role
})


async def _call(client, name: str, headers: dict[str, str]):  # type: ignore[no-untyped-def]
    method, path, body = ENDPOINTS[name]
    return await client.request(method, f"{API}{path}", json=body, headers=headers)


def _token(settings, *, secret: str | None = None, ttl: timedelta = timedelta(hours=1), **claims):  # type: ignore[no-untyped-def]
    if secret is None:
        return issue_token(settings, sub=uuid.uuid4(), roles=["SALES_ADMIN"], ttl=ttl, **claims)
    return jwt.encode({"sub": str(uuid.uuid4()), "roles": ["SALES_ADMIN"], "iat": 1_700_000_000,
                       "exp": 4_000_000_000}, secret, algorithm="HS256")


BAD_CREDENTIALS = {
    "missing": lambda s: {},
    "empty bearer": lambda s: {"Authorization": "Bearer "},
    "not a jwt": lambda s: {"Authorization": "Bearer not.a.jwt"},
    "basic scheme": lambda s: {"Authorization": "Basic dXNlcjpwYXNz"},
    "forged signature": lambda s: {"Authorization": f"Bearer {_token(s, secret='another-secret-0123456789abcdefgh')}"},
    "expired": lambda s: {"Authorization": f"Bearer {_token(s, ttl=timedelta(minutes=-5))}"},
    "alg none": lambda s: {"Authorization": "Bearer " + jwt.encode(
        {"sub": str(uuid.uuid4()), "roles": ["SALES_ADMIN"], "iat": 1_700_000_000, "exp": 4_000_000_000},
        None, algorithm="none")},
    "sub not a uuid": lambda s: {"Authorization": "Bearer " + jwt.encode(
        {"sub": "admin", "roles": ["SALES_ADMIN"], "iat": 1_700_000_000, "exp": 4_000_000_000},
        TEST_SECRET, algorithm="HS256")},
    "no exp": lambda s: {"Authorization": "Bearer " + jwt.encode(
        {"sub": str(uuid.uuid4()), "roles": ["SALES_ADMIN"], "iat": 1_700_000_000}, TEST_SECRET, algorithm="HS256")},
}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
async def test_missing_token_is_401_on_every_endpoint(client, endpoint):
    assert_problem(await _call(client, endpoint, {}), 401, "not_authenticated")


@pytest.mark.parametrize("credentials", BAD_CREDENTIALS)
@pytest.mark.parametrize("endpoint", ["create pipeline", "get pipeline", "update rm", "audit"])
async def test_forged_expired_or_malformed_token_is_401(client, settings, endpoint, credentials):
    response = await _call(client, endpoint, BAD_CREDENTIALS[credentials](settings))
    assert_problem(response, 401, "not_authenticated")


@pytest.mark.parametrize(("endpoint", "role"), FORBIDDEN)
async def test_role_that_may_never_do_it_is_403(client, auth, endpoint, role):
    headers = auth.headers(*([role] if role else []), teams=[uuid.UUID(ANY_ID)])
    response = await _call(client, endpoint, headers)
    assert_problem(response, 403, "forbidden")


async def test_token_expired_within_leeway_is_still_accepted(client, auth):
    headers = auth.headers("SALES_ADMIN", ttl=timedelta(seconds=-5))
    response = await client.get(f"{API}/teams", headers=headers)
    assert response.status_code == 200, response.text


async def test_roles_of_other_domains_are_ignored_not_rejected(client, auth):
    """A token may carry roles this service does not know: they grant nothing, and the token stays valid."""
    foreign_only = auth.headers("LISTINGS_EDITOR")
    assert (await client.get("/api/v1/sales/pipelines", headers=foreign_only)).status_code == 403
    mixed = auth.headers("LISTINGS_EDITOR", "SALES_ADMIN")
    assert (await client.get("/api/v1/sales/pipelines", headers=mixed)).status_code == 200
