"""Which tokens each configuration accepts, and claims of exactly the documented types (ARCHITECTURE §2.2)."""
from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from sales.app import create_app
from sales.core import auth as core_auth
from sales.settings import DEV_JWT_SECRET, Settings
from tests.builders import API
from tests.checks import assert_problem
from tests.conftest import TEST_SECRET

JWKS_URL = "https://id.mysqrft.example/.well-known/jwks.json"
KID = "identity-2026"
PII_KEY = "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="


@pytest.fixture(scope="module")
def identity_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks(monkeypatch, identity_key):  # type: ignore[no-untyped-def]
    """The identity service's JWKS, as PyJWKClient would fetch it from JWKS_URL."""
    public = RSAAlgorithm.to_jwk(identity_key.public_key(), as_dict=True)
    fetched: list[str] = []

    def fetch_data(client: jwt.PyJWKClient) -> dict[str, Any]:
        fetched.append(client.uri)
        return {"keys": [{**public, "kid": KID, "use": "sig", "alg": "RS256"}]}

    monkeypatch.setattr(jwt.PyJWKClient, "fetch_data", fetch_data)
    core_auth._jwks_client.cache_clear()
    yield fetched
    core_auth._jwks_client.cache_clear()


def _claims(**overrides: Any) -> dict[str, Any]:
    return {"sub": str(uuid.uuid4()), "roles": ["SALES_ADMIN"], "team_ids": [], "iat": 1_700_000_000,
            "exp": 4_000_000_000, **overrides}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _client_for(settings: Settings, engine) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    app = create_app(settings, engine=engine)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


@pytest.fixture
async def jwks_production(settings, engine, jwks):  # type: ignore[no-untyped-def]
    """SALES_ENV=production with SALES_JWT_JWKS_URL and no SALES_JWT_SECRET: the configuration of issue 9 item 1."""
    prod = Settings(env="production", database_url=settings.database_url, jwt_jwks_url=JWKS_URL, pii_key=PII_KEY,
                    log_level="WARNING")
    async for client in _client_for(prod, engine):
        yield client


@pytest.fixture
async def jwks_development(settings, engine, jwks):  # type: ignore[no-untyped-def]
    dev = Settings(env="development", database_url=settings.database_url, jwt_jwks_url=JWKS_URL,
                   log_level="WARNING")
    async for client in _client_for(dev, engine):
        yield client


def _rs256(identity_key: rsa.RSAPrivateKey, **claims: Any) -> str:
    return jwt.encode(_claims(**claims), identity_key, algorithm="RS256", headers={"kid": KID})


@pytest.mark.parametrize("secret", [DEV_JWT_SECRET, TEST_SECRET, "the-attackers-own-key-0123456789abcdef"])
async def test_hs256_admin_token_is_401_when_production_uses_jwks(jwks_production, secret):
    """issue 9 item 1: an HS256 token, even signed with the development secret literal, is not SALES_ADMIN."""
    forged = jwt.encode(_claims(), secret, algorithm="HS256")
    assert_problem(await jwks_production.get(f"{API}/teams", headers=_bearer(forged)), 401, "not_authenticated")
    audit = await jwks_production.get(f"{API}/audit", headers=_bearer(forged))
    assert_problem(audit, 401, "not_authenticated")


async def test_rs256_tokens_from_the_jwks_are_accepted(jwks_production, identity_key, jwks):
    """issue 9 item 1: the configured JWKS still signs real tokens in, roles and all."""
    response = await jwks_production.get(f"{API}/teams", headers=_bearer(_rs256(identity_key)))
    assert response.status_code == 200, response.text
    assert jwks == [JWKS_URL]
    rm_only = _rs256(identity_key, roles=["RM"])
    assert_problem(await jwks_production.get(f"{API}/audit", headers=_bearer(rm_only)), 403, "forbidden")


async def test_rs256_token_signed_by_another_key_is_401(jwks_production):
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(_claims(), stranger, algorithm="RS256", headers={"kid": KID})
    assert_problem(await jwks_production.get(f"{API}/teams", headers=_bearer(forged)), 401, "not_authenticated")


async def test_outside_production_jwks_alone_still_refuses_hs256(jwks_development, identity_key):
    """issue 9 item 1: the development fallback secret never applies when a JWKS is configured."""
    forged = jwt.encode(_claims(), DEV_JWT_SECRET, algorithm="HS256")
    assert_problem(await jwks_development.get(f"{API}/teams", headers=_bearer(forged)), 401, "not_authenticated")
    assert (await jwks_development.get(f"{API}/teams", headers=_bearer(_rs256(identity_key)))).status_code == 200


