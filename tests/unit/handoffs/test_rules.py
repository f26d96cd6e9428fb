"""Issue 15: what a handoff's context says about the assisted lead."""
from __future__ import annotations

import uuid

import pytest

from sales.handoffs import rules


def test_listing_ids_shortlisted_first_once_each():
    a, b, c = (uuid.uuid4() for _ in range(3))
    context = {"recent_views": [str(b), {"listing_id": str(c)}, "not-an-id"], "shortlisted": [str(a), str(b)]}
    assert rules.listing_ids(context) == [a, b, c]
    assert rules.listing_ids(None) == [] and rules.listing_ids({"shortlisted": "x"}) == []


def test_facts_from_the_context_or_the_users_listings():
    facts = rules.lead_facts({"segment": "BUYER"}, place=("Bangalore", "HSR Layout"))
    assert (facts["city"], facts["locality"], facts["segment"].value, facts["property_type"].value,
            facts["source"].value) == ("Bangalore", "HSR Layout", "BUYER", "RESIDENTIAL", "WEBSITE")
    assert rules.lead_facts({"city": "Pune", "locality": "Baner"}, place=("Bangalore", "HSR"))["city"] == "Pune"


@pytest.mark.parametrize("context,key", [({}, "city"), ({"city": "Pune"}, "locality"),
                                         ({"city": "Pune", "locality": "Baner", "segment": "ALIEN"}, "segment")])
def test_missing_or_wrong_facts_name_their_key(context, key):
    with pytest.raises(ValueError, match=f"^{key}:"):
        rules.lead_facts(context, place=None)
