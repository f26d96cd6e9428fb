"""`make run` shows a filled customer panel (issue 10 §3): the demo RM's first pipelines belong to the commerce
demo's customers (orders, usage), and the first two customers have a pipeline with another RM as well."""
from __future__ import annotations

from sales.demo import _demo_customer
from sales.orders.demo import DEMO_CUSTOMERS


def test_the_demo_rms_first_pipelines_belong_to_the_customers_with_orders():
    demo_rm_leads = [n for n in range(60) if n % 3 == 0]  # sales.demo gives the demo RM every third lead
    assert [_demo_customer(n) for n in demo_rm_leads[:len(DEMO_CUSTOMERS)]] == DEMO_CUSTOMERS
    assert [_demo_customer(n) for n in (1, 4)] == DEMO_CUSTOMERS[:2]
    others = [_demo_customer(n) for n in range(60) if n not in (1, 4) and not (n % 3 == 0 and n < 21)]
    assert not set(others) & set(DEMO_CUSTOMERS) and len(set(others)) == len(others)
