"""PII masking and encryption at rest (ARCHITECTURE.md §2.2)."""
from __future__ import annotations

import os

import pytest
from cryptography.exceptions import InvalidTag

from sales.core.pii import PiiCipher, mask_email, mask_phone


@pytest.mark.parametrize(("phone", "masked"), [
    ("+91-9876543210", "+91-98XXXXXXXX"),
    ("+919876543210", "+91-98XXXXXXXX"),
    ("9876543210", "98XXXXXXXX"),
    ("+1-4155550123", "+1-41XXXXXXXX"),
    ("+91-98765 43210", "+91-98XXX XXXXX"),
    ("", ""),
    (None, None),
])
def test_mask_phone_keeps_country_code_and_two_digits(phone, masked):
    assert mask_phone(phone) == masked


@pytest.mark.parametrize(("email", "masked"), [
    ("rahul@example.com", "r***@example.com"),
    ("r@example.com", "r***@example.com"),
    ("rahul.sharma+home@mail.example.in", "r***@mail.example.in"),
    ("not-an-email", "not-an-email"),
    ("", ""),
    (None, None),
])
def test_mask_email_keeps_first_letter_and_domain(email, masked):
    assert mask_email(email) == masked


def test_cipher_round_trips_and_never_stores_plaintext():
    aead = PiiCipher(os.urandom(32))
    sealed = aead.encrypt("+91-9876543210")
    assert sealed is not None and "9876543210" not in sealed
    assert aead.decrypt(sealed) == "+91-9876543210"
    assert aead.encrypt("+91-9876543210") != sealed  # a fresh nonce each time
    assert aead.encrypt(None) is None and aead.decrypt(None) is None


def test_cipher_rejects_a_different_key():
    sealed = PiiCipher(os.urandom(32)).encrypt("rahul@example.com")
    with pytest.raises(InvalidTag):
        PiiCipher(os.urandom(32)).decrypt(sealed)
