"""Validation of inbound CloudEvents 1.0 envelopes (structured JSON mode)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sales.core.fields import json_problems, to_utc

REQUIRED = ("id", "source", "type")
OPTIONAL_STRINGS = ("subject", "datacontenttype", "dataschema", "time")


def envelope_errors(value: Any, *, loc: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    """`[]` when `value` is a usable CloudEvent, else `{loc, msg}` items naming each bad attribute."""
    if not isinstance(value, dict):
        return [{"loc": list(loc), "msg": "a CloudEvent must be a JSON object"}]
    errors: list[dict[str, Any]] = []
    if value.get("specversion") != "1.0":
        errors.append({"loc": [*loc, "specversion"], "msg": "must be \"1.0\""})
    for name in REQUIRED:
        item = value.get(name)
        if not isinstance(item, str) or not item.strip():
            errors.append({"loc": [*loc, name], "msg": "required non-empty string"})
    limits = {"id": 128, "type": 128, "source": 256}
    for name, limit in limits.items():
        item = value.get(name)
        if isinstance(item, str) and len(item) > limit:
            errors.append({"loc": [*loc, name], "msg": f"at most {limit} characters"})
    for name in OPTIONAL_STRINGS:
        if name in value and value[name] is not None and not isinstance(value[name], str):
            errors.append({"loc": [*loc, name], "msg": "must be a string"})
    time = value.get("time")
    if isinstance(time, str):
        try:
            to_utc(datetime.fromisoformat(time.replace("Z", "+00:00")))
        except ValueError:
            errors.append({"loc": [*loc, "time"], "msg": "must be an RFC 3339 timestamp with offset"})
    ctype = value.get("datacontenttype")
    if isinstance(ctype, str) and "json" not in ctype:
        errors.append({"loc": [*loc, "datacontenttype"], "msg": "only JSON event data is accepted"})
    return errors + json_problems(value, loc)