async def test_rs256_token_is_401_when_only_a_secret_is_configured(client, identity_key, jwks):
    """issue 9 item 1: with SALES_JWT_SECRET, only HS256 tokens are accepted."""
    response = await client.get(f"{API}/teams", headers=_bearer(_rs256(identity_key)))
    assert_problem(response, 401, "not_authenticated")
    assert jwks == []  # no key was even looked up


async def test_the_configured_secret_replaces_the_development_one(client):
    """issue 9 item 1: a configured secret is the only HS256 key (the dev literal signs nothing in)."""
    forged = jwt.encode(_claims(), DEV_JWT_SECRET, algorithm="HS256")
    assert_problem(await client.get(f"{API}/teams", headers=_bearer(forged)), 401, "not_authenticated")


ANOTHER_UUID = str(uuid.uuid4())
BAD_CLAIMS: dict[str, Callable[[], dict[str, Any]]] = {
    "roles as an object": lambda: _claims(roles={"SALES_ADMIN": True}),
    "roles as a string": lambda: _claims(roles="SALES_ADMIN"),
    "roles as a number": lambda: _claims(roles=1),
    "roles as null": lambda: _claims(roles=None),
    "roles holding a non-string": lambda: _claims(roles=["SALES_ADMIN", 7]),
    "roles holding a list": lambda: _claims(roles=[["SALES_ADMIN"]]),
    "team_ids as a string": lambda: _claims(team_ids=ANOTHER_UUID),
    "team_ids holding a number": lambda: _claims(team_ids=[1]),
    "team_ids holding a non-uuid": lambda: _claims(team_ids=["team-1"]),
    "team_ids holding a braced uuid": lambda: _claims(team_ids=["{" + ANOTHER_UUID + "}"]),
    "sub as a number": lambda: _claims(sub=12345678901234567890),
    "sub as a list": lambda: _claims(sub=[ANOTHER_UUID]),
    "sub as a urn": lambda: _claims(sub=f"urn:uuid:{ANOTHER_UUID}"),
    "sub as 32 hex digits": lambda: _claims(sub=uuid.UUID(ANOTHER_UUID).hex),
    "sub with misplaced hyphens": lambda: _claims(sub=uuid.UUID(ANOTHER_UUID).hex + "----"),
    "name as an object": lambda: _claims(name={"first": "Priya"}),
    "sid as a number": lambda: _claims(sid=42),
    "device_id as a list": lambda: _claims(device_id=["laptop"]),
    "name as null": lambda: _claims(name=None),
    "exp as a string": lambda: _claims(exp="4000000000"),
    "iat as a string": lambda: _claims(iat="1700000000"),
    "nbf as true": lambda: _claims(nbf=True),
}


@pytest.mark.parametrize("claims", BAD_CLAIMS)
async def test_claims_of_the_wrong_type_are_401(client, claims):
    """issue 9 item 11: `roles` is a list of strings (a string is not split into letters), `team_ids` a list of
    UUID strings, `sub` a UUID string, `name`/`sid`/`device_id` strings, `exp`/`iat`/`nbf` numbers; anything
    else is refused, not coerced."""
    token = jwt.encode(BAD_CLAIMS[claims](), TEST_SECRET, algorithm="HS256")
    body = assert_problem(await client.get(f"{API}/teams", headers=_bearer(token)), 401, "not_authenticated")
    assert body["detail"].startswith("invalid token")


@pytest.mark.parametrize("claims", [
    _claims(),
    _claims(sub=str(uuid.uuid4()).upper(), roles=["SALES_ADMIN", "LISTINGS_EDITOR"], team_ids=[ANOTHER_UUID]),
    {key: value for key, value in _claims().items() if key != "team_ids"},
    _claims(name="Priya Patel", sid="a" * 64, device_id="b" * 43),
], ids=["plain", "upper-case uuid and a foreign role", "no team_ids", "optional strings"])
async def test_well_typed_claims_are_accepted(client, claims):
    token = jwt.encode(claims, TEST_SECRET, algorithm="HS256")
    response = await client.get(f"{API}/teams", headers=_bearer(token))
    assert response.status_code == 200, response.text
