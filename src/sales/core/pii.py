"""Customer PII: AES-256-GCM at rest, masked for callers not entitled to it."""
from __future__ import annotations

import base64
import os
import re
from typing import Any

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
    """The process-wide cipher, keyed by SALES_PII_KEY."""
    global _cipher
    if _cipher is None:
        from sales.settings import get_settings
        _cipher = PiiCipher(get_settings().pii_key_bytes)
    return _cipher
