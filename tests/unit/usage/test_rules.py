"""Usage in % (issue 10 §2 Plan usage; UPR-002 upsells at 80%)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from sales.usage.rules import percent_used


@pytest.mark.parametrize(("quota", "used", "expected"), [
    (5, 4, "80.0"), (25, 21, "84.0"), (3, 1, "33.3"), (3, 2, "66.7"), (5, 0, "0.0"), (5, 6, "120.0"),
    (0, 0, "100.0"), (None, 12, None), (1000000000000, 1, "0.0"),
])
def test_percent_used_upr_002(quota, used, expected):
    assert percent_used(quota=quota, used=used) == (Decimal(expected) if expected else None)
