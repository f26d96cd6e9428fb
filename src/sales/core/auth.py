"""JWT validation, roles and the principal every use case receives (ARCHITECTURE.md §2.2)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any
from uuid import UUID

import jwt

from sales.core.clock import wall_now
from sales.core.errors import NotAuthenticated
from sales.settings import ConfigurationError, Settings


class Role(StrEnum):
    RM = "RM"
    SUPERVISOR = "SUPERVISOR"
    FINANCE_ADMIN = "FINANCE_ADMIN"
    SUPPORT_AGENT = "SUPPORT_AGENT"
    PRODUCT_MANAGER = "PRODUCT_MANAGER"
    SALES_ADMIN = "SALES_ADMIN"
    CUSTOMER = "CUSTOMER"
    SERVICE = "SERVICE"


# Staff roles that may read across the organisation (PII masked for them).
ORG_WIDE_READERS = frozenset({Role.SALES_ADMIN, Role.FINANCE_ADMIN, Role.SUPPORT_AGENT,
                              Role.PRODUCT_MANAGER, Role.SERVICE})


@dataclass(frozen=True, slots=True)
class Principal:
    sub: UUID
    roles: frozenset[Role]
    team_ids: frozenset[UUID] = field(default_factory=frozenset)
    name: str | None = None
    sid: str | None = None
    device_id: str | None = None

    def has(self, *roles: Role) -> bool:
        return not self.roles.isdisjoint(roles)

    @property
    def is_admin(self) -> bool:
        return Role.SALES_ADMIN in self.roles

    @property
    def reads_org_wide(self) -> bool:
        return not self.roles.isdisjoint(ORG_WIDE_READERS)

    @property
    def supervised_teams(self) -> frozenset[UUID]:
        return self.team_ids if Role.SUPERVISOR in self.roles else frozenset()

    def supervises(self, team_id: UUID | None) -> bool:
        return team_id is not None and team_id in self.supervised_teams

    @property
    def primary_role(self) -> str:
        return sorted(self.roles)[0] if self.roles else ""


_NUMERIC_DATES = ("exp", "iat", "nbf")
_UUID_TEXT = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


@lru_cache(maxsize=1)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(url, cache_keys=True, timeout=5)


LEEWAY_SECONDS = 30
# Verified tokens, kept per process (issue 19: verifying costs ~80 us of CPU per request; a client sends the same
# token for hours). An entry lives until the token expires (as jwt.decode would judge it, leeway included) and at
# most VERIFIED_TTL_SECONDS, so a JWKS key withdrawn from the identity service stops working within a minute.
# Failures are never kept: a token is verified again until it passes.
VERIFIED_TTL_SECONDS = 60.0
VERIFIED_MAX = 10_000
_verified: dict[tuple[str, str | None, str | None], tuple[Principal, float]] = {}


def decode_token(token: str, settings: Settings) -> Principal:
    """Validate signature, expiry (real wall clock) and claims; any failure is 401."""
    key = (token, settings.hs256_secret, settings.jwt_jwks_url)
    now = wall_now().timestamp()
    cached = _verified.get(key)
    if cached is not None and now < cached[1]:
        return cached[0]
    try:
        claims = _verified_claims(token, settings)
    except jwt.ExpiredSignatureError:
        raise NotAuthenticated("token expired") from None
    except jwt.PyJWTError as exc:
        raise NotAuthenticated(f"invalid token: {exc}") from None
    try:
        principal = _principal(claims)
    except (ValueError, TypeError) as exc:
        raise NotAuthenticated(f"invalid token claims: {exc}") from None
    if len(_verified) >= VERIFIED_MAX:
        _verified.clear()
    _verified[key] = (principal, min(claims["exp"] + LEEWAY_SECONDS, now + VERIFIED_TTL_SECONDS))
    return principal


_VERIFIED = "verified_bearer"


def principal_of(state: dict[str, Any], token: str, settings: Settings) -> Principal:
    """decode_token, once per request: the outcome is kept in the request's ASGI state, so the rate limiter,
    the idempotency check and the route's dependency share one verification of the same token."""
    cached = state.get(_VERIFIED)
    if cached is None or cached[0] != token:
        try:
            cached = (token, decode_token(token, settings))
        except NotAuthenticated as exc:
            cached = (token, exc.detail)
        state[_VERIFIED] = cached
    if isinstance(cached[1], str):
        raise NotAuthenticated(cached[1])
    return cached[1]


