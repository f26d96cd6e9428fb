"""Rate limits (PRD §8.4, issue 20): per principal and per source address, per route class, 429 with Retry-After;
both counter stores (Redis and in-process) behave alike."""
from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import jwt
import pytest

from sales.app import create_app
from sales.core import auth as core_auth
from sales.settings import RateBudget, Settings
from tests.builders import API
from tests.checks import assert_problem
from tests.conftest import IN_CI

pytestmark = pytest.mark.usefixtures("still_rate_window")  # counted tests never straddle a window

REDIS_URL = "redis://127.0.0.1:6379/14"  # a database index of its own: the tests' counters only
TIGHT = RateBudget(reads=3, writes=2, allocation=2, refunds=1, public=2)
WIDE = RateBudget(reads=1000, writes=1000, allocation=1000, refunds=1000, public=1000)


@pytest.fixture(params=["in_process", "redis"])
def store(request: pytest.FixtureRequest) -> str | None:
    if request.param == "redis":
        redis = pytest.importorskip("redis")
        try:
            redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
        except redis.RedisError as exc:
            if IN_CI:  # CI starts Redis (.ci/run): its absence there is a failure, not a skip
                pytest.fail(f"no Redis at {REDIS_URL}: {exc}")
            pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
        return REDIS_URL
    return None


@pytest.fixture
async def limited(settings: Settings, engine, store) -> AsyncIterator[Callable[..., Any]]:  # type: ignore[no-untyped-def]
    """An app with rate limits on (tight unless told otherwise) and a client from a fresh source address
    (Redis counters outlive a test: a new address and new subs keep the tests apart)."""
    made: list[httpx.AsyncClient] = []

    def make(principal: RateBudget = TIGHT, address: RateBudget = WIDE, service: RateBudget = WIDE,
             address_text: str | None = None, app: Any = None) -> tuple[Any, httpx.AsyncClient]:
        app = app or create_app(settings.model_copy(update={
            "rate_limits_enabled": True, "redis_url": store, "rate_limit_principal": principal,
            "rate_limit_address": address, "rate_limit_service": service}), engine=engine)
        address_text = address_text or f"10.{random.randrange(256)}.{random.randrange(256)}.{random.randrange(256)}"
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address_text, 40000))
        client = httpx.AsyncClient(transport=transport, base_url="http://test")
        made.append(client)
        return app, client

    yield make
    for client in made:
        await client.aclose()


async def test_a_principal_over_its_read_budget_gets_429_with_retry_after(limited, auth):
    _, client = limited()
    admin = auth.admin
    for _ in range(3):
        assert (await client.get(f"{API}/teams", headers=admin)).status_code == 200
    refused = await client.get(f"{API}/teams", headers=admin)
    problem = assert_problem(refused, 429, "rate_limited")
    assert problem["route_class"] == "reads" and problem["limit"] == 3
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["x-content-type-options"] == "nosniff"  # the security headers still apply
    # Another principal from the same address has its own budget.
    assert (await client.get(f"{API}/teams", headers=auth.admin)).status_code == 200


async def test_route_classes_have_separate_budgets(limited, auth):
    """Reads spent does not stop writes; the refunds budget (1) is tighter than the writes budget (2)."""
    _, client = limited()
    admin = auth.admin
    for _ in range(3):
        await client.get(f"{API}/teams", headers=admin)
    assert_problem(await client.get(f"{API}/teams", headers=admin), 429, "rate_limited")
    created = await client.post(f"{API}/teams", json={"name": "North", "city": "Pune"}, headers=admin)
    assert created.status_code == 201
    rm = auth.headers("RM")
    assert (await client.post(f"{API}/refunds", json={}, headers=rm)).status_code == 403  # counted all the same
    problem = assert_problem(await client.post(f"{API}/refunds", json={}, headers=rm), 429, "rate_limited")
    assert problem["route_class"] == "refunds"


