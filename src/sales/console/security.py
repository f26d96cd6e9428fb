"""Pure console security policy: passwords (Argon2id), tokens, device cookies, CSRF comparison, idle expiry,
rate limits."""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

IDLE_TIMEOUT = timedelta(minutes=30)  # PRD §8.4, measured on the business clock (ARCHITECTURE §2.4)
# Sign-in throttling: failures inside the window. An account is locked for one source address at a time, so a
# stranger cannot lock its owner out; only a spread-out attack reaches the looser ceiling on the account itself.
ATTEMPT_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT_AND_IP = 5
MAX_FAILURES_PER_IP = 20
MAX_FAILURES_PER_ACCOUNT = 50
MAX_DEVICE_COOKIE_LENGTH = 128
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


def device_key(secret: bytes) -> bytes:
    """The key that signs device cookies, derived from a server secret (its own purpose, its own key)."""
    return hmac.new(secret, b"sales.console.device-cookie.v1", hashlib.sha256).digest()


def _device_signature(key: bytes, token: str) -> str:
    mac = hmac.new(key, token.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


def new_device(key: bytes) -> tuple[str, str]:
    """A device only this server can issue: its cookie (a random token and its signature) and its id."""
    token = new_token()
    return f"{token}.{_device_signature(key, token)}", token_digest(token)


def device_id(key: bytes, cookie: str | None) -> str | None:
    """The device id behind a cookie this server issued, else None. The id is a digest of the cookie's secret
    token: the ids stored with sessions and in the audit trail cannot be turned back into a cookie."""
    if not cookie or len(cookie) > MAX_DEVICE_COOKIE_LENGTH:
        return None
    token, _, signature = cookie.partition(".")
    if not token or not same_token(_device_signature(key, token), signature):
        return None
    return token_digest(token)


def same_token(expected: str | None, given: str | None) -> bool:
    return bool(expected) and bool(given) and hmac.compare_digest(str(expected), str(given))


def is_idle_expired(last_seen_at: datetime, now: datetime) -> bool:
    return now - last_seen_at >= IDLE_TIMEOUT


@dataclass(frozen=True)
class Throttle:
    """Why sign-in is refused for now, and until when."""

    scope: str  # "account_and_ip" | "ip" | "account"
    retry_after_seconds: int


def throttle(*, account_and_ip_failures: list[datetime], ip_failures: list[datetime],
             account_failures: list[datetime], now: datetime) -> Throttle | None:
    """Refuse further attempts while this account from this address, this address, or (a looser ceiling) this
    account from anywhere has too many recent failures; the longest wait wins. Inputs: failure times inside
    ATTEMPT_WINDOW, the account-and-address ones counted only since that address's last successful sign-in."""
    refusals = []
    for scope, failures, limit in (("account_and_ip", account_and_ip_failures, MAX_FAILURES_PER_ACCOUNT_AND_IP),
                                   ("ip", ip_failures, MAX_FAILURES_PER_IP),
                                   ("account", account_failures, MAX_FAILURES_PER_ACCOUNT)):
        if len(failures) >= limit:
            oldest_counted = sorted(failures)[-limit]
            retry = int((oldest_counted + ATTEMPT_WINDOW - now).total_seconds()) + 1
            refusals.append(Throttle(scope, max(retry, 1)))
    return max(refusals, key=lambda refusal: refusal.retry_after_seconds, default=None)
