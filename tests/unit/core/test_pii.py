"""PII masking and encryption at rest (ARCHITECTURE.md §2.2)."""
from __future__ import annotations

import os

import pytest
from cryptography.exceptions import InvalidTag

from sales.core.pii import PiiCipher, UnknownKey, mask_contacts, mask_email, mask_phone, mask_text


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


def test_a_cached_cipher_opens_each_sealed_value_once_and_keeps_at_most_its_entries():
    aead = PiiCipher(os.urandom(32), cache_entries=2)
    first, second, third = (aead.encrypt(f"+91-98765432{n}0") for n in range(3))
    cache = aead._opened
    assert [aead.decrypt(first), aead.decrypt(first), aead.decrypt(second)] == [
        "+91-9876543200", "+91-9876543200", "+91-9876543210"]
    assert (cache.cache_info().hits, cache.cache_info().misses) == (1, 2)
    aead.decrypt(third)  # the least recently used (first) leaves
    assert cache.cache_info().currsize == 2
    assert aead.decrypt(first) == "+91-9876543200" and cache.cache_info().misses == 4
    assert aead.decrypt(None) is None and cache.cache_info().misses == 4  # None never reaches the cache


def test_a_cached_cipher_still_refuses_what_it_cannot_open_every_time():
    sealed = PiiCipher(os.urandom(32)).encrypt("rahul@example.com")
    aead = PiiCipher(os.urandom(32), cache_entries=8)
    for _ in range(2):  # a failure is not remembered as an answer
        with pytest.raises(InvalidTag):
            aead.decrypt(sealed)
    unknown = PiiCipher({"gone": os.urandom(32)}, "gone").encrypt("x")
    with pytest.raises(UnknownKey):
        aead.decrypt(unknown)


def _shout(aead: PiiCipher, text: str) -> str:
    return aead.decrypt(text).upper()


def test_a_writer_keeps_its_results_by_text_on_its_own_key_ring():
    aead = PiiCipher(os.urandom(32), cache_entries=2)
    sealed = aead.encrypt("rahul")
    write = aead.writer(_shout)
    assert write(sealed) == write(sealed) == "RAHUL"
    assert (write.cache_info().hits, write.cache_info().misses, write.cache_info().maxsize) == (1, 1, 2)
    assert aead.writer(_shout) is write  # one memo per writing function
    other = PiiCipher(os.urandom(32), cache_entries=2)  # a new key ring does not answer from the old one's
    with pytest.raises(InvalidTag):
        other.writer(_shout)(sealed)
    uncached = PiiCipher(os.urandom(32)).writer(_shout)
    assert not hasattr(uncached, "cache_info")


def test_the_process_cipher_caches_as_configured(monkeypatch):
    from sales.core.pii import cipher, use_cipher
    from sales.settings import get_settings
    monkeypatch.setattr(get_settings(), "pii_cache_entries", 3)
    use_cipher(None)
    try:
        assert cipher()._opened.cache_info().maxsize == 3
        monkeypatch.setattr(get_settings(), "pii_cache_entries", 0)
        use_cipher(None)
        assert not hasattr(cipher()._opened, "cache_info")  # 0: every value is opened each time
    finally:
        use_cipher(None)


def test_cipher_rejects_a_different_key():
    sealed = PiiCipher(os.urandom(32)).encrypt("rahul@example.com")
    with pytest.raises(InvalidTag):
        PiiCipher(os.urandom(32)).decrypt(sealed)


@pytest.mark.parametrize(("text", "masked"), [
    ("call +91-9876543210 or mail rahul@example.com.", "call +91-98XXXXXXXX or mail r***@example.com."),
    ("ph 98765 43210 today", "ph 98XXX XXXXX today"),
    ('{"phone": "9876543210"', '{"phone": "98XXXXXXXX"'),
    # not phone numbers: ids, amounts, dates, short numbers
    ("lead 123e4567-e89b-12d3-a456-426614174000", "lead 123e4567-e89b-12d3-a456-426614174000"),
    ("value 10000000000.00", "value 10000000000.00"),
    ("from 2026-01-10 to 2026-01-11T10:00:00Z", "from 2026-01-10 to 2026-01-11T10:00:00Z"),
    ("PIN 560034, flat 1204", "PIN 560034, flat 1204"),
])
def test_mask_text_masks_contacts_inside_free_text(text, masked):
    """issue 9 item 6: parked events and audit rows may carry contacts in any text field."""
    assert mask_text(text) == masked


def test_mask_contacts_masks_named_fields_and_free_text_anywhere_in_a_document():
    """issue 9 item 6"""
    document = {"data": {"customer": {"name": "Rahul Sharma", "phone": "98765", "customer_email": "rahul@x.in",
                                      "mobile": "+91-9876543210"},
                         "notes": ["mail rahul.s@x.in"], "value": 25000, "ok": True, "missing": None}}
    assert mask_contacts(document) == {
        "data": {"customer": {"name": "Rahul Sharma", "phone": "98XXX", "customer_email": "r***@x.in",
                              "mobile": "+91-98XXXXXXXX"},
                 "notes": ["mail r***@x.in"], "value": 25000, "ok": True, "missing": None}}


def test_each_value_names_its_key_and_old_keys_still_open_their_values():
    """issue 20: a key id per value; a new active key leaves the values sealed under older keys readable."""
    old, new = os.urandom(32), os.urandom(32)
    sealed_old = PiiCipher({"k1": old}, "k1").encrypt("rahul@example.com")
    assert sealed_old is not None and sealed_old.startswith("k1:")
    ring = PiiCipher({"k1": old, "k2": new}, "k2")
    assert ring.decrypt(sealed_old) == "rahul@example.com" and not ring.is_current(sealed_old)
    resealed = ring.reseal(sealed_old)
    assert resealed.startswith("k2:") and ring.is_current(resealed) and ring.decrypt(resealed) == "rahul@example.com"


def test_values_from_before_key_ids_open_with_the_default_key():
    key = os.urandom(32)
    legacy = PiiCipher(key).encrypt("+91-9876543210").removeprefix("default:")  # the format before issue 20
    assert ":" not in legacy
    assert PiiCipher({"default": key, "k2": os.urandom(32)}, "k2").decrypt(legacy) == "+91-9876543210"


def test_a_value_under_a_key_the_ring_does_not_hold_is_named():
    sealed = PiiCipher({"gone": os.urandom(32)}, "gone").encrypt("x")
    with pytest.raises(UnknownKey, match="key id 'gone'"):
        PiiCipher(os.urandom(32)).decrypt(sealed)
    with pytest.raises(ValueError, match="not in the key ring"):
        PiiCipher({"k1": os.urandom(32)}, "k2")
