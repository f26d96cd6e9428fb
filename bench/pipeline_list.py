#!/usr/bin/env python3
"""ISSUE 2's measurement: an RM's 250-pipeline list among all pipelines, HTTP vs the raw query.

    SALES_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/sales_bench \
        .venv/bin/python bench/pipeline_list.py [--requests 200 --rounds 5]

Same as `sales bench pipeline-list`; the code is sales.bench.pipeline_list. Seed first with
`sales bench seed --scale prd`.
"""
from sales.cli import main

if __name__ == "__main__":
    import sys

    main(["bench", "pipeline-list", *sys.argv[1:]])
