"""Customer PII: AES-256-GCM at rest, masked for callers not entitled to it."""
from __future__ import annotations

import base64
import os
import re

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class PiiCipher:
    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: str | None) -> str | None:
        if plaintext is None:
            return None
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), None)
        return base64.b64encode(nonce + sealed).decode()

    def decrypt(self, token: str | None) -> str | None:
        if token is None:
            return None
        raw = base64.b64decode(token)
        return self._aead.decrypt(raw[:12], raw[12:], None).decode()


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


_cipher: PiiCipher | None = None


def cipher() -> PiiCipher:
    """The process-wide cipher, keyed by SALES_PII_KEY."""
    global _cipher
    if _cipher is None:
        from sales.settings import get_settings
        _cipher = PiiCipher(get_settings().pii_key_bytes)
    return _cipher
