"""Listing read-model rules: status fits the deal type, newest change wins, exact city average (issue 10 §2)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from sales.inventory.enums import DealType, ListingStatus
from sales.inventory.rules import city_average, status_problem, supersedes

T = datetime(2026, 1, 17, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(("deal", "status", "ok"), [
    (DealType.RENT, ListingStatus.AVAILABLE, True), (DealType.RENT, ListingStatus.LET_OUT, True),
    (DealType.RENT, ListingStatus.SOLD, False), (DealType.RENT, ListingStatus.INACTIVE, True),
    (DealType.SALE, ListingStatus.SOLD, True), (DealType.SALE, ListingStatus.LET_OUT, False),
])
def test_status_fits_the_deal_type(deal, status, ok):
    assert (status_problem(deal, status) is None) is ok


@pytest.mark.parametrize(("incoming", "stored", "applies"), [
    (T, None, True), (T, T - timedelta(seconds=1), True), (T, T, True), (T - timedelta(seconds=1), T, False)])
def test_out_of_order_changes_never_overwrite_newer_ones(incoming, stored, applies):
    assert supersedes(incoming, stored) is applies


@pytest.mark.parametrize(("total", "count", "expected"), [
    (None, 0, None), (0, 0, None), (30, 3, Decimal("10.00")), (29, 200, Decimal("0.15")),  # 0.145 half up
    (10, 3, Decimal("3.33")), (20, 3, Decimal("6.67")), (Decimal("7"), 2, Decimal("3.50"))])
def test_city_average_is_exact_to_two_places(total, count, expected):
    assert city_average(total, count) == expected
