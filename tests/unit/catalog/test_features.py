"""Plan features (issue 10 §2 Plans): a flat object, feature name -> number | boolean | string."""
from __future__ import annotations

from decimal import Decimal

import pytest
from pydantic import ValidationError

from sales.catalog.schemas import PlanCreate

BASE = {"code": "TENANT_PREMIUM", "name": "Tenant Premium", "user_type": "TENANT", "tier": 1,
        "price": Decimal("1499.00"), "duration_days": 45}


def test_features_keep_their_types_and_exact_numbers():
    plan = PlanCreate(**BASE, features={"owner_contacts": 25, "relationship_manager": True, "boost": Decimal("1.5"),
                                        "agreement": "doorstep", "zero": 0, "off": False})
    assert plan.features == {"owner_contacts": 25, "relationship_manager": True, "boost": Decimal("1.5"),
                             "agreement": "doorstep", "zero": 0, "off": False}
    assert type(plan.features["relationship_manager"]) is bool and type(plan.features["owner_contacts"]) is int
    assert type(plan.features["agreement"]) is str and plan.features["agreement"] == "doorstep"


def test_a_float_from_a_python_caller_becomes_its_exact_decimal():
    assert PlanCreate(**BASE, features={"boost": 1.1}).features == {"boost": Decimal("1.1")}


@pytest.mark.parametrize(("features", "message"), [
    ([1, 2], "must be an object"),
    ("x", "must be an object"),
    ({"nested": {"a": 1}}, "feature 'nested': must be a number"),
    ({"listy": [1]}, "feature 'listy': must be a number"),
    ({"nothing": None}, "feature 'nothing': must be a number"),
    ({"Owner Contacts": 5}, "must be snake_case"),
    ({"": 5}, "must be snake_case"),
    ({"a" * 65: 5}, "must be snake_case"),
    ({"nul\x00": 5}, "must be snake_case"),
    ({"text": "x" * 201}, "at most 200 characters"),
    ({"text": "a\x00b"}, "NUL"),
    ({"huge": 10**13}, "in magnitude"),
    ({"nan": Decimal("NaN")}, "finite"),
    ({f"f{i}": 1 for i in range(51)}, "at most 50 features"),
])
def test_bad_features_are_refused_naming_the_problem(features, message):
    with pytest.raises(ValidationError, match=message):
        PlanCreate(**BASE, features=features)
