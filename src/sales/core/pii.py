"""Customer PII: AES-256-GCM at rest, masked for callers not entitled to it."""
from __future__ import annotations

import base64
import os
import re
from binascii import a2b_base64
from functools import lru_cache, partial
from typing import Any, Callable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

DEFAULT_KEY_ID = "default"  # SALES_PII_KEY's id (sales.settings.DEFAULT_KEY_ID)


class PiiCipher:
    """AES-256-GCM under a key ring. A sealed value is `<key id>:<base64 of nonce + ciphertext + tag>`; values
    written before key ids (plain base64, which never holds a colon) were sealed under the "default" key.

    `cache_entries` > 0 keeps that many opened values, least recently used first out (issue 19): opening a value
    costs ~1-3 us and a list of 250 pipelines opens 750 of them on every read, while a sealed value never changes
    (its nonce is its own: a new plaintext is a new sealed value). The cache is keyed by the sealed text, so it
    only answers whoever already holds that exact value, and it lives as long as this object: a new key ring
    (`use_cipher`, a restart) starts empty. It adds no exposure the process does not have already: the process
    holds the keys that open every value."""

    def __init__(self, keys: bytes | dict[str, bytes], active: str = DEFAULT_KEY_ID, *,
                 cache_entries: int = 0) -> None:
        ring = {DEFAULT_KEY_ID: keys} if isinstance(keys, bytes) else dict(keys)
        if active not in ring:
            raise ValueError(f"the active key {active!r} is not in the key ring")
        self._aeads = {kid: AESGCM(key) for kid, key in ring.items()}
        self.active = active
        self._opened = lru_cache(maxsize=cache_entries)(self._open) if cache_entries > 0 else self._open
        self._cache_entries = cache_entries
        self._writers: dict[Callable[[PiiCipher, str], str], Callable[[str], str]] = {}

    def encrypt(self, plaintext: str | None) -> str | None:
        if plaintext is None:
            return None
        nonce = os.urandom(12)
        sealed = self._aeads[self.active].encrypt(nonce, plaintext.encode(), None)
        return f"{self.active}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str | None) -> str | None:
        return None if token is None else self._opened(token)

    def writer(self, write: Callable[[PiiCipher, str], str]) -> Callable[[str], str]:
        """`write(self, text)` for a text that holds sealed values (and what to do with them), keeping as many results
        as opened values, by text, for as long as this key ring: for a caller that writes the same sealed values the
        same way on every read (the pipeline list, issue 19), one lookup instead of opening each value again."""
        memo = self._writers.get(write)
        if memo is None:
            memo = partial(write, self)
            if self._cache_entries > 0:
                memo = lru_cache(maxsize=self._cache_entries)(memo)
            self._writers[write] = memo
        return memo

    def _open(self, token: str) -> str:
        kid, sep, body = token.partition(":")
        if not sep:
            kid, body = DEFAULT_KEY_ID, token
        aead = self._aeads.get(kid)
        if aead is None:
            raise UnknownKey(f"a value is sealed under key id {kid!r}, which the key ring does not hold")
        raw = a2b_base64(body)  # what base64.b64decode does, without its per-call argument handling
        return aead.decrypt(raw[:12], raw[12:], None).decode()

    def is_current(self, token: str) -> bool:
        """Whether the value is sealed under the active key (rotation leaves it alone)."""
        return token.startswith(f"{self.active}:")

    def reseal(self, token: str) -> str:
        """The same plaintext sealed under the active key."""
        return self.encrypt(self.decrypt(token))  # type: ignore[return-value]


class UnknownKey(ValueError):
    """A stored value names a key id that is not configured (SALES_PII_KEYS lost a key still in use)."""


_DIGITS = re.compile(r"\d")


def mask_phone(phone: str | None) -> str | None:
    """`+91-9876543210` -> `+91-98XXXXXXXX`: country code and two leading digits stay."""
    if not phone:
        return phone
    country, sep, number = phone.partition("-") if phone.startswith("+") and "-" in phone else ("", "", phone)
    if not sep and phone.startswith("+91") and len(phone) > 3:
        country, sep, number = "+91", "-", phone[3:]
    kept, masked = 0, []
    for ch in number:
        if ch.isdigit():
            masked.append(ch if kept < 2 else "X")
            kept += 1
        else:
            masked.append(ch)
    return f"{country}{sep}{''.join(masked)}"


def mask_email(email: str | None) -> str | None:
    """`rahul@example.com` -> `r***@example.com`."""
    if not email or "@" not in email:
        return email
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


_EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A phone number inside free text: an optional +country code and 10-15 digits in groups, not part of a longer
# token (a UUID, an amount, a date: see _is_phone_number).
_PHONE_IN_TEXT = re.compile(r"(?<![\w.+-])\+?\d[\d -]{8,18}\d(?![\w-]|\.\d)")


def _is_phone_number(candidate: str) -> bool:
    return 10 <= sum(ch.isdigit() for ch in candidate) <= 15


def mask_text(text: str) -> str:
    """Free text with the email addresses and phone numbers in it masked like mask_email / mask_phone."""
    text = _EMAIL_IN_TEXT.sub(lambda m: mask_email(m.group()) or "", text)
    return _PHONE_IN_TEXT.sub(lambda m: (mask_phone(m.group()) or "") if _is_phone_number(m.group())
                              else m.group(), text)


def mask_contacts(value: Any, *, key: str = "") -> Any:
    """A JSON-like value with every phone number and email address masked: the values of keys that name them
    (`phone`, `customer_email`, `mobile`...) and those that appear inside any other text."""
    if isinstance(value, dict):
        return {k: mask_contacts(v, key=str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_contacts(v, key=key) for v in value]
    if not isinstance(value, str):
        return value
    name = key.lower()
    if name.endswith(("phone", "mobile")):
        return mask_phone(value)
    if name.endswith("email"):
        return mask_email(value)
    return mask_text(value)


_cipher: PiiCipher | None = None


def cipher() -> PiiCipher:
    """The process-wide cipher: the key ring of SALES_PII_KEYS / SALES_PII_KEY, sealing under the active key."""
    global _cipher
    if _cipher is None:
        from sales.settings import get_settings
        settings = get_settings()
        _cipher = PiiCipher(settings.pii_key_ring, settings.pii_active_key_id,
                            cache_entries=settings.pii_cache_entries)
    return _cipher


def use_cipher(value: PiiCipher | None) -> None:
    """Replace the process-wide cipher (the CLI after loading its settings; tests rotating keys); None: reload."""
    global _cipher
    _cipher = value
