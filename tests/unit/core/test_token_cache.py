"""Issue 19: a verified bearer token is kept per process (verification is ~80 us of CPU per request), but never
beyond the token's own expiry (leeway included) nor a minute, and a failed verification is never kept."""
from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from sales.core import auth
from sales.core.auth import decode_token, issue_token
from sales.core.errors import NotAuthenticated
from sales.settings import Settings

SECRET = "token-cache-test-secret-0123456789abcdef"


@pytest.fixture
def settings() -> Settings:
    return Settings(env="test", jwt_secret=SECRET, database_url="sqlite+aiosqlite://")


@pytest.fixture
def verifications(monkeypatch):  # type: ignore[no-untyped-def]
    calls: list[str] = []
    real = auth._verified_claims

    def counting(token, settings):  # type: ignore[no-untyped-def]
        calls.append(token)
        return real(token, settings)

    monkeypatch.setattr(auth, "_verified_claims", counting)
    monkeypatch.setattr(auth, "_verified", {})
    return calls


def test_same_token_is_verified_once(settings, verifications) -> None:
    token = issue_token(settings, sub=uuid.uuid4(), roles=["RM"])
    first, second = decode_token(token, settings), decode_token(token, settings)
    assert first == second and len(verifications) == 1


def test_kept_at_most_a_minute(settings, verifications, monkeypatch) -> None:
    token = issue_token(settings, sub=uuid.uuid4(), roles=["RM"])
    decode_token(token, settings)
    later = auth.wall_now() + timedelta(seconds=auth.VERIFIED_TTL_SECONDS + 1)
    monkeypatch.setattr(auth, "wall_now", lambda: later)
    decode_token(token, settings)
    assert len(verifications) == 2


def test_never_past_the_tokens_expiry(settings, verifications, monkeypatch) -> None:
    token = issue_token(settings, sub=uuid.uuid4(), roles=["RM"], ttl=timedelta(seconds=-(auth.LEEWAY_SECONDS - 5)))
    decode_token(token, settings)  # expired 25 s ago: inside the 30 s leeway, so accepted and kept for 5 s only
    later = auth.wall_now() + timedelta(seconds=10)
    monkeypatch.setattr(auth, "wall_now", lambda: later)
    decode_token(token, settings)  # verified again (by PyJWT's own clock), not served from the cache
    assert len(verifications) == 2


def test_failures_are_not_kept(settings, verifications) -> None:
    other = Settings(env="test", jwt_secret="another-secret-0123456789abcdef-xyz", database_url="sqlite+aiosqlite://")
    token = issue_token(other, sub=uuid.uuid4(), roles=["RM"])
    for _ in range(2):
        with pytest.raises(NotAuthenticated):
            decode_token(token, settings)
    assert len(verifications) == 2
    # the same token under the secret that signed it is another cache entry
    assert decode_token(token, other).roles == frozenset({auth.Role.RM})
