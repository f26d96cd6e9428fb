"""Pure console security policy: passwords (Argon2id), tokens, CSRF comparison, idle expiry, rate limits."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

IDLE_TIMEOUT = timedelta(minutes=30)  # PRD §8.4, measured on the business clock (ARCHITECTURE §2.4)
# Sign-in throttling: failures inside the window, per account and per client IP.
ATTEMPT_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_IP = 20
MIN_PASSWORD_LENGTH = 10

_hasher = PasswordHasher()  # Argon2id with the library's (RFC 9106 low-memory) defaults
# Verified against when the email is unknown, so a miss costs as much time as a wrong password.
_DUMMY_HASH = _hasher.hash("not-a-real-password-" + secrets.token_hex(8))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str) -> str | None:
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters"
    return None


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """Sessions are stored by digest: a leaked table does not yield usable cookies."""
    return hashlib.sha256(token.encode()).hexdigest()


def same_token(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


def is_idle_expired(last_seen_at: datetime, now: datetime) -> bool:
    return now - last_seen_at >= IDLE_TIMEOUT


@dataclass(frozen=True)
class Throttle:
    """Why sign-in is refused for now, and until when."""

    scope: str  # "account" | "ip"
    retry_after_seconds: int


def throttle(*, account_failures: list[datetime], ip_failures: list[datetime], now: datetime) -> Throttle | None:
    """Refuse further attempts once an account or an IP has too many recent failures (inputs: failure times
    inside ATTEMPT_WINDOW, the account's counted only since its last successful sign-in)."""
    for scope, failures, limit in (("account", account_failures, MAX_FAILURES_PER_ACCOUNT),
                                   ("ip", ip_failures, MAX_FAILURES_PER_IP)):
        if len(failures) >= limit:
            oldest_counted = sorted(failures)[-limit]
            retry = int((oldest_counted + ATTEMPT_WINDOW - now).total_seconds()) + 1
            return Throttle(scope, max(retry, 1))
    return None
