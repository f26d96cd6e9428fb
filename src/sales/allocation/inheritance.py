"""Inherited rule sets (issue 17): a city's rules store only what differs from the default '*' rules.

The effective rules of a city are the built-in defaults, overlaid by the stored '*' rules, overlaid by the
city's own overrides (nested objects such as `skill_match` key by key; lists such as `team_caps` as a whole).
A later change to '*' therefore reaches every city that did not override that field. `sources` says where
each effective value comes from: CITY (the city's override), DEFAULT (the '*' rules) or BUILT_IN.
"""
from __future__ import annotations

from typing import Any

from sales.allocation.config import AllocationRules

CITY, DEFAULT, BUILT_IN = "CITY", "DEFAULT", "BUILT_IN"


def overlay(base: dict[str, Any], change: dict[str, Any]) -> dict[str, Any]:
    """`base` with `change` on top: nested objects merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in change.items():
        out[key] = {**out[key], **value} if isinstance(value, dict) and isinstance(out.get(key), dict) else value
    return out


def overrides(config: dict[str, Any], default: dict[str, Any]) -> dict[str, Any]:
    """What `config` changes from `default`: differing top-level values and differing keys of nested objects."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        base = default.get(key)
        if isinstance(value, dict) and isinstance(base, dict):
            changed = {k: v for k, v in value.items() if base.get(k) != v}
            if changed:
                out[key] = changed
        elif key not in default or base != value:
            out[key] = value
    return out


def default_config(star: dict[str, Any] | None) -> dict[str, Any]:
    """The effective default rules as a JSON document: built-in values overlaid by the stored '*' rules."""
    return overlay(AllocationRules().model_dump(mode="json"), star or {})


def effective(star: dict[str, Any] | None, own: dict[str, Any] | None) -> AllocationRules:
    return AllocationRules.model_validate(overlay(default_config(star), own or {}))


def sources(star: dict[str, Any] | None, own: dict[str, Any] | None) -> dict[str, str]:
    """Per field (`field` or `object.key` for nested objects): CITY, DEFAULT or BUILT_IN."""
    def source(key: str, sub: str | None = None) -> str:
        for stored, name in ((own, CITY), (star, DEFAULT)):
            if stored and key in stored and (sub is None or (isinstance(stored[key], dict) and sub in stored[key])):
                return name
        return BUILT_IN

    out: dict[str, str] = {}
    for key, value in AllocationRules().model_dump(mode="json").items():
        if isinstance(value, dict):
            out.update({f"{key}.{sub}": source(key, sub) for sub in value})
        else:
            out[key] = source(key)
    return out
