"""`/metrics` of the API on an internal port (SALES_METRICS_PORT) instead of the public one."""
from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, multiprocess, start_http_server

LOOPBACK = "127.0.0.1"


@contextmanager
def served_on_loopback(port: int, *, processes: int) -> Iterator[None]:
    """Serve the API processes' metrics on 127.0.0.1:port while the block runs. uvicorn's worker processes
    (spawned, so they inherit the environment) write their samples to a shared directory read from here."""
    if processes == 1:  # uvicorn serves in this very process: its default registry is the app's
        server, _ = start_http_server(port, addr=LOOPBACK)
        try:
            yield
        finally:
            server.shutdown()
        return
    with tempfile.TemporaryDirectory(prefix="sales-metrics-") as directory:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)
        server, _ = start_http_server(port, addr=LOOPBACK, registry=registry)
        try:
            yield
        finally:
            server.shutdown()
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]