def bearer_token(authorization: str | None) -> str | None:
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:]
    return None


def _verified_claims(token: str, settings: Settings) -> dict[str, Any]:
    """Only the algorithm the configuration names is accepted: RS256 with a JWKS, HS256 with a secret."""
    algorithm = jwt.get_unverified_header(token).get("alg")
    if algorithm == "RS256" and settings.jwt_jwks_url:
        key: Any = _signing_key(settings.jwt_jwks_url, token)
    elif algorithm == "HS256" and settings.hs256_secret:
        key = settings.hs256_secret
    else:
        raise jwt.InvalidAlgorithmError("the token's algorithm is not accepted here")
    return jwt.decode(token, key, algorithms=[algorithm], options={"require": ["exp", "iat", "sub"]},
                      leeway=LEEWAY_SECONDS)


def _signing_key(url: str, token: str) -> Any:
    """The token's key from the identity service's JWKS (OWASP API10): a response that is not a usable key set
    (HTML, a list, malformed JSON, a key that does not parse) is a failed verification (401), never a 500."""
    try:
        return _jwks_client(url).get_signing_key_from_jwt(token).key
    except jwt.PyJWTError:
        raise
    except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:
        raise jwt.PyJWKClientError(f"the key set at the JWKS URL is unusable ({type(exc).__name__})") from None


def _principal(claims: dict[str, Any]) -> Principal:
    """Claims of exactly the documented types (ARCHITECTURE §2.2); anything else is refused, not coerced."""
    for name in _NUMERIC_DATES:  # PyJWT takes "4000000000" or true as a time too
        if name in claims and (isinstance(claims[name], bool) or not isinstance(claims[name], int | float)):
            raise TypeError(f"{name} must be a number of seconds")
    # Roles of other domains are ignored: a token without any of ours is authenticated but allowed nothing.
    roles = frozenset(Role(r) for r in _strings(claims, "roles") if r in Role._value2member_map_)
    return Principal(sub=_uuid(claims["sub"], "sub"), roles=roles,
                     team_ids=frozenset(_uuid(t, "team_ids") for t in _strings(claims, "team_ids")),
                     name=_optional_string(claims, "name"), sid=_optional_string(claims, "sid"),
                     device_id=_optional_string(claims, "device_id"))


def _strings(claims: dict[str, Any], name: str) -> list[str]:
    value = claims.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TypeError(f"{name} must be a list of strings")
    return value


def _uuid(value: Any, name: str) -> UUID:
    # Only the canonical text: UUID() alone also takes integers' hex, braces, URNs and misplaced hyphens.
    if not isinstance(value, str) or not _UUID_TEXT.fullmatch(value):
        raise ValueError(f"{name} must hold UUIDs as 8-4-4-4-12 strings")
    return UUID(value)


def _optional_string(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if name in claims and not isinstance(value, str):
        raise TypeError(f"{name} must be a string")
    return value


def issue_token(settings: Settings, *, sub: UUID, roles: list[str], team_ids: list[UUID] | None = None,
                name: str | None = None, ttl: timedelta = timedelta(hours=12), **extra: str) -> str:
    """Dev tokens (CLI) and test tokens; the identity service issues the real ones."""
    issued = wall_now()
    claims = {"sub": str(sub), "roles": roles, "team_ids": [str(t) for t in team_ids or []],
              "iat": int(issued.timestamp()), "exp": int((issued + ttl).timestamp()), **extra}
    if name:
        claims["name"] = name
    if not settings.hs256_secret:
        raise ConfigurationError("SALES_JWT_SECRET: needed to issue HS256 tokens (this configuration accepts "
                                 "only RS256 tokens from SALES_JWT_JWKS_URL)")
    return jwt.encode(claims, settings.hs256_secret, algorithm="HS256")
