"""JWT validation, roles and the principal every use case receives (ARCHITECTURE.md §2.2)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum
from functools import lru_cache
from uuid import UUID

import jwt

from sales.core.clock import wall_now
from sales.core.errors import NotAuthenticated
from sales.settings import Settings


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


@lru_cache(maxsize=1)
def _jwks_client(url: str) -> jwt.PyJWKClient:
    return jwt.PyJWKClient(url, cache_keys=True)


def decode_token(token: str, settings: Settings) -> Principal:
    """Validate signature, expiry (real wall clock) and claims; any failure is 401."""
    try:
        if settings.jwt_jwks_url and jwt.get_unverified_header(token).get("alg") == "RS256":
            key = _jwks_client(settings.jwt_jwks_url).get_signing_key_from_jwt(token).key
            claims = jwt.decode(token, key, algorithms=["RS256"], options={"require": ["exp", "iat", "sub"]})
        else:
            claims = jwt.decode(token, settings.effective_jwt_secret, algorithms=["HS256"],
                                options={"require": ["exp", "iat", "sub"]}, leeway=30)
    except jwt.ExpiredSignatureError:
        raise NotAuthenticated("token expired") from None
    except jwt.PyJWTError as exc:
        raise NotAuthenticated(f"invalid token: {exc}") from None
    try:
        # Roles of other domains are ignored: a token without any of ours is authenticated but allowed nothing.
        roles = frozenset(Role(r) for r in claims.get("roles") or [] if r in Role._value2member_map_)
        return Principal(
            sub=UUID(str(claims["sub"])), roles=roles,
            team_ids=frozenset(UUID(str(t)) for t in claims.get("team_ids") or []),
            name=claims.get("name"), sid=claims.get("sid"), device_id=claims.get("device_id"),
        )
    except (ValueError, TypeError):
        raise NotAuthenticated("invalid token claims") from None


def issue_token(settings: Settings, *, sub: UUID, roles: list[str], team_ids: list[UUID] | None = None,
                name: str | None = None, ttl: timedelta = timedelta(hours=12), **extra: str) -> str:
    """Dev tokens (CLI) and test tokens; the identity service issues the real ones."""
    issued = wall_now()
    claims = {"sub": str(sub), "roles": roles, "team_ids": [str(t) for t in team_ids or []],
              "iat": int(issued.timestamp()), "exp": int((issued + ttl).timestamp()), **extra}
    if name:
        claims["name"] = name
    return jwt.encode(claims, settings.effective_jwt_secret, algorithm="HS256")
