#!/usr/bin/env python3
"""Issue 10's measurement: 100,000 mixed context events ingested through POST /api/v1/sales/events in batches.

    SALES_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/bench_ingest \\
        .venv/bin/python bench/ingest_events.py [--events 100000 --batch-size 500 --clients 4 --seed 10 --workers 2
                                                 --mix context|triggers]

Same as `sales bench ingest`; the code is sales.bench.ingest (`--mix triggers`: issue 11, upsell trigger
evaluation). Writes bench/results/ingest_events.json.
"""
from sales.cli import main

if __name__ == "__main__":
    import sys

    main(["bench", "ingest", *sys.argv[1:]])
