"""Money: Decimal with two places, never negative, never through float (ARCHITECTURE.md §2.3)."""
from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import TypeAdapter, ValidationError

from sales.core.http import dumps
from sales.core.money import Money, to_money

money = TypeAdapter(Money)


@pytest.mark.parametrize(("given", "stored"), [
    ("25000.00", "25000.00"), ("25000", "25000.00"), (25000, "25000.00"), (Decimal("25000.5"), "25000.50"),
    ("0", "0.00"), ("0.01", "0.01"), ("999999999999.99", "999999999999.99"), (Decimal("1.10"), "1.10"),
])
def test_valid_amounts_are_kept_exactly_with_two_places(given, stored):
    value = money.validate_python(given)
    assert isinstance(value, Decimal) and str(value) == stored


@pytest.mark.parametrize("given", [
    pytest.param("-0.01", id="negative"), pytest.param(-1, id="negative-int"),
    pytest.param("1.005", id="three-places"), pytest.param(Decimal("0.001"), id="sub-cent"),
    pytest.param("1000000000000.00", id="too-large"), pytest.param("NaN", id="nan"),
    pytest.param("Infinity", id="infinity"), pytest.param("abc", id="not-a-number"),
])
def test_invalid_amounts_are_refused(given):
    with pytest.raises(ValidationError):
        money.validate_python(given)


def test_to_money_quantizes_to_cents():
    assert str(to_money(5)) == "5.00" and str(to_money("12.3")) == "12.30"


@pytest.mark.parametrize(("value", "json"), [
    (Decimal("25000.00"), b"25000.00"), (Decimal("0.10"), b"0.10"), (Decimal("999999999999.99"), b"999999999999.99"),
])
def test_money_leaves_as_a_json_number_with_its_places(value, json):
    assert dumps({"deal_value": value}) == b'{"deal_value":' + json + b"}"


@pytest.mark.parametrize("given", [
    pytest.param("1_000", id="underscores"), pytest.param("١٠٠٠", id="arabic-indic-digits"),
    pytest.param("１０００", id="full-width-digits"), pytest.param("१०००", id="devanagari-digits"),
    pytest.param(" 1000 ", id="padded"), pytest.param("1000\n", id="trailing-newline"),
    pytest.param("1e3", id="exponent"), pytest.param("+1000", id="plus-sign"), pytest.param(".5", id="no-integer-part"),
    pytest.param("5.", id="no-fraction-digits"), pytest.param("Infinity", id="infinity-word"),
    pytest.param("sNaN", id="signalling-nan"), pytest.param("1,000", id="grouped"),
])
def test_amount_strings_that_decimal_accepts_but_money_is_not_written_as_are_refused(given):
    """issue 9 item 15: a string amount is ASCII digits with one optional point, nothing Decimal() also takes."""
    with pytest.raises(ValidationError, match="plain decimal amount"):
        money.validate_python(given)


def test_json_numbers_are_numbers_whatever_their_notation():
    """A JSON number in exponent form (parsed as Decimal('1E+3')) is the amount it denotes."""
    assert str(money.validate_python(Decimal("1E+3"))) == "1000.00"
    assert str(money.validate_python(Decimal("2.5E+1"))) == "25.00"
