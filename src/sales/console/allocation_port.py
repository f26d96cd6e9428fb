"""The allocation domain's service functions the console uses, resolved in one place.

The engine spreads its use cases over `service` (writes), `reads` (queue, workload) and `ruleset` (rules,
simulation); the console calls them by name through here so a move between modules is a one-line change.
"""
from __future__ import annotations

import importlib
from typing import Any

_MODULES = ("sales.allocation.service", "sales.allocation.reads", "sales.allocation.ruleset")


def fn(name: str) -> Any:
    for module_name in _MODULES:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        found = getattr(module, name, None)
        if found is not None:
            return found
    return None


def require(name: str) -> Any:
    found = fn(name)
    if found is None:
        raise RuntimeError(f"the allocation engine does not provide {name}()")
    return found
