"""Pure handoff rules (issue 15): what a handoff's context says about the lead. No I/O."""
from __future__ import annotations

import uuid
from typing import Any

from sales.directory.enums import PropertyType, Segment
from sales.pipelines.enums import Source

LISTING_KEYS = ("shortlisted", "recent_views")  # the most telling first
SELF_SERVICE_LOSS = "Handed back to self-service: {reason}"


def listing_ids(context: dict[str, Any] | None) -> list[uuid.UUID]:
    """Listing ids named by the context (strings or {"listing_id": ...} objects), shortlisted first, once each."""
    found: list[uuid.UUID] = []
    for key in LISTING_KEYS:
        entries = (context or {}).get(key)
        for entry in entries if isinstance(entries, list) else ():
            raw = entry.get("listing_id") if isinstance(entry, dict) else entry
            try:
                listing_id = uuid.UUID(str(raw))
            except ValueError:
                continue
            if listing_id not in found:
                found.append(listing_id)
    return found


def _text(context: dict[str, Any], key: str) -> str | None:
    value = context.get(key)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _choice(context: dict[str, Any], key: str, enum: Any, default: Any) -> Any:
    value = context.get(key)
    if value is None:
        return default
    try:
        return enum(value)
    except ValueError:
        raise ValueError(f"{key}: one of {', '.join(e.value for e in enum)}") from None


def lead_facts(context: dict[str, Any] | None, *, place: tuple[str, str] | None) -> dict[str, Any]:
    """City, locality, zone, property type, segment and source of the assisted lead; a ValueError naming the
    context key that is missing or wrong. `place`: (city, locality) of the user's listings, the fallback."""
    context = context or {}
    city = _text(context, "city") or (place[0] if place else None)
    locality = _text(context, "locality") or (place[1] if place else None)
    if city is None:
        raise ValueError("city: needed (or shortlisted / recent_views listings known to Sales)")
    if locality is None:
        raise ValueError("locality: needed (or shortlisted / recent_views listings known to Sales)")
    return {"city": city[:100], "locality": locality[:200], "zone": (_text(context, "zone") or "")[:100] or None,
            "property_type": _choice(context, "property_type", PropertyType, PropertyType.RESIDENTIAL),
            "segment": _choice(context, "segment", Segment, Segment.TENANT),
            "source": _choice(context, "source", Source, Source.WEBSITE)}
