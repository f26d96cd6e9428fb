"""TLS for `sales serve --tls-cert --tls-key` (PRD §8.4 "TLS 1.3"): TLS 1.3 only, nothing older."""
from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any


def tls13_only(_config: Any, default_factory: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
    """uvicorn's `ssl_context_factory`: its context (certificate, key, ALPN) refusing every version below 1.3.
    A module-level function, so each `--workers` process builds the same context."""
    context = default_factory()
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    return context
