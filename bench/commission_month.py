#!/usr/bin/env python3
"""ISSUE 13's measurement (PRD §8.2): a month of 100,000 commission calculations for 1,000 RMs.

    SALES_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/<db> sales migrate
    SALES_DATABASE_URL=... .venv/bin/python bench/commission_month.py [--transactions 100000 --workers 8]

Same as `sales bench commissions`; the code is sales.bench.commission_month.
"""
from sales.cli import main

if __name__ == "__main__":
    import sys

    main(["bench", "commissions", *sys.argv[1:]])