async def test_a_source_address_over_its_budget_gets_429_signed_in_or_not(limited, auth):
    _, client = limited(principal=WIDE, address=RateBudget(reads=2))
    assert (await client.get(f"{API}/teams")).status_code == 401
    assert (await client.get(f"{API}/teams", headers=auth.admin)).status_code == 200
    assert_problem(await client.get(f"{API}/teams", headers=auth.admin), 429, "rate_limited")
    _, elsewhere = limited(principal=WIDE, address=RateBudget(reads=2), app=client._transport.app)
    assert (await elsewhere.get(f"{API}/teams", headers=auth.admin)).status_code == 200


async def test_a_forged_token_cannot_spend_someone_elses_budget(limited, auth, settings):
    """The principal's counter is keyed on a verified `sub`: tokens with the victim's sub and a wrong
    signature are 401s counted against the sender's address only."""
    app, attacker = limited()
    victim = uuid.uuid4()
    forged = jwt.encode({"sub": str(victim), "roles": ["SALES_ADMIN"], "iat": 1, "exp": 4_000_000_000},
                        "not-the-secret-at-all-not-the-secret", algorithm="HS256")
    for _ in range(5):
        assert (await attacker.get(f"{API}/teams", headers={"Authorization": f"Bearer {forged}"})).status_code == 401
    _, client = limited(app=app)
    assert (await client.get(f"{API}/teams", headers=auth.headers("SALES_ADMIN", sub=victim))).status_code == 200


async def test_service_tokens_have_their_own_budget_and_no_address_limit(limited, auth):
    _, client = limited(principal=RateBudget(reads=1), address=RateBudget(reads=1),
                        service=RateBudget(reads=4))
    service = auth.headers("SERVICE")
    for _ in range(4):
        assert (await client.get(f"{API}/teams", headers=service)).status_code == 200
    problem = assert_problem(await client.get(f"{API}/teams", headers=service), 429, "rate_limited")
    assert problem["limit"] == 4


async def test_probes_are_never_limited(limited):
    _, client = limited(address=RateBudget(reads=1))
    for _ in range(3):
        assert (await client.get("/healthz")).status_code == 200


async def test_the_token_is_verified_once_per_request(limited, auth, monkeypatch):
    """The limiter, the idempotency check and the route share one verification."""
    calls = []
    real = core_auth.decode_token

    def counting(token: str, settings: Settings) -> Any:
        calls.append(token)
        return real(token, settings)

    monkeypatch.setattr(core_auth, "decode_token", counting)
    _, client = limited()
    response = await client.post(f"{API}/teams", json={"name": "South", "city": "Pune"},
                                 headers={**auth.admin, "Idempotency-Key": "k-1"})
    assert response.status_code == 201
    assert len(calls) == 1


@pytest.mark.parametrize("store", ["redis"], indirect=True)  # in-process counters are per process by design
async def test_replicas_share_the_budget_through_redis(limited, auth, store):
    first, client = limited()
    second, other = limited()
    admin = auth.admin
    for c in (client, other, client):
        assert (await c.get(f"{API}/teams", headers=admin)).status_code == 200
    assert_problem(await other.get(f"{API}/teams", headers=admin), 429, "rate_limited")


async def test_an_unreachable_redis_falls_back_to_counting_in_process(settings, engine, auth):
    app = create_app(settings.model_copy(update={
        "rate_limits_enabled": True, "redis_url": "redis://127.0.0.1:1/0", "rate_limit_principal": TIGHT,
        "rate_limit_address": WIDE}), engine=engine)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=("10.9.9.9", 1))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        admin = auth.admin
        for _ in range(3):
            assert (await client.get(f"{API}/teams", headers=admin)).status_code == 200
        assert_problem(await client.get(f"{API}/teams", headers=admin), 429, "rate_limited")


async def test_every_published_operation_documents_429(client):
    document = (await client.get("/openapi.json")).json()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            response = operation["responses"].get("429")
            assert response is not None, f"{method.upper()} {path}"
            assert "Retry-After" in response["headers"]
